// The lock on a prefix's package database: <prefix>/var/db/pkg/.lock,
// created with O_EXCL and holding who took it (pid, boot id, the process's
// start time, command). install, upgrade and uninstall hold it from reading
// the database to writing it, so two commands never decide on the same
// stale view (two packages owning one file). Node has no flock(), so a lock
// whose holder is gone (other boot, dead pid, or a reused pid with another
// start time) is stale and taken over, and that is logged.
import { closeSync, fsyncSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { rmdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { OsforgeError } from '../errors.ts';
import { assertDbLocation, fsError, mkdirs } from './prefix-paths.ts';
import { testHook } from './test-hooks.ts';
import { VDB_DIR } from './vdb-format.ts';

export interface LockHolder {
  pid: number;
  bootId: string;
  /** Process start time in clock ticks since boot (/proc/<pid>/stat field 22). */
  startTime: string;
  command: string;
  since: string;
}

export interface DbLock {
  path: string;
  /** Removes the lock; with `pruneEmpty`, also var/db/pkg, var/db and var when empty. Directories the lock created are always removed when empty. */
  release(opts?: { pruneEmpty?: boolean }): Promise<void>;
}

const POLL_MS = 100;
/** An unreadable lock (its writer died between create and write) older than this is stale. */
const PARTIAL_LOCK_STALE_MS = 5_000;

function readSafe(p: string): string | null {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return null;
  }
}

export function bootId(): string {
  return readSafe('/proc/sys/kernel/random/boot_id')?.trim() ?? 'unknown';
}

export function processStartTime(pid: number): string | null {
  const stat = readSafe(`/proc/${pid}/stat`);
  if (stat === null) return null;
  // Field 2 (comm) may contain spaces and parentheses; fields after the last ")" are plain.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return rest[19] ?? null; // field 22 overall
}

export function describeHolder(h: LockHolder): string {
  return `pid ${h.pid} (${h.command}, since ${h.since})`;
}

/** Why `h` no longer holds the lock, or null when it is alive. */
export function staleReason(h: LockHolder): string | null {
  if (h.bootId !== bootId()) return 'it was taken before the last reboot';
  try {
    process.kill(h.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return `process ${h.pid} is gone`;
  }
  const start = processStartTime(h.pid);
  if (start !== null && start !== h.startTime) return `process ${h.pid} is gone (the pid was reused)`;
  return null;
}

function parseHolder(text: string): LockHolder | null {
  try {
    const h = JSON.parse(text) as LockHolder;
    return typeof h.pid === 'number' && typeof h.bootId === 'string' ? h : null;
  } catch {
    return null;
  }
}

/** O_EXCL create; false when the file exists. */
function createExclusive(path: string, text: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Removes the stale lock whose text is `seen`, unless another process
 * already replaced it. A short-lived O_EXCL ".lock.takeover" file makes the
 * check-and-remove atomic between two processes that both saw it stale.
 */
function takeOver(path: string, seen: string): boolean {
  const guard = `${path}.takeover`;
  if (!createExclusive(guard, String(process.pid))) {
    try {
      if (Date.now() - statSync(guard).mtimeMs > PARTIAL_LOCK_STALE_MS) unlinkSync(guard);
    } catch {
      /* gone meanwhile */
    }
    return false;
  }
  try {
    if (readSafe(path) !== seen) return false;
    unlinkSync(path);
    return true;
  } finally {
    try {
      unlinkSync(guard);
    } catch {
      /* already gone */
    }
  }
}

export interface LockOptions {
  /** What the holder is doing, shown to anyone who waits ("osforge install bash"). */
  command: string;
  /** false: fail at once with LOCKED when another live process holds the lock. */
  wait: boolean;
  log: (msg: string) => void;
}

export async function lockDb(realPrefix: string, o: LockOptions): Promise<DbLock> {
  assertDbLocation(realPrefix);
  const dir = join(realPrefix, VDB_DIR);
  const path = join(dir, '.lock');
  const me: LockHolder = {
    pid: process.pid,
    bootId: bootId(),
    startTime: processStartTime(process.pid) ?? '',
    command: o.command,
    since: new Date().toISOString(),
  };
  const text = JSON.stringify(me) + '\n';
  let firstCreated: string | undefined;
  let announced = false;
  let vanished = 0;
  for (;;) {
    try {
      const created = await mkdirs(dir);
      firstCreated ??= created;
      assertDbLocation(realPrefix); // nothing swapped in a symlink meanwhile
      if (createExclusive(path, text)) break;
    } catch (err) {
      // A releasing holder may prune the directory between our mkdir and open; more than a few times is not that.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && ++vanished < 20) continue;
      throw fsError(err, `creating the lock ${path}`);
    }
    const seen = readSafe(path);
    if (seen === null) continue;
    const holder = parseHolder(seen);
    let stale: string | null;
    if (holder) stale = staleReason(holder);
    else {
      let age = 0;
      try {
        age = Date.now() - statSync(path).mtimeMs;
      } catch {
        continue;
      }
      stale = age > PARTIAL_LOCK_STALE_MS ? 'it is unreadable and old' : null;
    }
    if (stale !== null) {
      if (takeOver(path, seen)) o.log(`taking over the stale lock ${path} of ${holder ? describeHolder(holder) : 'an unknown process'}: ${stale}`);
      continue;
    }
    const who = holder ? describeHolder(holder) : 'a process that is still writing it';
    if (!o.wait) {
      throw new OsforgeError('LOCKED', `the package database of ${realPrefix} is locked by ${who}`, {
        hint: `wait for it to finish, or run without --no-wait to wait; if that process is hung, stop it (kill ${holder?.pid ?? '<pid>'})`,
      });
    }
    if (!announced) {
      o.log(`waiting for the package database lock ${path}, held by ${who}`);
      announced = true;
    }
    await sleep(POLL_MS);
  }
  await testHook('locked');
  return {
    path,
    async release(r = {}) {
      if (readSafe(path) === text) {
        try {
          unlinkSync(path);
        } catch {
          /* gone */
        }
      }
      // Remove empty directories: those this lock created, or (uninstall) the whole empty database.
      const created = firstCreated ? dirname(firstCreated) : dir;
      const pruned = r.pruneEmpty ? realPrefix : dir;
      const stopAt = created.length < pruned.length ? created : pruned;
      for (let d = dir; d.length > stopAt.length && d.startsWith(stopAt); d = dirname(d)) {
        try {
          await rmdir(d);
        } catch {
          break;
        }
      }
    },
  };
}
