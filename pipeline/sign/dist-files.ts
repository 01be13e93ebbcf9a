// What is in a release directory on disk: that it exists, and every file in
// it. Shared by `sign` (which refuses strays) and `verify` (which fails them).
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { OsforgeError } from '../errors.ts';

/** A missing or non-directory dist/ is a one-line error naming it, not an ENOENT from deep inside. */
export async function assertReleaseDir(dist: string): Promise<void> {
  const st = await stat(dist).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return null;
    throw err;
  });
  if (!st) {
    throw new OsforgeError('CONFIG_INVALID', `release directory ${dist} does not exist`, {
      hint: 'build it with `osforge dist` (or `make dist`), or pass the release directory as the argument',
    });
  }
  if (!st.isDirectory()) {
    throw new OsforgeError('CONFIG_INVALID', `release directory ${dist} is not a directory`, { hint: 'pass the directory `osforge dist` wrote' });
  }
}

/** Every non-directory entry below `dir`, relative, sorted; symlinks count as files (never followed into). */
export async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(dir, rel)));
    else out.push(rel);
  }
  return out.sort();
}
