// Slots and version constraints (plan/atoms.ts, plan/resolve.ts) on the real
// loader: a test tree adds two slots of a "hello" library and packages that
// want each, masks a version, and composes profiles (plan/profiles.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareVersions, parseAtom, pessimisticBound, satisfies } from '../../../pipeline/plan/atoms.ts';
import { loadPlan } from '../../../pipeline/plan/load.ts';
import { stageGraph } from '../../../pipeline/graph/keys.ts';
import { queryTree } from '../../../pipeline/plan/query.ts';
import { copyImages, editJson } from './images-copy.ts';

const opts = { buck2Sha256: null, sourceDateEpoch: 1700000000, formats: [], pipelineHash: 'test' };

test('versions compare part by part; ~> is pessimistic', () => {
  assert.ok(compareVersions('1.3', '1.3.1') < 0);
  assert.ok(compareVersions('1.10', '1.9') > 0);
  assert.ok(compareVersions('1.0rc1', '1.0.1') < 0);
  assert.is(compareVersions('2.41.5', '2.41.5'), 0);
  assert.is(pessimisticBound('1.3'), '2');
  assert.is(pessimisticBound('1.3.1'), '1.4');
  const ok = (v: string, atom: string) => parseAtom(atom, 't').constraints.every((c) => satisfies(v, c));
  assert.ok(ok('1.3.1', 'zlib >=1.3'));
  assert.not.ok(ok('1.2.13', 'zlib >=1.3'));
  assert.ok(ok('1.9', 'zlib ~>1.3'));
  assert.not.ok(ok('2.0', 'zlib ~>1.3'));
  assert.not.ok(ok('1.4.0', 'zlib ~>1.3.1'));
  assert.ok(ok('3.5', 'openssl >=3.0 <4.0'));
  assert.not.ok(ok('4.0', 'openssl >=3.0 <4.0'));
  assert.equal(parseAtom('zlib:1', 't'), { name: 'zlib', slot: '1', constraints: [], text: 'zlib:1' });
  assert.throws(() => parseAtom('zlib >>1', 'x.json: deps[0]'), /x\.json: deps\[0\]: "zlib >>1" is not a package atom/);
});

/** A tree with hello 1.0 (slot 1), 1.1 (slot 1) and 2.0 (slot 2), and two packages wanting one slot each. */
function slottedTree() {
  const c = copyImages();
  const pkg = (dir: string, recipe: object) => {
    mkdirSync(join(c.images, dir), { recursive: true });
    writeFileSync(join(c.images, dir, 'recipe.json'), JSON.stringify(recipe));
    writeFileSync(join(c.images, dir, 'build.sh'), '#!/bin/sh\n');
  };
  pkg('packages/hello/1.0', { name: 'hello', version: '1.0', slot: '1' });
  pkg('packages/hello/1.1', { name: 'hello', version: '1.1', slot: '1' });
  pkg('packages/hello/2.0', { name: 'hello', version: '2.0', slot: '2' });
  pkg('packages/old-app', { name: 'old-app', version: '1', deps: ['hello:1'] });
  pkg('packages/new-app', { name: 'new-app', version: '1', deps: ['hello >=2'] });
  editJson(c.images, 'buckos.json', (j) => {
    j.packages.push('old-app', 'new-app');
  });
  return c;
}

test('two slots of one library resolve side by side, each the newest of its slot, with stage nodes of their own', () => {
  const c = slottedTree();
  try {
    const plan = loadPlan(c.images);
    const hello = plan.packages
      .filter((p) => p.name === 'hello')
      .map((p) => `${p.id}=${p.version}`)
      .sort();
    assert.equal(hello, ['hello:1=1.1', 'hello:2=2.0']);
    assert.equal(plan.packages.find((p) => p.id === 'old-app')!.deps, ['hello:1']);
    assert.equal(plan.packages.find((p) => p.id === 'new-app')!.deps, ['hello:2']);
    const nodes = stageGraph(plan, opts).arches.get('amd64')!.packages;
    assert.ok(nodes.get('hello:1')!.key !== nodes.get('hello:2')!.key);
    assert.ok(nodes.get('hello:1')!.inputs.some(([n, v]) => n === 'slot' && v === '1'));
    assert.match(queryTree(plan, 'hello:2', 'rdeps'), /^hello:2 2\.0\n└─ new-app 1\n$/);
    assert.throws(() => queryTree(plan, 'hello', 'deps'), /package "hello" has 2 instances in the plan; name one/);
  } finally {
    c.remove();
  }
});

test('a mask skips a version; when nothing is left, the error lists every candidate and why', () => {
  const c = slottedTree();
  try {
    writeFileSync(join(c.images, 'package.mask'), 'hello =1.1\n');
    assert.is(loadPlan(c.images).packages.find((p) => p.id === 'hello:1')!.version, '1.0');
    writeFileSync(join(c.images, 'package.mask'), 'hello:1\n');
    assert.throws(
      () => loadPlan(c.images),
      /old-app\/recipe\.json: deps\[0\]: no version of hello fits "hello:1"; candidates: hello 2\.0 \(slot 2\): slot 2, not 1; hello 1\.1 \(slot 1\): masked by .*package\.mask:1 \("hello:1"\); hello 1\.0 \(slot 1\): masked by/,
    );
  } finally {
    c.remove();
  }
});

test('two versions wanted in one slot are a slot conflict naming both wanters', () => {
  const c = slottedTree();
  try {
    editJson(c.images, 'packages/new-app/recipe.json', (j) => {
      j.deps = ['hello =1.0'];
    });
    assert.throws(
      () => loadPlan(c.images),
      /slot conflict: .*new-app\/recipe\.json: deps\[0\] wants "hello =1\.0" \(1\.0\) but .*old-app\/recipe\.json: deps\[0\] \("hello:1"\) already chose hello 1\.1 in slot 1/,
    );
  } finally {
    c.remove();
  }
});

test('profiles compose sets, inherit, remove, and give one image set each; packages alike are one instance', () => {
  const c = copyImages();
  try {
    const plan = loadPlan(c.images, { profiles: ['minimal', 'server'] });
    assert.equal(
      plan.imageSets.map((s) => s.profile),
      ['minimal', 'server'],
    );
    assert.equal([...plan.imageSets[0]!.packages].sort(), ['baselayout', 'busybox', 'init-scripts']);
    assert.equal([...plan.imageSets[1]!.packages].sort(), ['baselayout', 'busybox', 'dropbear', 'e2fsprogs', 'init-scripts', 'util-linux', 'zlib']);
    // busybox is built once for both images.
    assert.is(plan.packages.filter((p) => p.name === 'busybox').length, 1);
    assert.equal(plan.packages.find((p) => p.id === 'dropbear')!.deps, ['zlib']);
    // remove drops a package (and only what nothing else pulls in).
    mkdirSync(join(c.images, 'profiles/tiny'));
    writeFileSync(join(c.images, 'profiles/tiny/profile.json'), JSON.stringify({ inherits: ['server'], remove: ['dropbear', 'e2fsprogs'] }));
    assert.equal([...loadPlan(c.images, { profiles: ['tiny'] }).imageSets[0]!.packages].sort(), [
      'baselayout',
      'busybox',
      'init-scripts',
      'util-linux',
      'zlib',
    ]);
    writeFileSync(join(c.images, 'profiles/tiny/profile.json'), JSON.stringify({ inherits: ['server'], remove: ['openssh'] }));
    assert.throws(() => loadPlan(c.images, { profiles: ['tiny'] }), /tiny\/profile\.json: remove: "openssh" is not in the profile's packages/);
    assert.throws(() => loadPlan(c.images, { profiles: ['nope'] }), /profile "nope": no images\/profiles\/nope\/profile\.json/);
  } finally {
    c.remove();
  }
});

test('a profile that builds a package differently (its USE, its patches) gets its own instance; the default set keeps its keys', () => {
  const c = copyImages();
  try {
    // util-linux must apply patches for the profile to carry one.
    const buildSh = join(c.images, 'packages/util-linux/build.sh');
    writeFileSync(buildSh, `${readFileSync(buildSh, 'utf8')}\n# "$APPLY_PATCHES" /build\n`);
    const before = stageGraph(loadPlan(c.images), opts);
    editJson(c.images, 'buckos.json', (j) => {
      j.profiles = ['server'];
    });
    mkdirSync(join(c.images, 'profiles/server/patches/util-linux'), { recursive: true });
    writeFileSync(join(c.images, 'profiles/server/patches/util-linux/01-x.patch'), '--- a/x\n+++ b/x\n');
    writeFileSync(
      join(c.images, 'profiles/server/profile.json'),
      JSON.stringify({ inherits: ['minimal'], packages: ['@storage', 'zlib', '@net'], use: ['-zlib', '-fdisk'] }),
    );
    const plan = loadPlan(c.images, { patchesDir: join(c.root, 'none') });
    assert.equal(
      plan.imageSets.map((s) => s.profile),
      [null, 'server'],
    );
    const ul = plan.packages.filter((p) => p.name === 'util-linux');
    assert.equal(
      ul.map((p) => p.id),
      ['util-linux', 'util-linux+server'],
    );
    assert.equal(
      ul[1]!.patches.map((p) => p.name),
      ['profile:server:util-linux/01-x.patch'],
    );
    // e2fsprogs depends on the server's util-linux, so it is the server's too; busybox is shared.
    assert.equal(plan.packages.find((p) => p.id === 'e2fsprogs+server')!.deps, ['util-linux+server']);
    assert.equal(plan.packages.find((p) => p.id === 'dropbear')!.use!.enabled, []);
    assert.is(plan.packages.filter((p) => p.name === 'busybox').length, 1);
    const after = stageGraph(plan, opts);
    for (const [id, n] of before.arches.get('amd64')!.packages) assert.is(after.arches.get('amd64')!.packages.get(id)!.key, n.key, id);
  } finally {
    c.remove();
  }
});

test('a set that includes itself is an error', () => {
  const c = copyImages();
  try {
    writeFileSync(join(c.images, 'sets.json'), JSON.stringify({ a: ['@b'], b: ['busybox', '@a'] }));
    editJson(c.images, 'buckos.json', (j) => {
      j.packages = ['@a'];
    });
    assert.throws(() => loadPlan(c.images), /sets\.json: package set cycle: @a -> @b -> @a/);
  } finally {
    c.remove();
  }
});

test.run();
