// Locks a directory (state dir, tools-cache/, dist/) for one run. The lock
// is a kernel flock held by a helper `flock … cat` whose stdin is ours: when
// osforge dies for any reason the pipe closes, the helper exits and the
// kernel releases the lock, so a lock can never be held by a dead process.
// The lock file records the holder (pid, boot id, start time, command); a
// record left non-empty was a holder that died, and its takeover is logged.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { OsforgeError } from '../errors.ts';
import { currentOwner, ownerAlive, type Owner } from '../util/owner.ts';

export interface Holder extends Owner {
  startedAt: string;
  command: string;
  runId: string;
}

export interface RunLock {
  path: string;
  /** Resolves once the kernel lock is gone. */ release(): Promise<void>;
}

export interface LockOptions {
  /** false: fail at once when another run holds the lock (`--no-wait`). */
  wait: boolean;
  runId: string;
  /** Progress messages: who holds the lock, a takeover. */
  log: (line: string) => void;
  pollMs?: number;
}

export function readHolder(path: string): Holder | null {
  try {
    const text = readFileSync(path, 'utf8').trim();
    return text ? (JSON.parse(text) as Holder) : null;
  } catch {
    return null;
  }
}

export function describeHolder(h: Holder | null): string {
  if (!h) return 'another process (no holder record yet)';
  return `pid ${h.pid} (started ${h.startedAt}, command: ${h.command})`;
}

function tryFlock(path: string): Promise<ChildProcess | null> {
  return new Promise((resolve, reject) => {
    // -E 75: "already locked" is told apart from a missing flock binary or a bad path.
    const child = spawn('flock', ['-n', '-E', '75', path, 'sh', '-c', 'echo locked; exec cat >/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (b: Buffer) => {
      err += b.toString();
    });
    child.stdout!.once('data', () => resolve(child));
    child.on('error', (e) =>
      reject(
        new OsforgeError('HOST_SETUP', `cannot run flock to lock ${path}: ${e.message}`, {
          hint: 'install util-linux (it provides flock), or run make setup',
        }),
      ),
    );
    child.on('exit', (code) => {
      if (code === 75) resolve(null);
      else
        reject(
          new OsforgeError('HOST_SETUP', `cannot lock ${path}: flock exited with ${code}${err ? `: ${err.trim()}` : ''}`, {
            hint: 'check that the directory is writable',
          }),
        );
    });
  });
}

export async function acquireLock(path: string, opts: LockOptions): Promise<RunLock> {
  mkdirSync(path.slice(0, path.lastIndexOf('/')) || '/', { recursive: true });
  let announced = false;
  for (;;) {
    const child = await tryFlock(path);
    if (child) {
      const previous = readHolder(path);
      const me = currentOwner();
      if (previous && !(previous.pid === me.pid && previous.start === me.start) && !ownerAlive(previous)) {
        opts.log(`lock ${path}: took over from ${describeHolder(previous)}, which died without releasing it`);
      }
      const holder: Holder = {
        ...me,
        startedAt: new Date().toISOString(),
        runId: opts.runId,
        command: process.argv
          .slice(1)
          .map((a) => a.replace(/^.*\/node_modules\/\.bin\//, ''))
          .join(' '),
      };
      writeFileSync(path, JSON.stringify(holder) + '\n');
      // Neither the helper nor its pipes may keep the event loop alive (the exit guard relies on it emptying).
      child.unref();
      for (const s of [child.stdin, child.stdout, child.stderr]) (s as unknown as { unref?: () => void } | null)?.unref?.();
      const exited = new Promise<void>((r) => {
        if (child.exitCode !== null || child.signalCode !== null) r();
        else child.once('exit', () => r());
      });
      let released = false;
      return {
        path,
        release() {
          if (!released) {
            released = true;
            try {
              writeFileSync(path, '');
            } catch {
              /* the lock still goes with the helper */
            }
            // Waiting for the helper's exit must keep the process alive (it was unref'd while held).
            child.ref();
            // EOF ends `cat`, which holds the inherited lock fd; flock exits only
            // after it, so "exited" means the kernel lock is gone. Killing flock
            // first would return while cat still held the lock.
            child.stdin?.end();
            const stuck = setTimeout(() => child.kill('SIGKILL'), 10_000);
            exited.then(
              () => clearTimeout(stuck),
              () => clearTimeout(stuck),
            );
          }
          return exited;
        },
      };
    }
    const holder = readHolder(path);
    if (!opts.wait) {
      throw new OsforgeError('LOCKED', `${path} is locked by ${describeHolder(holder)}`, {
        hint: 'wait for that run to finish (drop --no-wait to wait for it), or use another OSFORGE_STATE_DIR / OSFORGE_DIST',
      });
    }
    if (!announced) {
      opts.log(`waiting for ${path}: held by ${describeHolder(holder)}`);
      announced = true;
    }
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
  }
}

/** Locks several paths in a fixed order (so two runs never wait on each other crosswise). */
export async function acquireLocks(paths: string[], opts: LockOptions): Promise<RunLock> {
  const held: RunLock[] = [];
  try {
    for (const p of [...new Set(paths)].sort()) held.push(await acquireLock(p, opts));
  } catch (err) {
    await Promise.all(held.map((l) => l.release()));
    throw err;
  }
  return {
    path: held.map((l) => l.path).join(', '),
    release: async () => {
      await Promise.all(held.map((l) => l.release()));
    },
  };
}
