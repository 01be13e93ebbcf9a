// One error type for everything the user can see. `code` is stable (scripts
// and tests match on it); the context fields say where it happened.

export type ErrorCode =
  | 'HOST_SETUP'
  | 'ENGINE_UNAVAILABLE'
  | 'CONFIG_INVALID'
  | 'SOURCE_FETCH'
  | 'SHA256_MISMATCH'
  | 'IMAGE_BUILD'
  | 'CONTAINER_FAILED'
  | 'TOOLS_CACHE'
  | 'BUCK2'
  | 'ARCHIVE_UNSAFE'
  | 'USAGE'
  | 'INTERRUPTED' | 'LOCKED' | 'DISK_FULL';

export interface ErrorContext {
  stage?: string;
  arch?: string;
  image?: string;
  container?: string;
  exitCode?: number;
  logPath?: string;
  logTail?: string[];
  hint?: string;
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

/** Renders an error the way the CLI prints it: what, where, log tail, log path, fix. */
export function formatError(err: unknown): string {
  if (!(err instanceof OsforgeError)) {
    return `error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
  }
  const c = err.context;
  const lines = [`error [${err.code}]: ${err.message}`];
  const where = [c.stage && `stage=${c.stage}`, c.arch && `arch=${c.arch}`, c.image && `image=${c.image}`,
    c.exitCode !== undefined && `exit=${c.exitCode}`].filter(Boolean);
  if (where.length) lines.push(`  at ${where.join(' ')}`);
  if (c.logTail?.length) {
    lines.push(`  last ${c.logTail.length} log lines:`);
    for (const l of c.logTail) lines.push(`  | ${l}`);
  }
  if (c.logPath) lines.push(`  full log: ${c.logPath}`);
  if (c.hint) lines.push(`  fix: ${c.hint}`);
  return lines.join('\n');
}
