// CONFIG_PROTECT, as Portage does it: an upgrade never overwrites a
// configuration file the user edited. A file under a protected directory
// (default etc; $OSFORGE_CONFIG_PROTECT, space-separated, "" for none) whose
// content on disk differs from what the previous version installed is kept,
// and the new one is written beside it as ._cfgNNNN_<name> (the next free
// number). The database records what each package installed:
//   obj /etc/foo            <sha256 of the package's version>  (the user's edit is on disk)
//   obj /etc/._cfg0000_foo  <same sha256>                      (the pending update)
// so the pending files are found from CONTENTS alone, an uninstall removes
// the pending file and keeps the edited one (it differs from the record and
// is reported), and `osforge config-update` merges or discards them
// (resolvePending), rewriting CONTENTS atomically under the database lock.
import { fsyncParent, fsyncPath } from '../util/durable.ts';
import { lstat, rename, unlink, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { OsforgeError } from '../errors.ts';
import { sha256File } from '../util/hash.ts';
import { CONFIG_PENDING_RE } from './archive-policy.ts';
import { PrefixResolver, fsError } from './prefix-paths.ts';
import { formatContents, type ContentsLine } from './vdb-format.ts';
import { listInstalled, type Installed } from './vdb.ts';
import { settings } from '../settings.ts';

export const DEFAULT_CONFIG_PROTECT: readonly string[] = ['etc'];

/** The protected directories, prefix-relative, from $OSFORGE_CONFIG_PROTECT (default etc). */
export function configProtectFrom(env: NodeJS.ProcessEnv = process.env): string[] {
  const raw = settings(env).configProtect;
  if (raw === undefined) return [...DEFAULT_CONFIG_PROTECT];
  return raw
    .split(/\s+/)
    .filter(Boolean)
    .map((d) => {
      const rel = d.replace(/^\/+/, '').replace(/\/+$/, '');
      if (rel === '' || rel.split('/').some((c) => c === '..' || c === '.' || c === '')) {
        throw new OsforgeError('USAGE', `invalid directory ${JSON.stringify(d)} in $OSFORGE_CONFIG_PROTECT`, {
          hint: 'give prefix-relative directories separated by spaces, e.g. "/etc /usr/share/config"',
        });
      }
      return rel;
    });
}

export function isProtected(path: string, protect: readonly string[]): boolean {
  return protect.some((d) => path === d || path.startsWith(`${d}/`));
}

/** etc/._cfg0003_foo → { target: 'etc/foo', n: 3 }; anything else → null. */
export function parsePending(path: string): { target: string; n: number } | null {
  const base = posix.basename(path);
  if (!CONFIG_PENDING_RE.test(base)) return null;
  const dir = posix.dirname(path);
  const name = base.slice('._cfg0000_'.length);
  if (name === '') return null;
  return { target: dir === '.' ? name : `${dir}/${name}`, n: Number(base.slice(5, 9)) };
}

/** The first ._cfgNNNN_ name for `path` that `taken` does not have. */
export function nextPendingName(path: string, taken: (rel: string) => boolean): string {
  const dir = posix.dirname(path);
  for (let n = 0; n <= 9999; n++) {
    const rel = `${dir === '.' ? '' : `${dir}/`}._cfg${String(n).padStart(4, '0')}_${posix.basename(path)}`;
    if (!taken(rel)) return rel;
  }
  throw new OsforgeError('PREFIX_UNSAFE', `/${path} has 10000 pending config updates`, { hint: 'merge or discard them with `osforge config-update`' });
}

export interface PendingConfig {
  /** The protected file, prefix-relative. */
  target: string;
  /** Its pending updates (prefix-relative), oldest first; the last is the newest. */
  pending: string[];
  /** The package whose CONTENTS records them. */
  owner: Installed;
}

/** Every pending update recorded in the database whose file is still on disk. */
export async function listPending(prefix: string): Promise<PendingConfig[]> {
  const byTarget = new Map<string, PendingConfig>();
  const paths = new PrefixResolver(prefix);
  for (const pkg of await listInstalled(prefix)) {
    for (const l of pkg.contents) {
      const p = l.kind === 'obj' ? parsePending(l.path) : null;
      if (!p) continue;
      const abs = paths.path(l.path);
      if (abs === null || !(await isFile(abs))) continue; // removed by hand: nothing pending
      const entry = byTarget.get(p.target) ?? { target: p.target, pending: [], owner: pkg };
      entry.pending.push(l.path);
      byTarget.set(p.target, entry);
    }
  }
  const out = [...byTarget.values()];
  for (const e of out) e.pending.sort((a, b) => parsePending(a)!.n - parsePending(b)!.n);
  return out.sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0));
}

async function isFile(abs: string): Promise<boolean> {
  try {
    return (await lstat(abs)).isFile();
  } catch {
    return false;
  }
}

/** Writes `lines` as the CONTENTS of `pkg`: temp, fsync, rename, so a kill leaves the old or the new one. */
async function rewriteContents(pkg: Installed, lines: readonly ContentsLine[]): Promise<void> {
  const path = join(pkg.dir, 'CONTENTS');
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, formatContents(lines), { flag: 'w' });
  fsyncPath(tmp);
  await rename(tmp, path);
  fsyncParent(path);
}

/**
 * merge: the newest pending update replaces the file (older ones are
 * deleted); discard: every pending update is deleted and the user's file
 * stays. CONTENTS then drops the pending lines (and, on merge, records the
 * merged file). The caller holds the database lock. Returns what was done.
 */
export async function resolvePending(prefix: string, target: string, action: 'merge' | 'discard'): Promise<string> {
  const rel = target.replace(/^\/+/, '').replace(/\/+$/, '');
  const all = await listPending(prefix);
  const found = all.find((p) => p.target === rel);
  if (!found) {
    throw new OsforgeError(
      'USAGE',
      `no pending config update for /${rel} in ${prefix}; pending: ${all.length ? all.map((p) => `/${p.target}`).join(', ') : '(none)'}`,
      { hint: 'list them with `osforge config-update --prefix P`' },
    );
  }
  const paths = new PrefixResolver(prefix);
  const where = (r: string) => paths.mustBeInside(r, action === 'merge' ? 'merge a config update into' : 'discard a config update of');
  const dest = where(found.target);
  const newest = found.pending[found.pending.length - 1]!;
  let merged: ContentsLine | undefined;
  try {
    if (action === 'merge') {
      const src = where(newest);
      const line = found.owner.contents.find((l) => l.path === newest);
      const now = await sha256File(src);
      if (line?.kind === 'obj' && now !== line.sha256) {
        throw new OsforgeError('PREFIX_UNSAFE', `/${newest} changed since it was installed (sha256 ${now}, installed ${line.sha256}); not merged`, {
          hint: `look at it, then move it over /${found.target} by hand or run --discard ${found.target}`,
        });
      }
      await rename(src, dest);
      merged = { kind: 'obj', path: found.target, sha256: now, size: line?.kind === 'obj' ? line.size : 0 };
    }
    for (const p of action === 'merge' ? found.pending.slice(0, -1) : found.pending)
      await unlink(where(p)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
  } catch (err) {
    throw fsError(err, `${action === 'merge' ? 'merging' : 'discarding'} the config update of /${found.target}`);
  }
  const drop = new Set(found.pending);
  const lines = found.owner.contents.filter((l) => !drop.has(l.path)).map((l) => (merged && l.path === merged.path ? merged : l));
  await rewriteContents(found.owner, lines);
  return action === 'merge'
    ? `merged /${newest} into /${found.target}${found.pending.length > 1 ? ` (dropped ${found.pending.length - 1} older update(s))` : ''}`
    : `kept /${found.target}; discarded ${found.pending.map((p) => `/${p}`).join(', ')}`;
}
