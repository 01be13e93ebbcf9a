// Decides whether a package archive may be installed under a prefix (pure;
// the caller supplies what is already on disk). Nothing is written until
// every entry has passed. Refused:
//   - absolute paths and ".." (also refused by util/tar.ts while reading),
//   - device nodes, fifos and other special files,
//   - duplicate paths, and paths with control characters or " -> ",
//   - entries below a symlink of the archive (symlink, then a file through it),
//   - symlinks whose target, resolved through the archive and the prefix,
//     leaves the prefix (absolute targets count as host paths),
//   - hardlinks to anything but a regular file earlier in the same archive,
//   - entries below a symlink in the prefix that leads outside it,
//   - entries in the package database (var/db/pkg), which osforge owns, and
//     anything but a directory at var or var/db (a link there moves it),
//   - reserved names in any component: .osforge-* (the installer's staging
//     dirs and temporaries) and ._cfgNNNN_* (pending config updates).
// Work is linear in the archive: each directory is resolved once.
import { OsforgeError } from '../errors.ts';
import type { TarEntry } from '../util/tar.ts';
import { VDB_DIR } from './vdb-format.ts';

/** What is at a prefix-relative path on disk, without following a final symlink. */
export type DiskNode = { kind: 'missing' } | { kind: 'dir' } | { kind: 'file' } | { kind: 'other' } | { kind: 'symlink'; target: string };

export interface PolicyContext {
  /** Real absolute path of the prefix (no trailing slash, "/" for the root). */
  prefix: string;
  /** lstat of prefix/rel, where `rel` contains no symlink components known to the caller. */
  disk(rel: string): DiskNode;
}

const MAX_LINK_HOPS = 40;

/** Names the installer makes in the prefix (staging dirs, .x.osforge-new-*, backups): a package shipping one could have it swept or clobbered. */
export const RESERVED_PREFIX = '.osforge-';
/** A pending config update (config-protect.ts); shipped by a package it would pass for one. */
export const CONFIG_PENDING_RE = /^\._cfg\d{4}_/;

/**
 * The mode an entry is installed with: permission bits, and the sticky bit
 * on directories. Nothing is left writable by others unless it is a sticky
 * directory (a 1777 tmp stays 1777; a 0777 dir becomes 0775, a 0777 file
 * 0775). setuid/setgid are never installed.
 */
export function installMode(type: TarEntry['type'], mode: number): number {
  if (type !== 'directory') return mode & 0o775;
  const m = mode & 0o1777;
  return m & 0o1000 ? m : m & ~0o002;
}

function refuse(path: string, why: string): OsforgeError {
  return new OsforgeError('ARCHIVE_UNSAFE', `refusing archive entry ${JSON.stringify(path)}: ${why}`, {
    hint: 'the package is malformed or hostile; nothing was installed',
  });
}

/** Splits an absolute host path into components relative to `prefix`, or null when it lies outside. */
/** "a/b/c" → "a/b"; "a" → "" (the prefix root). */
function parentOf(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
}

function relativeToPrefix(abs: string, prefix: string): string[] | null {
  const parts = abs.split('/').filter((s) => s !== '' && s !== '.');
  const out: string[] = [];
  for (const p of parts) {
    if (p === '..') {
      if (out.length === 0) continue; // "/.." is "/"
      out.pop();
    } else out.push(p);
  }
  const pre = prefix.split('/').filter(Boolean);
  if (out.length < pre.length || pre.some((p, i) => out[i] !== p)) return null;
  return out.slice(pre.length);
}

export function checkArchive(entries: readonly TarEntry[], ctx: PolicyContext): void {
  const byPath = new Map<string, TarEntry>();
  for (const e of entries) {
    if (e.type !== 'file' && e.type !== 'directory' && e.type !== 'symlink' && e.type !== 'link') {
      throw refuse(e.path, `unsupported entry type ${String(e.type)}`);
    }
    if (e.path === '' || e.path.startsWith('/') || e.path.split('/').some((s) => s === '..' || s === '.' || s === '')) {
      throw refuse(e.path, 'path is not a plain relative path');
    }
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x1f\x7f]/.test(e.path) || e.path.includes(' -> ') || (e.linkname !== undefined && /[\x00-\x1f\x7f]/.test(e.linkname))) {
      throw refuse(e.path, 'control characters or " -> " in a path');
    }
    const reserved = e.path.split('/').find((c) => c.startsWith(RESERVED_PREFIX) || CONFIG_PENDING_RE.test(c));
    if (reserved !== undefined) {
      throw refuse(
        e.path,
        `${JSON.stringify(reserved)} is a reserved name (${RESERVED_PREFIX}* is the installer's own staging and backup files, ._cfgNNNN_* its pending config updates)`,
      );
    }
    if (e.path === VDB_DIR || e.path.startsWith(`${VDB_DIR}/`)) throw refuse(e.path, `${VDB_DIR} is the package database`);
    // var and var/db may only be plain directories: a link there would move the database.
    if (VDB_DIR.startsWith(`${e.path}/`) && e.type !== 'directory')
      throw refuse(e.path, `${VDB_DIR} is the package database; ${e.path} must be a directory, not a ${e.type}`);
    if (byPath.has(e.path)) throw refuse(e.path, 'duplicate path');
    byPath.set(e.path, e);
  }

  // The link, if any, that will be at `rel` after installation (memoised: each path is asked once).
  const links = new Map<string, string | undefined>();
  const linkAt = (rel: string): string | undefined => {
    if (links.has(rel)) return links.get(rel);
    const a = byPath.get(rel);
    let link: string | undefined;
    if (a?.type === 'symlink') link = a.linkname ?? '';
    else if (!a || a.type === 'directory') {
      const d = ctx.disk(rel);
      link = d.kind === 'symlink' ? d.target : undefined; // a directory entry keeps an existing symlink
    }
    links.set(rel, link);
    return link;
  };

  /** Resolves `parts` (relative to the prefix) through every symlink; null when it leaves the prefix. */
  const resolve = (parts: string[], from: readonly string[] = []): string[] | null => {
    let queue = [...parts];
    let cur: string[] = [...from];
    let hops = 0;
    while (queue.length) {
      const c = queue.shift()!;
      if (c === '' || c === '.') continue;
      if (c === '..') {
        if (cur.length === 0) return null;
        cur.pop();
        continue;
      }
      cur.push(c);
      const link = linkAt(cur.join('/'));
      if (link === undefined) continue;
      if (++hops > MAX_LINK_HOPS) return null;
      cur.pop();
      if (link.startsWith('/')) {
        const inside = relativeToPrefix(link, ctx.prefix);
        if (inside === null) return null;
        queue = [...inside, ...queue];
        cur = [];
      } else {
        queue = [...link.split('/'), ...queue];
      }
    }
    return cur;
  };

  // Where each directory of the archive lands, resolved once and reused by
  // everything below it: resolving every ancestor per entry made a deep path
  // cost depth^3 (a 300-deep one-file package took minutes).
  const dirs = new Map<string, string[] | null>([['', []]]);
  const resolveDir = (rel: string): string[] | null => {
    const known = dirs.get(rel);
    if (known !== undefined) return known;
    const pending: string[] = [];
    for (let p = rel; !dirs.has(p); p = parentOf(p)) pending.push(p);
    for (const p of pending.reverse()) {
      const parent = dirs.get(parentOf(p))!;
      let out: string[] | null = null;
      if (parent !== null) {
        const name = p.slice(p.lastIndexOf('/') + 1);
        const here = [...parent, name];
        // Only a symlink needs the general walk; a plain component extends its parent.
        out = linkAt(here.join('/')) === undefined ? here : resolve(here);
      }
      dirs.set(p, out);
    }
    return dirs.get(rel)!;
  };

  // Ancestors whose type has been checked (each once, not once per entry below it).
  const checkedDirs = new Set<string>(['']);
  for (const e of byPath.values()) {
    const parts = e.path.split('/');
    const unchecked: string[] = [];
    for (let p = parentOf(e.path); !checkedDirs.has(p); p = parentOf(p)) unchecked.push(p);
    for (const parent of unchecked.reverse()) {
      const a = byPath.get(parent);
      if (a && a.type !== 'directory') {
        throw refuse(
          e.path,
          a.type === 'symlink'
            ? `it lies below ${JSON.stringify(parent)}, a symlink in the same archive`
            : `its parent ${JSON.stringify(parent)} is not a directory`,
        );
      }
      checkedDirs.add(parent);
    }
    // Walking the parent through the prefix's own symlinks must stay inside.
    const resolvedParent = resolveDir(parentOf(e.path));
    if (resolvedParent === null) {
      throw refuse(e.path, `its directory leads outside the prefix through a symlink already in ${ctx.prefix}`);
    }
    const lands = [...resolvedParent, parts[parts.length - 1]!].join('/');
    if (lands === VDB_DIR || lands.startsWith(`${VDB_DIR}/`) || (VDB_DIR.startsWith(`${lands}/`) && e.type !== 'directory')) {
      throw refuse(e.path, `it lands on ${lands} through a symlink; ${VDB_DIR} is the package database`);
    }
    if (e.type === 'symlink') {
      const target = e.linkname ?? '';
      if (target === '') throw refuse(e.path, 'symlink without a target');
      const resolved = target.startsWith('/')
        ? relativeToPrefix(target, ctx.prefix) === null
          ? null
          : resolve(relativeToPrefix(target, ctx.prefix)!)
        : resolve(target.split('/'), resolvedParent);
      if (resolved === null) throw refuse(e.path, `symlink to ${JSON.stringify(target)} points outside the prefix ${ctx.prefix}`);
    }
    if (e.type === 'link') {
      const target = e.linkname ?? '';
      const t = byPath.get(target);
      if (!t || t.type !== 'file') {
        throw refuse(e.path, `hardlink to ${JSON.stringify(target)}, which is not a regular file of this archive`);
      }
    }
  }
}
