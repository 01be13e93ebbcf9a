// Caps on what a mirror can make osforge download, hold or unpack, and how
// long a download may take. An idle timeout alone let one byte per timeout
// keep a download alive for ever, so every HTTP read (pipeline/util/http-read.ts)
// also needs a minimum rate over each window and a total deadline: a slow
// but steady download of a large package still finishes, a trickle does not.
// Each is settable by a flag or an environment variable; flags win.
import { parseCount, parseDuration, parseSize } from '../util/units.ts';
import { DEFAULT_HTTP_TIMING, formatLimit } from '../util/http-read.ts';
import { settings, type LimitVariable } from '../settings.ts';

export { parseCount, parseDuration, parseSize };

export interface Limits {
  /** Largest package file accepted (bytes). */
  maxDownloadBytes: number;
  /** Largest index.json accepted (bytes). */
  maxIndexBytes: number;
  /** Largest decompressed package (bytes): a gzip bomb stops here. */
  maxUnpackedBytes: number;
  /** Abort a download when no byte arrives for this long (ms). */
  idleTimeoutMs: number;
  /** Abort a download that receives fewer than this many bytes per second, averaged over each `rateWindowMs`. */
  minRateBytesPerSec: number;
  /** The window the minimum rate is measured over (ms). */
  rateWindowMs: number;
  /** Abort a download that has not finished after this long in all (ms). */
  deadlineMs: number;
  /** Most entries in one package archive: the installer's work and memory grow with it. */
  maxEntries: number;
  /** Most components in one archive path (a/b/c is 3). */
  maxPathDepth: number;
}

const MiB = 1024 * 1024;
export const DEFAULT_LIMITS: Limits = {
  maxDownloadBytes: 1024 * MiB,
  maxIndexBytes: 32 * MiB,
  maxUnpackedBytes: 2048 * MiB,
  // The download times every HTTP read shares (the shared cache's too).
  ...DEFAULT_HTTP_TIMING,
  // Real packages stay far below these (a Linux source tree has ~90k entries, 15 levels).
  maxEntries: 200_000,
  maxPathDepth: 128,
};

const FLAGS = {
  maxDownloadBytes: ['max-download-size', 'OSFORGE_MAX_DOWNLOAD_SIZE'],
  maxIndexBytes: ['max-index-size', 'OSFORGE_MAX_INDEX_SIZE'],
  maxUnpackedBytes: ['max-unpacked-size', 'OSFORGE_MAX_UNPACKED_SIZE'],
  idleTimeoutMs: ['idle-timeout', 'OSFORGE_IDLE_TIMEOUT'],
  minRateBytesPerSec: ['min-rate', 'OSFORGE_MIN_RATE'],
  rateWindowMs: ['rate-window', 'OSFORGE_RATE_WINDOW'],
  deadlineMs: ['download-deadline', 'OSFORGE_DOWNLOAD_DEADLINE'],
  maxEntries: ['max-entries', 'OSFORGE_MAX_ENTRIES'],
  maxPathDepth: ['max-path-depth', 'OSFORGE_MAX_PATH_DEPTH'],
} as const;

/** The limits that are times (parsed with parseDuration); the others are sizes or counts. */
const DURATIONS: ReadonlySet<keyof Limits> = new Set(['idleTimeoutMs', 'rateWindowMs', 'deadlineMs']);
/** The limits that are whole counts (parsed with parseCount). */
const COUNTS: ReadonlySet<keyof Limits> = new Set(['maxEntries', 'maxPathDepth']);

export const limitOptions = {
  'max-download-size': { type: 'string' },
  'max-index-size': { type: 'string' },
  'max-unpacked-size': { type: 'string' },
  'idle-timeout': { type: 'string' },
  'min-rate': { type: 'string' },
  'rate-window': { type: 'string' },
  'download-deadline': { type: 'string' },
  'max-entries': { type: 'string' },
  'max-path-depth': { type: 'string' },
} as const;

export const LIMITS_HELP = `limits (a flag wins over its environment variable):
      --max-download-size SIZE  largest package file to download ($OSFORGE_MAX_DOWNLOAD_SIZE; default 1G)
      --max-index-size SIZE     largest index.json to read ($OSFORGE_MAX_INDEX_SIZE; default 32M)
      --max-unpacked-size SIZE  largest decompressed package; stops gzip bombs ($OSFORGE_MAX_UNPACKED_SIZE; default 2G)
      --idle-timeout TIME       give up when a download sends nothing for this long ($OSFORGE_IDLE_TIMEOUT; default 30s)
      --min-rate SIZE           give up when a download gets less than SIZE per second over a window ($OSFORGE_MIN_RATE; default 1K)
      --rate-window TIME        the window --min-rate is measured over ($OSFORGE_RATE_WINDOW; default 30s)
      --download-deadline TIME  give up on any one download after this long in all ($OSFORGE_DOWNLOAD_DEADLINE; default 30m)
      --max-entries N           most entries in one package archive ($OSFORGE_MAX_ENTRIES; default 200000)
      --max-path-depth N        most directory levels in one archive path ($OSFORGE_MAX_PATH_DEPTH; default 128)
  SIZE is bytes or a number with K, M or G (powers of 1024); TIME is seconds or a number with ms, s or m.`;

/** Limits from parsed flags (`values`) and the environment, over the defaults. */
export function limitsFrom(values: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): Limits {
  const out = { ...DEFAULT_LIMITS };
  const fromEnv = settings(env).limits;
  for (const [k, [flag, envName]] of Object.entries(FLAGS) as [keyof Limits, readonly [string, LimitVariable]][]) {
    const fromFlag = values[flag];
    const raw = typeof fromFlag === 'string' ? fromFlag : fromEnv[envName];
    if (raw === undefined || raw === '') continue;
    const what = typeof fromFlag === 'string' ? `--${flag}` : `$${envName}`;
    out[k] = DURATIONS.has(k) ? parseDuration(raw, what) : COUNTS.has(k) ? parseCount(raw, what) : parseSize(raw, what);
  }
  return out;
}

/** `32M`, `1G`, `1000 bytes`: a limit the way it is written. */
export const formatBytes = formatLimit;
