import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { BUILD_INPUT_PATHSPECS, buildInputHashes, buildInputsHash, inputArea, isBuildInput, listBuildInputs } from '../../../pipeline/plan/build-inputs.ts';
import { withRepo } from '../util/temp-repo.ts';

const repoRoot = resolve(import.meta.dirname, '../../..');

/** The areas whose hash differs between two runs of buildInputHashes. */
function changedAreas(a: Record<string, string>, b: Record<string, string>): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => a[k] !== b[k]).sort();
}

test('the pathspecs and isBuildInput pick the same files', () =>
  withRepo((r) => {
    r.write('pipeline/cli.ts', 'cli\n');
    r.write('pipeline/release/changelog.ts', 'log\n');
    r.write('builder/build.sh', 'exec\n');
    r.write('Makefile', 'dist:\n');
    r.commit('seed', 1000);
    const viaGit = r
      .git('ls-files', '--', ...BUILD_INPUT_PATHSPECS)
      .split('\n')
      .sort();
    const viaJs = r.git('ls-files').split('\n').filter(isBuildInput).sort();
    assert.equal(viaGit, viaJs);
    assert.equal(viaGit, ['images/buckos.json', 'images/packages/zlib/build.sh', 'package.json', 'pipeline/stages/run.ts']);
  }));

test('README, test and help-text edits leave every area hash alone, committed or not', () =>
  withRepo((r) => {
    r.commit('seed', 1000);
    const before = buildInputHashes(r.root);
    r.write('README.md', '# osforge, now documented\n');
    r.write('test/unit/run.test.ts', 'test(); test();\n');
    r.write('pipeline/commands/dist.ts', 'export const help = "usage: osforge dist [--verbose]";\n');
    r.write('docs/new.md', 'new page\n');
    assert.equal(buildInputHashes(r.root), before);
    r.commit('docs: help', 2000);
    assert.equal(buildInputHashes(r.root), before);
  }));

test('an edit in pipeline/stages or images/ changes that area (and the whole hash)', () =>
  withRepo((r) => {
    r.commit('seed', 1000);
    const before = buildInputHashes(r.root);
    const whole = buildInputsHash(r.root);
    r.write('pipeline/stages/run.ts', 'export const x = 2;\n');
    assert.equal(changedAreas(before, buildInputHashes(r.root)), ['pipeline/stages']);
    assert.is.not(buildInputsHash(r.root), whole);
    r.git('checkout', '--', 'pipeline');
    r.write('images/packages/zlib/build.sh', 'make -j1\n');
    assert.equal(changedAreas(before, buildInputHashes(r.root)), ['images/packages']);
  }));

test('a new untracked file under images/ counts, an ignored one and a deleted one do not linger', () =>
  withRepo((r) => {
    r.write('.gitignore', '*.log\n');
    r.commit('seed', 1000);
    const before = buildInputHashes(r.root);
    r.write('images/packages/zlib/debug.log', 'noise\n');
    assert.equal(buildInputHashes(r.root), before);
    r.write('images/packages/zlib/patch.diff', '+fix\n');
    assert.equal(changedAreas(before, buildInputHashes(r.root)), ['images/packages']);
    rmSync(join(r.root, 'images/packages/zlib/patch.diff'));
    rmSync(join(r.root, 'images/buckos.json'));
    assert.not.ok(listBuildInputs(r.root).some((f) => f.name === 'images/buckos.json'));
    assert.equal(changedAreas(before, buildInputHashes(r.root)), ['images/buckos.json']);
  }));

test('the executable bit is an input (scripts copied into images keep it)', () =>
  withRepo((r) => {
    r.commit('seed', 1000);
    const before = buildInputHashes(r.root);
    chmodSync(join(r.root, 'images/packages/zlib/build.sh'), 0o755);
    assert.equal(changedAreas(before, buildInputHashes(r.root)), ['images/packages']);
  }));

test('outside a git checkout the same rule over the files on disk gives the same hash', () =>
  withRepo((r) => {
    r.commit('seed', 1000);
    const withGit = buildInputHashes(r.root);
    rmSync(join(r.root, '.git'), { recursive: true });
    assert.equal(buildInputHashes(r.root), withGit);
  }));

test('$OSFORGE_IMAGES: the plan dir stands in for the repo images/', () =>
  withRepo((r) => {
    r.commit('seed', 1000);
    const other = join(r.root, 'elsewhere');
    r.write('elsewhere/buckos.json', '{"name":"fork"}\n');
    const moved = buildInputHashes(r.root, { imagesDir: other });
    assert.equal(
      Object.keys(moved).filter((a) => a.startsWith('images/')),
      ['images/buckos.json'],
    );
    assert.is.not(moved['images/buckos.json'], buildInputHashes(r.root)['images/buckos.json']);
    assert.equal(buildInputHashes(r.root, { imagesDir: join(r.root, 'images') }), buildInputHashes(r.root));
  }));

test('areas are the first two path components, or a shallow file itself', () => {
  assert.is(inputArea('pipeline/stages/base.ts'), 'pipeline/stages');
  assert.is(inputArea('images/packages/zlib/build.sh'), 'images/packages');
  assert.is(inputArea('pipeline/errors.ts'), 'pipeline/errors.ts');
  assert.is(inputArea('package-lock.json'), 'package-lock.json');
});

/** Relative modules `file` loads at run time (`import type` is erased, so it does not count). */
function runtimeImports(file: string): string[] {
  const src = readFileSync(file, 'utf8');
  const specs = [
    ...[...src.matchAll(/^(?:import|export)\s+(?!type\s)[^;]*?from\s+'(\.[^']+)'/gm)].map((m) => m[1]!),
    ...[...src.matchAll(/^import\s+'(\.[^']+)'/gm)].map((m) => m[1]!),
    ...[...src.matchAll(/\bimport\(\s*'(\.[^']+)'\s*\)/g)].map((m) => m[1]!),
  ];
  return specs.map((s) => resolve(dirname(file), s));
}

test('every module `osforge dist` runs, apart from its CLI entry, is a build input', () => {
  const entry = join(repoRoot, 'pipeline/commands/dist.ts');
  const seen = new Set<string>();
  const todo = runtimeImports(entry);
  while (todo.length) {
    const f = todo.pop()!;
    if (seen.has(f) || !existsSync(f)) continue;
    seen.add(f);
    todo.push(...runtimeImports(f));
  }
  const reached = [...seen].map((f) => relative(repoRoot, f));
  assert.ok(reached.includes('pipeline/app/dist-setup.ts') && reached.includes('pipeline/outputs/dist-writer.ts'));
  assert.equal(
    reached.filter((f) => !isBuildInput(f)),
    [],
  );
});

// By name, not `git ls-files`: the fresh-host rehearsal runs the unit tests in a copy without .git.
test('in this repo: docs, tests, CI, the Makefile and help texts are not inputs', () => {
  for (const f of [
    'README.md',
    'CHANGELOG.md',
    'Makefile',
    '.ci/run',
    'builder/setup-host.sh',
    'pipeline/cli.ts',
    'pipeline/commands/dist.ts',
    'test/run.ts',
  ]) {
    assert.not.ok(isBuildInput(f), `${f} should not be a build input`);
  }
  for (const f of ['package-lock.json', 'tsconfig.json', 'images/grub/build.sh', 'pipeline/app/dist-setup.ts', 'pipeline/outputs/dist-writer.ts']) {
    assert.ok(isBuildInput(f), `${f} should be a build input`);
  }
});

test.run();
