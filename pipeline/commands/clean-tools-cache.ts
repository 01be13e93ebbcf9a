import { rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { relative, resolve, sep } from 'node:path';
import { OsforgeError } from '../errors.ts';
import { paths, repoRoot } from '../paths.ts';
import type { Command } from './types.ts';

/** The tools cache is deleted recursively: refuse a directory that holds things other than the cache. */
export function assertRemovableCache(dir: string, cwd = process.cwd()): void {
  const holds = (parent: string, child: string) => {
    const r = relative(parent, child);
    return r === '' || (!r.startsWith('..') && !r.startsWith(sep) && r !== '..');
  };
  const guarded = [
    ['the current directory', cwd],
    ['the osforge checkout', repoRoot],
    ['your home directory', homedir()],
    ['the root directory', '/'],
  ] as const;
  for (const [what, p] of guarded) {
    if (holds(resolve(dir), resolve(p))) {
      throw new OsforgeError('USAGE', `refusing to delete ${dir}: it is or contains ${what}`, {
        hint: 'point $OSFORGE_TOOLS_CACHE at the tools cache directory itself (default: tools-cache/ in the checkout)',
      });
    }
  }
}

export const cleanToolsCacheCommand: Command = {
  name: 'clean-tools-cache',
  summary: 'delete tools-cache/ so the next dist compiles the toolchain again',
  help: 'usage: osforge clean-tools-cache\n\nDeletes tools-cache/ (or $OSFORGE_TOOLS_CACHE). The next `osforge dist` rebuilds the tools image from source.\nRefuses a directory that is or contains the current directory, the checkout, your home or /.',
  options: {},
  async run() {
    const dir = paths.toolsCache();
    assertRemovableCache(dir);
    await rm(dir, { recursive: true, force: true });
    process.stdout.write(`removed ${dir}\n`);
  },
};
