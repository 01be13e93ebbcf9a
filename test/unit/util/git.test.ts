import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildIdentity } from '../../../pipeline/util/git.ts';
import { BUILD_INPUT_PATHSPECS } from '../../../pipeline/plan/build-inputs.ts';
import { withRepo } from './temp-repo.ts';

const identity = (root: string, env: NodeJS.ProcessEnv = {}) => buildIdentity(root, BUILD_INPUT_PATHSPECS, env);

test('SOURCE_DATE_EPOCH is the last input commit: a README/test/help-only commit keeps it', () =>
  withRepo((r) => {
    r.commit('feat: seed', 1000);
    r.write('pipeline/stages/run.ts', 'export const x = 2;\n');
    const inputs = r.commit('fix: stage', 2000);
    r.write('README.md', '# more docs\n');
    r.write('test/unit/run.test.ts', 'test(); test();\n');
    r.write('pipeline/commands/dist.ts', 'export const help = "usage: osforge dist [-v]";\n');
    const docs = r.commit('docs: readme, tests, help', 3000);
    assert.equal(identity(r.root), { commit: docs, inputsCommit: inputs, dirty: false, sourceDateEpoch: 2000 });
  }));

test('an explicit SOURCE_DATE_EPOCH wins; a malformed one is a usage error', () =>
  withRepo((r) => {
    const c = r.commit('seed', 1000);
    assert.equal(identity(r.root, { SOURCE_DATE_EPOCH: '42' }), { commit: c, inputsCommit: c, dirty: false, sourceDateEpoch: 42 });
    assert.throws(() => identity(r.root, { SOURCE_DATE_EPOCH: '-1' }), /not a non-negative integer/);
  }));

test('dirty: a modified tracked file anywhere, or an untracked build input; the epoch stays the input commit', () =>
  withRepo((r) => {
    r.commit('seed', 1000);
    r.write('notes.txt', 'scratch\n');
    assert.is(identity(r.root).dirty, false, 'untracked, not an input');
    r.write('images/packages/zlib/patch.diff', '+fix\n');
    assert.is(identity(r.root).dirty, true, 'an untracked build input');
    rmSync(join(r.root, 'images/packages/zlib/patch.diff'));
    r.write('README.md', '# edited\n');
    assert.is(identity(r.root).dirty, true, 'a modified README');
    r.write('pipeline/stages/run.ts', 'export const x = 3;\n');
    assert.equal(identity(r.root).sourceDateEpoch, 1000, 'a modified input keeps the last input commit time');
  }));

test('not a git checkout: SOURCE_DATE_EPOCH is required', () => {
  const dir = mkdtempSync(join(tmpdir(), 'osforge-nogit-'));
  try {
    assert.throws(() => identity(dir), /not a git checkout with commits/);
    assert.equal(identity(dir, { SOURCE_DATE_EPOCH: '7' }), { commit: 'unknown', inputsCommit: 'unknown', dirty: false, sourceDateEpoch: 7 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('commits, but none touching a build input: the error says so', () =>
  withRepo(
    (r) => {
      r.commit('docs', 1000);
      assert.throws(() => identity(r.root), /no commit touches a build input/);
    },
    { 'README.md': '# only docs\n' },
  ));

test('a shallow clone cut at the last input-looking commit refuses to guess the epoch', () =>
  withRepo((r) => {
    r.commit('feat: seed', 1000);
    r.write('README.md', '# docs\n');
    r.commit('docs', 3000);
    const clone = join(r.root, 'shallow');
    execFileSync('git', ['clone', '-q', '--depth', '1', `file://${r.root}`, clone], { stdio: 'ignore' });
    // Depth 1: git sees the docs commit as adding every file, so it would claim epoch 3000.
    assert.throws(() => identity(clone), /shallow clone/);
    assert.is(identity(clone, { SOURCE_DATE_EPOCH: '1000' }).sourceDateEpoch, 1000);
  }));

test.run();
