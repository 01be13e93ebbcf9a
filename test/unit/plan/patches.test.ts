// Patches: the order (package, USE flag, user), that each is a named key
// input (adding, editing or removing one rebuilds that package and its
// dependents only), that a build.sh which never applies them is refused, and
// the step-side script run with the real `patch` on a real tree: it applies in
// order, and a patch that does not apply stops it naming the patch, the
// package and the rejected hunk.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { APPLY_PATCHES_SCRIPT, packagePatches } from '../../../pipeline/plan/patches.ts';
import { loadPlan } from '../../../pipeline/plan/load.ts';
import { stageGraph, type GraphOptions } from '../../../pipeline/graph/keys.ts';
import { diagnose } from '../../../pipeline/steps/failure-hints.ts';
import { copyImages } from './images-copy.ts';

const work = mkdtempSync(join(tmpdir(), 'osforge-patches-'));
test.after(() => rmSync(work, { recursive: true, force: true }));

const greeting = (text: string) => `--- a/greeting.txt\n+++ b/greeting.txt\n@@ -1 +1 @@\n-hello\n+${text}\n`;
const buildSh = Buffer.from('#!/bin/sh\ntar -xf /src/x/*\n"$APPLY_PATCHES" /build\n');

test("order: the package's patches, then those of its enabled USE flags, then the user's; each sorted by name", () => {
  const user = join(work, 'user');
  mkdirSync(join(user, 'hello'), { recursive: true });
  writeFileSync(join(user, 'hello', '01-local.patch'), greeting('local'));
  writeFileSync(join(user, 'hello', 'notes.txt'), 'not a patch');
  const files = {
    'build.sh': buildSh,
    'patches/02-b.patch': Buffer.from('b'),
    'patches/01-a.patch': Buffer.from('a'),
    'patches/use/ssl/x.patch': Buffer.from('ssl'),
    'patches/use/ipv6/y.patch': Buffer.from('ipv6'),
    'patches/README': Buffer.from('doc'),
  };
  const names = (enabled: string[]) =>
    packagePatches({ pkg: 'hello', files, enabledFlags: enabled, iuse: ['ssl', 'ipv6'], userDir: user, recipeFile: 'recipe.json' }).map((p) => p.name);
  assert.equal(names(['ssl']), [
    'packages/hello/patches/01-a.patch',
    'packages/hello/patches/02-b.patch',
    'packages/hello/patches/use/ssl/x.patch',
    'user:hello/01-local.patch',
  ]);
  assert.equal(names([]), ['packages/hello/patches/01-a.patch', 'packages/hello/patches/02-b.patch', 'user:hello/01-local.patch']);
});

test('a package with patches whose build.sh never runs "$APPLY_PATCHES" is refused, naming both', () => {
  assert.throws(
    () =>
      packagePatches({
        pkg: 'hello',
        files: { 'build.sh': Buffer.from('make\n'), 'patches/a.patch': Buffer.from('x') },
        enabledFlags: [],
        iuse: [],
        userDir: join(work, 'none'),
        recipeFile: 'images/packages/hello/recipe.json',
      }),
    /images\/packages\/hello\/recipe\.json: package "hello" has 1 patch\(es\) \(packages\/hello\/patches\/a\.patch\) but its build\.sh never runs "\$APPLY_PATCHES"/,
  );
});

test('a symlinked user patch is refused', () => {
  const user = join(work, 'user-link');
  mkdirSync(join(user, 'hello'), { recursive: true });
  symlinkSync('/etc/hostname', join(user, 'hello', 'evil.patch'));
  assert.throws(
    () => packagePatches({ pkg: 'hello', files: { 'build.sh': buildSh }, enabledFlags: [], iuse: [], userDir: user, recipeFile: 'r' }),
    /evil\.patch: not a regular file/,
  );
});

test('a symlinked $OSFORGE_PATCHES/<pkg> directory is refused, naming it, and no patch is read through it', () => {
  const user = join(work, 'user-dirlink');
  const elsewhere = join(work, 'elsewhere');
  mkdirSync(user, { recursive: true });
  mkdirSync(elsewhere, { recursive: true });
  writeFileSync(join(elsewhere, 'evil.patch'), greeting('evil'));
  symlinkSync(elsewhere, join(user, 'hello'));
  const run = () => packagePatches({ pkg: 'hello', files: { 'build.sh': buildSh }, enabledFlags: [], iuse: [], userDir: user, recipeFile: 'r' });
  assert.throws(run, (err: Error) => err.message.includes(`${join(user, 'hello')}: not a directory (a symlink)`) && !err.message.includes('\n'));
  // The same through the plan, as `OSFORGE_PATCHES=<dir> osforge dist` loads it, and for a profile's patches/<pkg>.
  const c = copyImages();
  try {
    symlinkSync(elsewhere, join(user, 'zlib'));
    assert.throws(() => loadPlan(c.images, { patchesDir: user }), /zlib: not a directory \(a symlink\)/);
    mkdirSync(join(c.images, 'patches'), { recursive: true });
    symlinkSync(elsewhere, join(c.images, 'patches', 'zlib'));
    assert.throws(() => loadPlan(c.images), /patches\/zlib: not a directory \(a symlink\)/);
  } finally {
    c.remove();
  }
  // A plain file where the directory belongs is refused too, not silently skipped.
  const fileUser = join(work, 'user-file');
  mkdirSync(fileUser, { recursive: true });
  writeFileSync(join(fileUser, 'hello'), greeting('x'));
  assert.throws(
    () => packagePatches({ pkg: 'hello', files: { 'build.sh': buildSh }, enabledFlags: [], iuse: [], userDir: fileUser, recipeFile: 'r' }),
    /hello: not a directory \(a file\)/,
  );
});

test('a user patch is a named key input: adding, editing or removing it rebuilds that package and its dependents only', () => {
  const c = copyImages();
  try {
    const opts: GraphOptions = { buck2Sha256: null, sourceDateEpoch: 1, formats: [], pipelineHash: 'p' };
    // zlib's build.sh applies patches once it runs "$APPLY_PATCHES".
    const zlibSh = join(c.images, 'packages/zlib/build.sh');
    writeFileSync(zlibSh, readFileSync(zlibSh, 'utf8').replace('--strip-components=1\n', '--strip-components=1\n"$APPLY_PATCHES" /build\n'));
    const keys = () => new Map(stageGraph(loadPlan(c.images), opts).nodes.map((n) => [n.id, n]));
    const before = keys();
    mkdirSync(join(c.images, 'patches/zlib'), { recursive: true });
    writeFileSync(join(c.images, 'patches/zlib/fix.patch'), greeting('one'));
    const added = keys();
    const changed = (a: Map<string, { key: string }>, b: Map<string, { key: string }>) =>
      [...b]
        .filter(([id, n]) => a.get(id)!.key !== n.key)
        .map(([id]) => id)
        .sort();
    const zlibAndDependents = ['dist', 'stage2/amd64/zlib', 'stage2/arm64/zlib', 'stage3/amd64', 'stage3/arm64'];
    assert.equal(changed(before, added), zlibAndDependents);
    assert.ok(
      added.get('stage2/amd64/zlib')!.inputs.some(([n]) => n === 'patch:0:user:zlib/fix.patch'),
      'the patch is named in the key inputs',
    );
    writeFileSync(join(c.images, 'patches/zlib/fix.patch'), greeting('two'));
    assert.equal(changed(added, keys()), zlibAndDependents);
    rmSync(join(c.images, 'patches/zlib/fix.patch'));
    assert.equal(changed(before, keys()), []);
  } finally {
    c.remove();
  }
});

function applyWith(patches: Record<string, string>, tree: Record<string, string>) {
  const root = mkdtempSync(join(work, 'apply-'));
  const src = join(root, 'src');
  const pdir = join(root, 'patches');
  mkdirSync(src);
  mkdirSync(pdir);
  for (const [f, text] of Object.entries(tree)) writeFileSync(join(src, f), text);
  const series = Object.entries(patches)
    .map(([name, text], i) => {
      writeFileSync(join(pdir, `${i}.patch`), text);
      return `${i}.patch ${name}\n`;
    })
    .join('');
  writeFileSync(join(pdir, 'series'), series);
  writeFileSync(join(root, 'apply'), APPLY_PATCHES_SCRIPT, { mode: 0o755 });
  const r = spawnSync('sh', [join(root, 'apply'), src], { env: { ...process.env, PATCHES_DIR: pdir, PACKAGE: 'hello', TMPDIR: root }, encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr, file: (f: string) => readFileSync(join(src, f), 'utf8') };
}

test('the step script applies the series in order with the real patch', () => {
  const r = applyWith(
    { 'packages/hello/patches/a.patch': greeting('hi'), 'user:hello/b.patch': '--- a/greeting.txt\n+++ b/greeting.txt\n@@ -1 +1 @@\n-hi\n+hi there\n' },
    { 'greeting.txt': 'hello\n' },
  );
  assert.is(r.status, 0, r.out);
  assert.is(r.file('greeting.txt'), 'hi there\n');
  assert.match(r.out, /osforge: applied packages\/hello\/patches\/a\.patch\nosforge: applied user:hello\/b\.patch/);
});

test('a patch that does not apply stops the step, naming the patch, the package and the rejected hunk; the error says so', () => {
  const r = applyWith(
    { 'user:hello/stale.patch': '--- a/greeting.txt\n+++ b/greeting.txt\n@@ -1 +1 @@\n-good morning\n+good night\n' },
    { 'greeting.txt': 'hello\n' },
  );
  assert.is(r.status, 1);
  assert.match(r.out, /osforge: patch user:hello\/stale\.patch does not apply to hello/);
  assert.match(r.out, /osforge: rejected hunk\(s\) of user:hello\/stale\.patch:\n[\s\S]*-good morning\n\+good night/);
  const d = diagnose(r.out.split('\n'), 1)!;
  assert.is(d.id, 'patch-rejected');
  assert.match(d.cause, /patch user:hello\/stale\.patch does not apply to package hello/);
  assert.match(d.fix, /refresh user:hello\/stale\.patch against this version of hello/);
});

test.run();
