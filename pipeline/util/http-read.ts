// One bounded HTTP GET for every untrusted download (a binary mirror's index,
// signatures and packages, a shared-cache entry). A remote server decides how
// much it sends and how fast, so each read has:
//   - a byte cap, checked against the declared length first and then against
//     every decoded byte (a Content-Encoding: gzip body is decoded by fetch,
//     so the cap is on what osforge holds, never on what went over the wire);
//   - an idle timeout, a minimum rate over each window and a total deadline:
//     one byte per idle timeout can no longer keep a download alive;
//   - the status line's reason phrase escaped before it is printed.
// A body cut short is an error, never a short file.
import { OsforgeError } from '../errors.ts';
import { printable } from './printable.ts';

/** How long a download may take; a subset of binpkg's Limits, so both callers pass theirs. */
export interface HttpTiming {
  idleTimeoutMs: number;
  minRateBytesPerSec: number;
  rateWindowMs: number;
  deadlineMs: number;
}

export const DEFAULT_HTTP_TIMING: HttpTiming = {
  idleTimeoutMs: 30_000,
  // 1 KiB/s over 30 s windows stops a trickle within a minute, far below any real link.
  minRateBytesPerSec: 1024,
  rateWindowMs: 30_000,
  // A 1 GiB package at 1 MB/s takes 17 minutes; 30 minutes leaves room.
  deadlineMs: 30 * 60_000,
};

export interface HttpReadOptions {
  /** Refuse bodies (decoded) larger than this. */
  maxBytes: number;
  /** The flag or variable that raises `maxBytes`, for the message. */
  limitName: string;
  timing: HttpTiming;
  /** The body must be exactly this long (e.g. the size verified metadata states); implies the cap. */
  exactBytes?: number;
}

/** Where a body goes, chunk by chunk. */
export interface Sink {
  write(chunk: Uint8Array): Promise<void> | void;
}

const DURATION_FLAGS =
  '--idle-timeout, --min-rate, --rate-window, --download-deadline (or $OSFORGE_IDLE_TIMEOUT, $OSFORGE_MIN_RATE, $OSFORGE_RATE_WINDOW, $OSFORGE_DOWNLOAD_DEADLINE)';

/** Why the read was aborted by a timer, as the one-line message. */
class Stopped extends Error {}

export function formatLimit(n: number): string {
  const MiB = 1024 * 1024;
  if (n >= 1024 * MiB && n % (1024 * MiB) === 0) return `${n / (1024 * MiB)}G`;
  if (n >= MiB && n % MiB === 0) return `${n / MiB}M`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024}K`;
  return `${n} bytes`;
}

function seconds(ms: number): string {
  return `${ms / 1000}s`;
}

export function tooLarge(where: string, size: number | string, max: number, limitName: string): OsforgeError {
  return new OsforgeError('LIMIT_EXCEEDED', `${where} is larger than the ${formatLimit(max)} limit (${typeof size === 'number' ? `${size} bytes` : size})`, {
    hint: `raise the limit with ${limitName} if the file is genuine; otherwise the source is broken or hostile`,
  });
}

/**
 * GETs `url` into `sink(declaredLength)` (declared is NaN when unknown or
 * encoded). Returns false on 404/410; throws a one-line OsforgeError otherwise.
 */
export async function httpRead(url: string, o: HttpReadOptions, sink: (declared: number) => Sink): Promise<boolean> {
  const shown = printable(url, 400);
  const max = o.exactBytes ?? o.maxBytes;
  const t = o.timing;
  const ac = new AbortController();
  const stop = (message: string) => ac.abort(new Stopped(message));
  let idleTimer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => stop(`no data for ${seconds(t.idleTimeoutMs)} (idle timeout)`), t.idleTimeoutMs);
  };
  const deadline = setTimeout(() => stop(`not finished after ${seconds(t.deadlineMs)} (download deadline)`), t.deadlineMs);
  let total = 0;
  let windowStart = 0;
  const rateCheck = setInterval(() => {
    const got = total - windowStart;
    windowStart = total;
    if (got < (t.minRateBytesPerSec * t.rateWindowMs) / 1000) {
      stop(`only ${got} bytes in ${seconds(t.rateWindowMs)}, below the minimum rate of ${formatLimit(t.minRateBytesPerSec)}/s`);
    }
  }, t.rateWindowMs);
  const timedOut = (): OsforgeError | null =>
    ac.signal.reason instanceof Stopped
      ? new OsforgeError('SOURCE_FETCH', `downloading ${shown}: ${ac.signal.reason.message}`, {
          hint: `the server stalled or is too slow; retry, or adjust ${DURATION_FLAGS} on a slow link`,
        })
      : null;
  arm();
  try {
    let res: Response;
    try {
      res = await fetch(url, { signal: ac.signal, redirect: 'follow' });
    } catch (err) {
      const stopped = timedOut();
      if (stopped) throw stopped;
      const cause = (err as Error & { cause?: Error }).cause?.message;
      throw new OsforgeError(
        'SOURCE_FETCH',
        `downloading ${shown}: ${printable((err as Error).message)}${cause ? ` (${printable(cause)})` : ''}`,
        { hint: 'check the URL and your network' },
        { cause: err },
      );
    }
    if (res.status === 404 || res.status === 410) {
      await res.body?.cancel().catch(() => {});
      return false;
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      throw new OsforgeError('SOURCE_FETCH', `downloading ${shown}: HTTP ${res.status} ${printable(res.statusText)}`, {
        hint: 'check the URL; the server refused the request',
      });
    }
    // fetch decodes a Content-Encoding; the length header then counts encoded bytes and says nothing of the decoded size.
    const encoded = (res.headers.get('content-encoding') ?? 'identity').toLowerCase() !== 'identity';
    const declared = encoded ? NaN : Number(res.headers.get('content-length') ?? NaN);
    if (declared > max) {
      await res.body?.cancel().catch(() => {});
      throw tooLarge(shown, `${declared} bytes declared`, max, o.limitName);
    }
    if (o.exactBytes !== undefined && Number.isFinite(declared) && declared !== o.exactBytes) {
      await res.body?.cancel().catch(() => {});
      throw new OsforgeError('SOURCE_FETCH', `downloading ${shown}: the server declares ${declared} bytes, but the verified size is ${o.exactBytes}`, {
        hint: 'the server holds a different file than the signed metadata names; the mirror is inconsistent or hostile',
      });
    }
    const out = sink(declared);
    try {
      for await (const c of res.body ?? []) {
        arm();
        const chunk = c as Uint8Array;
        if (total + chunk.length > max || (Number.isFinite(declared) && total + chunk.length > declared)) {
          ac.abort();
          throw tooLarge(shown, `more than ${total + chunk.length} bytes sent`, max, o.limitName);
        }
        await out.write(chunk);
        total += chunk.length;
      }
    } catch (err) {
      if (err instanceof OsforgeError) throw err;
      const stopped = timedOut();
      if (stopped) throw stopped;
      if ((err as NodeJS.ErrnoException).syscall) throw err; // the sink's own (disk) error
      throw new OsforgeError(
        'SOURCE_FETCH',
        `downloading ${shown}: the body was cut short after ${total}${Number.isFinite(declared) ? ` of ${declared}` : ''} bytes (${printable((err as Error).message)})`,
        { hint: 'the connection dropped or the server is truncating files; retry, or check the server' },
        { cause: err },
      );
    }
    const want = Number.isFinite(declared) ? declared : o.exactBytes;
    if (want !== undefined && total !== want) {
      throw new OsforgeError('SOURCE_FETCH', `downloading ${shown}: the body was cut short after ${total} of ${want} bytes`, {
        hint: 'the connection dropped or the server is truncating files; retry, or check the server',
      });
    }
    return true;
  } finally {
    clearTimeout(idleTimer);
    clearTimeout(deadline);
    clearInterval(rateCheck);
  }
}
