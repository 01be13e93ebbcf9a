// Where install, upgrade and uninstall may touch the disk: only inside the
// prefix. A prefix-relative path is resolved with realpath on its directory
// (every component, symlinks included) and used only when the result stays
// inside the real prefix; the last component is never followed. Symlinks that
// stay inside (lib/ssl/certs -> ../../etc/ssl/certs) are fine. The package
// database is fixed at <prefix>/var/db/pkg and must be made of real
// directories: a symlink there would let a package or a stale link redirect
// the records that decide what uninstall deletes.
import { lstatSync, realpathSync } from 'node:fs';
import { mkdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { OsforgeError } from '../errors.ts';
import { VDB_DIR } from './vdb-format.ts';

export function within(path: string, root: string): boolean {
  return path === root || path.startsWith(root === '/' ? '/' : `${root}/`);
}

/** Turns an fs error into a one-line OsforgeError naming the path (ENAMETOOLONG, EACCES, ENOSPC, ...). */
export function fsError(err: unknown, doing: string): OsforgeError {
  if (err instanceof OsforgeError) return err;
  const e = err as NodeJS.ErrnoException;
  const hints: Record<string, string> = {
    ENAMETOOLONG: 'a path in the package is longer than this filesystem allows; the package cannot be installed here',
    EACCES: 'run as a user who may write the prefix, or choose another --prefix',
    EPERM: 'run as a user who may write the prefix, or choose another --prefix',
    ENOSPC: 'free space on the filesystem of the prefix and retry',
    EROFS: 'the prefix is on a read-only filesystem; choose another --prefix',
  };
  return new OsforgeError(e.code === 'ENAMETOOLONG' ? 'ARCHIVE_UNSAFE' : 'HOST_SETUP', `${doing}: ${e.code ?? e.message}`,
    { hint: (e.code && hints[e.code]) || 'check the path and retry' }, { cause: err });
}

/**
 * Resolves a --prefix to a real absolute path (the nearest existing ancestor
 * through realpath, the rest appended). Refuses "", which would mean the
 * current directory.
 */
export async function realPrefixOf(prefix: string): Promise<string> {
  if (prefix.trim() === '') {
    throw new OsforgeError('USAGE', '--prefix is empty; it would install into the current directory', { hint: 'give an explicit directory, e.g. --prefix /usr or --prefix ./root' });
  }
  let p = resolve(prefix);
  const tail: string[] = [];
  for (;;) {
    try {
      return join(await realpath(p), ...tail);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw fsError(err, `resolving prefix ${prefix}`);
      const parent = dirname(p);
      if (parent === p) throw new OsforgeError('USAGE', `cannot resolve prefix ${prefix}`);
      tail.unshift(basename(p));
      p = parent;
    }
  }
}

/**
 * Absolute path of prefix-relative `rel`, with its directory resolved
 * through every symlink; null when that directory lies outside `realPrefix`
 * (or loops). Missing trailing directories are taken as they will be created.
 */
export function insidePath(realPrefix: string, rel: string): string | null {
  const parts = rel.split('/').filter((s) => s !== '' && s !== '.');
  if (parts.length === 0 || parts.includes('..')) return null;
  const name = parts.pop()!;
  const tail: string[] = [];
  for (;;) {
    const dir = join(realPrefix, ...parts);
    try {
      const real = join(realpathSync(dir), ...tail);
      return within(real, realPrefix) ? join(real, name) : null;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ELOOP') return null;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw fsError(err, `resolving ${dir}`);
      if (parts.length === 0) return null; // the prefix itself vanished
      tail.unshift(parts.pop()!);
    }
  }
}

/** insidePath or a PREFIX_UNSAFE refusal naming the path and what was being done. */
export function mustBeInside(realPrefix: string, rel: string, doing: string): string {
  const p = insidePath(realPrefix, rel);
  if (p === null) {
    throw new OsforgeError('PREFIX_UNSAFE', `refusing to ${doing} /${rel}: a directory on its path is a symlink leading outside the prefix ${realPrefix}`,
      { hint: 'nothing was changed; replace that symlink with a directory or a symlink inside the prefix, then retry' });
  }
  return p;
}

/**
 * Refuses a prefix whose var, var/db or var/db/pkg is a symlink or not a
 * directory: the database location is fixed and can never be redirected.
 */
export function assertDbLocation(realPrefix: string): void {
  const parts = VDB_DIR.split('/');
  for (let i = 1; i <= parts.length; i++) {
    const rel = parts.slice(0, i).join('/');
    const abs = join(realPrefix, rel);
    let st;
    try {
      st = lstatSync(abs);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      throw fsError(err, `checking ${abs}`);
    }
    if (st.isSymbolicLink() || !st.isDirectory()) {
      throw new OsforgeError('PREFIX_UNSAFE',
        `refusing to use the package database of ${realPrefix}: ${abs} is ${st.isSymbolicLink() ? 'a symlink' : 'not a directory'}; the database must be real directories at <prefix>/${VDB_DIR}`,
        { hint: `replace ${abs} with a real directory (move what it points to), then retry; nothing was changed` });
    }
  }
}

/**
 * mkdir -p, one component at a time; returns the first directory it created.
 * (Node's recursive mkdir loops forever on some filesystems, e.g. /proc.)
 */
export async function mkdirs(path: string): Promise<string | undefined> {
  const chain: string[] = [];
  for (let p = resolve(path); ; p = dirname(p)) {
    try {
      await stat(p);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(p) === p) throw err;
      chain.push(p);
    }
  }
  let first: string | undefined;
  for (const d of chain.reverse()) {
    try {
      await mkdir(d);
      first ??= d;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  return first;
}
