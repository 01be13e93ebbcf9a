import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPlan, orderPackages, validateSources } from '../../../pipeline/plan/load.ts';
import type { PackageRecipe } from '../../../pipeline/plan/types.ts';
import { OsforgeError } from '../../../pipeline/errors.ts';
import { copyImages, editJson, planBreaks, repoImages } from './images-copy.ts';

const recipe = (name: string, deps: string[] = []): PackageRecipe => ({ id: name, name, version: '1', slot: '0', sources: [], deps, files: {}, patches: [] });

function loadError(images: string): OsforgeError {
  try {
    loadPlan(images);
  } catch (err) {
    assert.instance(err, OsforgeError);
    return err as OsforgeError;
  }
  throw new Error('loadPlan accepted a broken plan');
}

test('the shipped plan loads with both arches and dependency order', () => {
  const plan = loadPlan(repoImages);
  assert.equal(plan.arches, ['amd64', 'arm64']);
  const names = plan.packages.map((p) => p.name);
  assert.ok(names.indexOf('busybox') < names.indexOf('baselayout'), 'baselayout depends on busybox');
  for (const p of plan.packages) for (const s of p.sources) assert.ok(plan.sources[s], `${p.name} source ${s}`);
  assert.ok(Object.isFrozen(plan));
  assert.is(plan.base.sourceDateEpoch, 1700000000);
  assert.is(typeof plan.packages[0]!.version, 'string');
});

test('a copy of images/ loads to the same plan as the original (validation only tightens)', () => {
  const c = copyImages();
  try {
    assert.equal(loadPlan(c.images), loadPlan(repoImages));
  } finally {
    c.remove();
  }
});

for (const b of planBreaks) {
  test(`refused: ${b.name}`, () => {
    const c = copyImages();
    try {
      loadPlan(c.images); // the copy is valid before the break
      b.break(c.images);
      const err = loadError(c.images);
      assert.is(err.code, 'CONFIG_INVALID');
      assert.match(err.message, b.error);
      assert.not.match(err.message, /\n/, 'one line');
      assert.not.match(err.message, /undefined|NaN|\[object Object\]/);
    } finally {
      c.remove();
    }
  });
}

test('a "../" package name is refused before any path is built from it', () => {
  const c = copyImages();
  try {
    // A recipe planted where ../../x would lead: it must never be read.
    const planted = join(c.images, 'packages', '..', '..', 'x');
    assert.is(planted, join(c.root, 'x'));
    mkdirSync(planted, { recursive: true });
    writeFileSync(join(planted, 'recipe.json'), '{"name":"../../x","version":"1"}');
    writeFileSync(join(planted, 'build.sh'), '');
    editJson(c.images, 'buckos.json', (j) => {
      j.packages = ['../../x'];
    });
    assert.match(loadError(c.images).message, /packages\[0\]: expected a package atom or @set/);
  } finally {
    c.remove();
  }
});

test('orderPackages puts dependencies first and rejects cycles (naming the files) and unknown deps', () => {
  assert.equal(
    orderPackages([recipe('b', ['a']), recipe('a')]).map((r) => r.name),
    ['a', 'b'],
  );
  assert.throws(
    () => orderPackages([recipe('a', ['b']), recipe('b', ['a'])]),
    /cycle: a -> b -> a \(in packages\/a\/recipe\.json, packages\/b\/recipe\.json\)/,
  );
  assert.throws(
    () => orderPackages([recipe('c', ['a']), recipe('a', ['b']), recipe('b', ['a'])]),
    /cycle: a -> b -> a \(in packages\/a/,
    'only the loop, not the way in',
  );
  assert.throws(() => orderPackages([recipe('a', ['zz'])]), /packages\/a\/recipe\.json: deps: package a depends on unknown package "zz"/);
});

test('validateSources names the source and the field at fault', () => {
  try {
    validateSources({ musl: { version: '1', file: 'm.tgz', sha256: 'abc', urls: ['https://example.invalid/m.tgz'] } }, 'sources.json');
    assert.unreachable();
  } catch (err) {
    assert.instance(err, OsforgeError);
    assert.is((err as Error).message, 'sources.json: musl.sha256: expected a sha256 (64 lowercase hex digits), found "abc"');
    assert.is((err as OsforgeError).context.hint, 'edit sources.json');
  }
  assert.throws(() => validateSources({ x: { version: '1', file: '../evil', sha256: 'a'.repeat(64), urls: ['https://e.invalid/'] } }, 's'), /plain file name/);
  assert.throws(() => validateSources({ x: { version: '1', file: 'x.tgz', sha256: 'a'.repeat(64) } }, 's'), /fetch location/);
  assert.throws(() => validateSources([], 's'), /s: \(top level\): expected an object, found an empty list/);
  const ok = validateSources({ x: { version: '1', file: 'x.tgz', sha256: 'a'.repeat(64), urls: ['https://e.invalid/x.tgz'] } }, 's');
  assert.equal(ok.x, {
    name: 'x',
    version: '1',
    file: 'x.tgz',
    sha256: 'a'.repeat(64),
    license: undefined,
    urls: ['https://e.invalid/x.tgz'],
    debian: undefined,
  });
});

test("a source pin's CPE is data: part, vendor and product, checked and named on a bad value", () => {
  const pin = { version: '1', file: 'x.tgz', sha256: 'a'.repeat(64), urls: ['https://e.invalid/x.tgz'] };
  const ok = validateSources({ x: { ...pin, cpe: { part: 'a', vendor: 'x_project', product: 'x' } } }, 's');
  assert.equal(ok.x!.cpe, { part: 'a', vendor: 'x_project', product: 'x' });
  assert.throws(() => validateSources({ x: { ...pin, cpe: { part: 'h', vendor: 'x', product: 'x' } } }, 's'), /s: x\.cpe\.part: /);
  assert.throws(
    () => validateSources({ x: { ...pin, cpe: { part: 'a', vendor: 'X Corp', product: 'x' } } }, 's'),
    /s: x\.cpe\.vendor: expected an NVD CPE name/,
  );
  assert.throws(() => validateSources({ x: { ...pin, cpe: { part: 'a', vendor: 'x' } } }, 's'), /s: x\.cpe\.product/);
});

test.run();
