import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { assertRemovableCache } from '../../../pipeline/commands/clean-tools-cache.ts';
import { paths, repoRoot } from '../../../pipeline/paths.ts';

test('an empty $OSFORGE_TOOLS_CACHE / $OSFORGE_DIST means the default, never the current directory', () => {
  const saved = { t: process.env.OSFORGE_TOOLS_CACHE, d: process.env.OSFORGE_DIST };
  try {
    process.env.OSFORGE_TOOLS_CACHE = '';
    process.env.OSFORGE_DIST = '';
    assert.is(paths.toolsCache(), join(repoRoot, 'tools-cache'));
    assert.is(paths.dist(), join(repoRoot, 'dist'));
  } finally {
    for (const [k, v] of [
      ['OSFORGE_TOOLS_CACHE', saved.t],
      ['OSFORGE_DIST', saved.d],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});

test('clean-tools-cache refuses to delete the cwd, the checkout, home, / or any parent of them', () => {
  const cwd = '/tmp/osforge-work/project';
  for (const [dir, what] of [
    [cwd, 'current directory'],
    ['/tmp/osforge-work', 'current directory'],
    ['/', 'current directory'],
    [repoRoot, 'osforge checkout'],
    [join(repoRoot, '..'), '(current directory|osforge checkout)'],
    [homedir(), 'home directory'],
  ] as const) {
    assert.throws(() => assertRemovableCache(dir, cwd), new RegExp(`refusing to delete .*: it is or contains (the|your) ${what}`), dir);
  }
  assertRemovableCache(join(repoRoot, 'tools-cache'), cwd);
  assertRemovableCache(join(cwd, 'tools-cache'), cwd);
  assertRemovableCache('/tmp/osforge-work/project-cache', cwd);
});

test.run();
