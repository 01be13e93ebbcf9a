// One error type for everything the user can see. `code` is stable (scripts
// and tests match on it); the context fields say where it happened.
import { settings } from './settings.ts';

export type ErrorCode =
  | 'HOST_SETUP'
  | 'ENGINE_UNAVAILABLE'
  | 'CONFIG_INVALID'
  | 'SOURCE_FETCH'
  | 'SHA256_MISMATCH'
  | 'SIGNATURE_INVALID'
  | 'IMAGE_BUILD'
  | 'CONTAINER_FAILED'
  | 'TOOLS_CACHE'
  | 'BUCK2'
  | 'ARCHIVE_UNSAFE'
  | 'USAGE'
  | 'INTERRUPTED'
  | 'PREFIX_UNSAFE'
  | 'LOCKED'
  | 'LIMIT_EXCEEDED'
  | 'DISK_FULL';

export interface ErrorContext {
  stage?: string;
  arch?: string;
  image?: string;
  container?: string;
  exitCode?: number;
  logPath?: string;
  logTail?: string[];
  hint?: string;
  /** A known cause read from the log (stages/failure-hints.ts), with its specific fix. */
  diagnosis?: { cause: string; fix: string; line: string };
}

export class OsforgeError extends Error {
  readonly code: ErrorCode;
  readonly context: ErrorContext;

  constructor(code: ErrorCode, message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OsforgeError';
    this.code = code;
    this.context = context;
  }
}

/** Re-throws `err` with `doing` prefixed, keeping the code and context (melange-style wrapping). */
export function wrapError(err: unknown, doing: string, extra: ErrorContext = {}): OsforgeError {
  if (err instanceof OsforgeError) {
    return new OsforgeError(err.code, `${doing}: ${err.message}`, { ...err.context, ...extra }, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new OsforgeError('CONTAINER_FAILED', `${doing}: ${message}`, extra, { cause: err });
}

/** Node's filesystem errors, as the user should read them: what, which path, how to fix. */
const ERRNO: Record<string, { what: string; fix: string }> = {
  ENOENT: { what: 'no such file or directory', fix: 'check the path; create it or pass the right one' },
  EACCES: { what: 'permission denied', fix: 'check the owner and mode of the path, or run as a user who may use it' },
  EPERM: { what: 'operation not permitted', fix: 'check the owner and mode of the path, or run as a user who may use it' },
  ENOSPC: { what: 'no space left on device', fix: 'free disk space (`osforge cache gc --max-size 1G` trims the stage cache) and run again' },
  EDQUOT: { what: 'disk quota exceeded', fix: 'free disk space or raise the quota, and run again' },
  ENOTDIR: { what: 'a component of the path is not a directory', fix: 'check each directory in the path; one of them is a file' },
  EISDIR: { what: 'is a directory, expected a file', fix: 'pass the path of a file' },
  ENAMETOOLONG: { what: 'file name too long', fix: 'use a shorter path' },
  EROFS: { what: 'read-only file system', fix: 'choose a writable location' },
  EEXIST: { what: 'already exists', fix: 'remove it or choose another path' },
  ELOOP: { what: 'too many levels of symbolic links', fix: 'check the symlinks along the path' },
  EMFILE: { what: 'too many open files', fix: 'raise the open-file limit (ulimit -n) and run again' },
};

function errnoOf(err: unknown): (NodeJS.ErrnoException & { dest?: string }) | null {
  const e = err as NodeJS.ErrnoException;
  return err instanceof Error && typeof e.code === 'string' && (typeof e.syscall === 'string' || typeof e.path === 'string') ? e : null;
}

/** Everything after a message's first line is context: indented so the error itself stays one line. */
function firstLine(message: string, lines: string[]): string {
  const [head = '', ...rest] = message.split('\n');
  for (const r of rest) if (r.trim()) lines.push(`  ${r.trimStart()}`);
  return head;
}

function debugTrace(err: unknown): string[] {
  const out: string[] = [];
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    out.push(...(depth ? [`caused by: ${e.stack ?? e.message}`] : [e.stack ?? e.message]));
  }
  return out;
}

/**
 * Renders an error the way the CLI prints it: one error line (what failed,
 * naming the input), then indented context: where, log tail, log path, fix.
 * A stack trace only with OSFORGE_DEBUG=1: users get the message, developers
 * ask for the trace.
 */
export function formatError(err: unknown, env: NodeJS.ProcessEnv = process.env): string {
  // The caller may hand in another environment (tests); settings() parses whichever it is.
  const lines: string[] = [];
  const debug = settings(env).debug;
  const errno = errnoOf(err);
  if (err instanceof OsforgeError) {
    const c = err.context;
    lines.push('');
    lines[0] = `error [${err.code}]: ${firstLine(err.message, lines)}`;
    const where = [
      c.stage && `stage=${c.stage}`,
      c.arch && `arch=${c.arch}`,
      c.image && `image=${c.image}`,
      c.exitCode !== undefined && `exit=${c.exitCode}`,
    ].filter(Boolean);
    if (where.length) lines.push(`  at ${where.join(' ')}`);
    if (c.logTail?.length) {
      lines.push(`  last ${c.logTail.length} log lines:`);
      for (const l of c.logTail) lines.push(`  | ${l}`);
    }
    if (c.logPath) lines.push(`  full log: ${c.logPath}`);
    if (c.diagnosis) {
      lines.push(`  detected: ${c.diagnosis.cause}`, `    from: ${c.diagnosis.line}`, `  fix: ${c.diagnosis.fix}`);
      if (c.hint) lines.push(`  see also: ${c.hint}`);
    } else if (c.hint) lines.push(`  fix: ${c.hint}`);
  } else if (errno) {
    // mkdir -p through a file fails with EEXIST on the file: say what is wrong with it.
    const known =
      errno.code === 'EEXIST' && errno.syscall === 'mkdir'
        ? { what: 'exists and is not a directory', fix: 'remove or rename that file, or choose another path' }
        : ERRNO[errno.code!];
    const path = errno.path ?? '';
    const target = errno.dest ? `${path} -> ${errno.dest}` : path;
    const what = known ? `${known.what}: ${target || `(${errno.syscall ?? 'system call'})`}` : firstLine(errno.message, []);
    lines.push(`error [${errno.code}]: ${what}`);
    lines.push(`  fix: ${known?.fix ?? 'check the path and run again'}${debug ? '' : ' (OSFORGE_DEBUG=1 shows where it happened)'}`);
  } else {
    lines.push('');
    // fetch() and friends put the useful part in the cause ("fetch failed" alone names nothing).
    const cause = err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message.split('\n')[0]})` : '';
    lines[0] = `error: ${firstLine(err instanceof Error ? err.message : String(err), lines)}${cause}`;
    lines.push(`  fix: this is unexpected; run again with OSFORGE_DEBUG=1 and report the stack trace`);
  }
  if (debug) lines.push(...debugTrace(err));
  return lines.join('\n');
}
