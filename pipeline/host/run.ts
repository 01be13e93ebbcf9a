// The one funnel for host processes that do build work (the container steps
// have theirs in steps/step.ts). runHost (mmdebstrap): output streamed line by
// line to the caller's log, the last 40 lines kept for the error, the first
// `E:` line (apt's, mmdebstrap's) as the one-line reason, and a program that
// is not installed (ENOENT) turned into a setup error naming the Debian
// package that provides it. captureHost (gpg, gpgv, zstd): for a tool whose
// output is the result, it returns exit code, stdout and stderr, and the
// caller words the failure (its messages name what the tool was checking).
import { spawn } from 'node:child_process';
import { OsforgeError, type ErrorCode } from '../errors.ts';

/** Programs whose Debian package has another name; any other is its own package. */
const PACKAGE_OF: Readonly<Record<string, string>> = {
  gpgv: 'gpgv',
  gpg: 'gpg',
  xz: 'xz-utils',
  flock: 'util-linux',
  umount: 'mount',
  cp: 'coreutils',
  rm: 'coreutils',
  'qemu-img': 'qemu-utils',
};

/** The Debian package that installs `cmd`. */
export function packageOf(cmd: string): string {
  return Object.hasOwn(PACKAGE_OF, cmd) ? PACKAGE_OF[cmd]! : cmd;
}

/** The line that says why a host tool failed (apt/mmdebstrap's `E:` lines), for the one-line message. */
export function toolReason(tail: readonly string[]): string {
  // The first E: line is the cause; later ones ("mmdebstrap failed to run") only repeat that it failed.
  const errors = tail.filter((l) => /^(E:|error:)/i.test(l.trim()));
  const reason = errors[0] ?? tail.at(-1);
  return reason ? `: ${reason.trim()}` : '';
}

export interface HostRun {
  env?: NodeJS.ProcessEnv;
  /** Every output line, as it comes. */
  log?: (line: string) => void;
  /** The error a non-zero exit becomes: its code, the stage it names, and a hint read from the log tail. */
  failure: { code: ErrorCode; stage: string; hint?: (tail: readonly string[]) => string | undefined };
}

/** Runs `cmd args`; resolves on exit 0, else rejects with an OsforgeError carrying the exit code and the log tail. */
export function runHost(cmd: string, args: readonly string[], o: HostRun): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: o.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    const onData = (b: Buffer) => {
      for (const l of b.toString().split('\n'))
        if (l) {
          tail.push(l);
          if (tail.length > 40) tail.shift();
          o.log?.(l);
        }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (err) =>
      reject(
        new OsforgeError('HOST_SETUP', `cannot run ${cmd}: ${err.message}`, {
          hint: `install it: apt-get install -y ${packageOf(cmd)} (or run make setup)`,
        }),
      ),
    );
    child.on('close', (code) => {
      if (code === 0) return resolve();
      const hint = o.failure.hint?.(tail);
      reject(
        new OsforgeError(o.failure.code, `${cmd} exited with ${code}${toolReason(tail)}`, {
          stage: o.failure.stage,
          exitCode: code ?? -1,
          logTail: tail,
          ...(hint ? { hint } : {}),
        }),
      );
    });
  });
}

export interface HostCapture {
  /** The exit code; null when the program did not run (see `error`) or died by a signal. */
  code: number | null;
  stdout: Buffer;
  stderr: Buffer;
  /** Why it could not be started (ENOENT: not installed), as node reports it. */
  error?: NodeJS.ErrnoException;
}

/** Runs `cmd args` with `input` on its stdin (none by default); never rejects: the caller reads code, output and error. */
export function captureHost(cmd: string, args: readonly string[], o: { input?: Buffer; env?: NodeJS.ProcessEnv } = {}): Promise<HostCapture> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: o.env ?? process.env, stdio: [o.input ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let error: NodeJS.ErrnoException | undefined;
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => (error = e));
    // A tool that exits before reading all of its input closes the pipe: its exit code says what went wrong, not EPIPE.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(o.input);
    child.on('close', (code) => resolve({ code: error ? null : code, stdout: Buffer.concat(out), stderr: Buffer.concat(err), ...(error ? { error } : {}) }));
  });
}
