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
  return new OsforgeError(
    e.code === 'ENAMETOOLONG' ? 'ARCHIVE_UNSAFE' : 'HOST_SETUP',
    `${doing}: ${e.code ?? e.message}`,
    { hint: (e.code && hints[e.code]) || 'check the path and retry' },
    { cause: err },
  );
}

/**
 * Resolves a --prefix to a real absolute path (the nearest existing ancestor
 * through realpath, the rest appended). Refuses "", which would mean the
 * current directory.
 */
export async function realPrefixOf(prefix: string): Promise<string> {
  if (prefix.trim() === '') {
    throw new OsforgeError('USAGE', '--prefix is empty; it would install into the current directory', {
      hint: 'give an explicit directory, e.g. --prefix /usr or --prefix ./root',
    });
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

/**
 * insidePath for many paths of one prefix, resolving each directory once
 * (one lstat, and a realpath only at a symlink) and remembering it, so the
 * cost is linear in the number of directories: insidePath per entry did a
 * realpath of every missing ancestor, depth^2 system calls per entry.
 * Valid while no symlink is added or removed on a resolved path; call
 * forget() after removing one.
 */
export class PrefixResolver {
  /** Prefix-relative directory → its real absolute path (it may not exist yet), null = outside the prefix. */
  private readonly dirs = new Map<string, string | null>();
  /** Directories known not to exist: nothing below them needs a system call. */
  private readonly missing = new Set<string>();

  constructor(readonly prefix: string) {
    this.forget();
  }

  forget(): void {
    this.dirs.clear();
    this.missing.clear();
    this.dirs.set('', this.prefix);
  }

  /** Same answer as insidePath(prefix, rel). */
  path(rel: string): string | null {
    const parts = rel.split('/').filter((s) => s !== '' && s !== '.');
    if (parts.length === 0 || parts.includes('..')) return null;
    const name = parts.pop()!;
    const dir = this.dir(parts.join('/'));
    return dir === null ? null : join(dir, name);
  }

  /** mustBeInside through the cache. */
  mustBeInside(rel: string, doing: string): string {
    const p = this.path(rel);
    if (p === null) throw unsafePath(this.prefix, rel, doing);
    return p;
  }

  private dir(rel: string): string | null {
    const known = this.dirs.get(rel);
    if (known !== undefined) return known;
    const pending: string[] = [];
    for (let p = rel; !this.dirs.has(p); p = p.slice(0, Math.max(0, p.lastIndexOf('/')))) pending.push(p);
    for (const p of pending.reverse()) {
      const slash = p.lastIndexOf('/');
      const parentRel = slash < 0 ? '' : p.slice(0, slash);
      const parent = this.dirs.get(parentRel)!;
      this.dirs.set(p, parent === null ? null : this.step(parentRel, parent, p, p.slice(slash + 1)));
    }
    return this.dirs.get(rel)!;
  }

  private step(parentRel: string, parent: string, rel: string, name: string): string | null {
    const abs = join(parent, name);
    if (this.missing.has(parentRel)) {
      this.missing.add(rel);
      return abs;
    }
    let st;
    try {
      st = lstatSync(abs);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw fsError(err, `resolving ${abs}`);
      this.missing.add(rel);
      return abs; // taken as it will be created
    }
    if (!st.isSymbolicLink()) return abs;
    try {
      const real = realpathSync(abs);
      return within(real, this.prefix) ? real : null;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ELOOP') return null;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw fsError(err, `resolving ${abs}`);
      this.missing.add(rel); // dangling: as insidePath, the name itself is taken
      return abs;
    }
  }
}

function unsafePath(realPrefix: string, rel: string, doing: string): OsforgeError {
  return new OsforgeError('PREFIX_UNSAFE', `refusing to ${doing} /${rel}: a directory on its path is a symlink leading outside the prefix ${realPrefix}`, {
    hint: 'nothing was changed; replace that symlink with a directory or a symlink inside the prefix, then retry',
  });
}

/** insidePath or a PREFIX_UNSAFE refusal naming the path and what was being done. */
export function mustBeInside(realPrefix: string, rel: string, doing: string): string {
  const p = insidePath(realPrefix, rel);
  if (p === null) throw unsafePath(realPrefix, rel, doing);
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
      throw new OsforgeError(
        'PREFIX_UNSAFE',
        `refusing to use the package database of ${realPrefix}: ${abs} is ${st.isSymbolicLink() ? 'a symlink' : 'not a directory'}; the database must be real directories at <prefix>/${VDB_DIR}`,
        { hint: `replace ${abs} with a real directory (move what it points to), then retry; nothing was changed` },
      );
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
