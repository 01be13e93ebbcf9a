// Durable commits, as containerd commits content: write under a temp name,
// fsync the data, rename into place, fsync the directory. Without the
// fsyncs a power loss can leave a renamed entry whose blocks never reached
// the disk: present, "valid" by name, and empty. The time spent is counted
// so `make bench` and the run report can show what durability costs.
import { closeSync, fsyncSync, openSync, readdirSync, lstatSync, statfsSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { OsforgeError } from '../errors.ts';

export const fsyncStats = { calls: 0, ms: 0 };

function syncOne(path: string): void {
  const t = performance.now();
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  fsyncStats.calls++;
  fsyncStats.ms += performance.now() - t;
}

/** fsyncs a file or a directory (a directory's fsync makes the names in it durable). */
export function fsyncPath(path: string): void {
  syncOne(path);
}

/** fsyncs every regular file and directory below `root`, and `root` itself. */
export function fsyncTree(root: string): void {
  for (const name of readdirSync(root)) {
    const p = join(root, name);
    const st = lstatSync(p);
    if (st.isDirectory()) fsyncTree(p);
    else if (st.isFile()) syncOne(p);
  }
  syncOne(root);
}

/** After a rename into `dir`: the rename itself is durable only once `dir` is synced. */
export function fsyncParent(path: string): void {
  syncOne(dirname(path));
}

function freeBytes(path: string): number | null {
  let p = path;
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p);
  try {
    const s = statfsSync(p);
    return Number(s.bavail) * Number(s.bsize);
  } catch {
    return null;
  }
}

/** Whether `err` (or its cause) is a full filesystem or quota. */
export function isDiskFull(err: unknown): boolean {
  for (let e = err as { code?: string; message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.code === 'ENOSPC' || e.code === 'EDQUOT') return true;
    // A tool (cp, tar) reports it only in its stderr, which execFile puts in the message.
    if (/No space left on device|Disk quota exceeded/.test(e.message ?? '')) return true;
  }
  return false;
}

/** Turns ENOSPC into a one-line error naming the path and the bytes needed; anything else passes through. */
export function diskFullError(err: unknown, path: string, bytesNeeded?: number): unknown {
  if (!isDiskFull(err) || (err instanceof OsforgeError && err.code === 'DISK_FULL')) return err;
  const free = freeBytes(path);
  const need = bytesNeeded !== undefined ? `needs ${bytesNeeded} bytes` : 'needs more space';
  return new OsforgeError(
    'DISK_FULL',
    `no space left on the filesystem of ${path}: ${need}${free !== null ? `, ${free} bytes free` : ''}`,
    {
      hint: `free space there, or point OSFORGE_STATE_DIR / OSFORGE_DIST / OSFORGE_TOOLS_CACHE at a larger filesystem; nothing already written was damaged`,
    },
    { cause: err },
  );
}

/** Runs `fn`, mapping a full disk to DISK_FULL for `path`. */
export async function mapDiskFull<T>(path: string, bytesNeeded: number | undefined, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw diskFullError(err, path, bytesNeeded);
  }
}
