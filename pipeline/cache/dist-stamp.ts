// Records which dist key produced dist/, the commit it records, and the
// sha256 of every file written, so a warm no-op run can prove dist/ is
// current without starting anything, and tell a commit that changed no
// build input (only manifest.json needs rewriting) from one that did.
// Each digest is kept with the file's stat (inode, size, mtime and ctime in
// ns) taken around the hashing; a warm check re-hashes only a file whose stat
// differs, as git's index does. ctime cannot be set from user space, so any
// write since (even one that restores mtime) makes the file hashed again.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { writeFileAtomic } from '../util/write-atomic.ts';
import { join, resolve } from 'node:path';
import { sha256, sha256File } from '../util/hash.ts';

/**
 * `key` covers the artifacts' inputs and, since #12, not the commit: that is
 * kept apart in `commit` and `dirty`. A stamp without them is older and its
 * `key` includes the commit.
 */
export interface DistStamp {
  key: string;
  commit?: string;
  dirty?: boolean;
  files: Record<string, string>;
  /** Per file, its stat when its digest was taken (absent: hash it). */
  stats?: Record<string, string>;
}

/** inode:size:mtimeNs:ctimeNs, or null when the file cannot be stat'ed. */
function statOf(path: string): string | null {
  try {
    const st = statSync(path, { bigint: true });
    return `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch {
    return null;
  }
}

/** The digest of `path` and its stat, recorded only when nothing wrote the file while it was hashed. */
async function digestWithStat(path: string): Promise<{ digest: string; stat: string | null }> {
  const before = statOf(path);
  const digest = await sha256File(path);
  const after = statOf(path);
  return { digest, stat: before !== null && before === after ? after : null };
}

/** What a run wants dist/ to hold: artifacts for `key`, recording `commit` and `dirty`. */
export interface DistIdentity {
  key: string;
  commit: string;
  dirty: boolean;
}

export type DistState =
  | { kind: 'current' }
  /** Artifacts are right; only the recorded commit/dirty differ (see outputs/dist-identity.ts). */
  | { kind: 'identity-only' }
  | { kind: 'stale'; reason: string };

export function stampPath(stampsRoot: string, distDir: string): string {
  return join(stampsRoot, `${sha256(resolve(distDir)).slice(0, 16)}.json`);
}

export function readStamp(path: string): DistStamp | null {
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as DistStamp;
  } catch {
    return null;
  }
}

/** null when dist/ holds exactly what the stamp recorded (extra files such as signatures are allowed). */
export async function distMismatch(distDir: string, stamp: DistStamp): Promise<string | null> {
  for (const [name, digest] of Object.entries(stamp.files)) {
    const p = join(distDir, name);
    if (!existsSync(p)) return `${name} is missing`;
    const recorded = stamp.stats?.[name];
    if (recorded !== undefined && statOf(p) === recorded) continue;
    if ((await sha256File(p)) !== digest) return `${name} changed since it was written`;
  }
  return null;
}

/** Whether dist/ can be kept as it is, kept with a new commit recorded, or must be rebuilt (and why). */
export async function classifyDist(stamp: DistStamp | null, want: DistIdentity, distDir: string): Promise<DistState> {
  if (!stamp) return { kind: 'stale', reason: 'no record of a previous dist/ here' };
  if (stamp.commit === undefined || stamp.dirty === undefined) return { kind: 'stale', reason: 'the record of dist/ predates commit-independent keys' };
  if (stamp.key !== want.key) return { kind: 'stale', reason: 'dist inputs changed' };
  const mismatch = await distMismatch(distDir, stamp);
  if (mismatch) return { kind: 'stale', reason: mismatch };
  return stamp.commit === want.commit && stamp.dirty === want.dirty ? { kind: 'current' } : { kind: 'identity-only' };
}

/**
 * Records every file of a freshly written dist/. A bare `key` is the older
 * form (the key then includes the commit), kept for callers not yet moved.
 */
export async function writeStamp(path: string, id: string | DistIdentity, distDir: string): Promise<void> {
  const files: Record<string, string> = {};
  const stats: Record<string, string> = {};
  for (const name of (await readdir(distDir)).sort()) {
    const d = await digestWithStat(join(distDir, name));
    files[name] = d.digest;
    if (d.stat) stats[name] = d.stat;
  }
  await saveStamp(path, { ...(typeof id === 'string' ? { key: id } : id), files, stats });
}

/**
 * The stats of a stamp's files as they are now, for each whose content still
 * has the recorded digest (after a refresh relinked them, which changes ctime).
 */
export async function restat(stamp: DistStamp, distDir: string): Promise<DistStamp> {
  const stats: Record<string, string> = {};
  for (const [name, digest] of Object.entries(stamp.files)) {
    const p = join(distDir, name);
    if (!existsSync(p)) continue;
    const d = await digestWithStat(p);
    if (d.digest === digest && d.stat) stats[name] = d.stat;
  }
  return { ...stamp, stats };
}

/**
 * The stamp after refreshRecordedIdentity: the same files, with the new
 * digests of those it rewrote (the rest are hard links, unchanged). The
 * signing outputs it removed were never recorded: a stamp lists what the
 * build wrote, and `osforge sign` may replace the others at will.
 */
export function refreshedStamp(old: DistStamp, id: DistIdentity, rewritten: Record<string, string>): DistStamp {
  // Stats are dropped: relinking changed every file's ctime (restat() records them again).
  return { ...id, files: { ...old.files, ...rewritten } };
}

export async function saveStamp(path: string, stamp: DistStamp): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(stamp, null, 1) + '\n');
}
