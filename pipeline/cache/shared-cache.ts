// The shared stage cache (seed 003: "check $cache/$pkghash.tar.gz before
// performing a build"): a directory or an http(s) URL that CI machines and
// builders share. An entry is the stage store's entry of one key, as a tar
// (<key[0:2]>/<key>.tar), and a cosign blob signature of it (<key>.tar.sig)
// by the cache key or the release key. Before a stage builds, its entry is
// pulled when the signature verifies with the configured public key and every
// file matches the sha256 its meta.json records; an unsigned, wrongly signed
// or damaged entry is ignored with a warning and the stage builds. After a
// stage, its entry is pushed when the cache lacks it and a signing key is set.
//
// The pull runs before the signature check, so it trusts nothing it reads:
// the entry and its .sig are size-capped; an HTTP cache is read through
// util/http-read.ts (idle timeout, minimum rate, deadline); a directory
// cache's files are opened as regular files only (a FIFO or a symlink to
// /dev/zero is refused, never waited on); the tar may hold only files and
// directories, under an entry count and a depth cap; and meta.json, read
// bounded, may name only files inside its own entry's out/.
import type { KeyObject } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, open, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { OsforgeError } from '../errors.ts';
import { decodeSigFile, encodeSigFile, signFile, verifyFile } from '../crypto/blob.ts';
import { DEFAULT_HTTP_TIMING, httpRead, tooLarge, type HttpTiming } from '../util/http-read.ts';
import { parseJsonBounded } from '../util/json-bounded.ts';
import { printable } from '../util/printable.ts';
import { openRegularFile, readRegularFile } from '../util/regular-file.ts';
import { isPlainRelative } from '../util/safe-name.ts';
import { parseCount, parseDuration, parseSize } from '../util/units.ts';
import { extractSafe, packStream, type StreamEntry } from '../util/tar-stream.ts';
import type { StageStore } from './stage-store.ts';
import { settings } from '../settings.ts';

export interface SharedCacheLimits {
  /** Largest entry tar pulled (bytes). */
  maxEntryBytes: number;
  /** Most tar entries in one cache entry. */
  maxEntries: number;
  /** Most path components of one name in it. */
  maxDepth: number;
  /** How long one HTTP read may take. */
  timing: HttpTiming;
}

const GiB = 1024 ** 3;
export const DEFAULT_SHARED_CACHE_LIMITS: SharedCacheLimits = {
  // An entry is meta.json plus output.tar.gz or a few files in out/ (the largest seen: a 22 MB package, a rootfs
  // or kernel tree is one output.tar.gz); 8 GiB is room for any of them and still stops an endless body.
  maxEntryBytes: 8 * GiB,
  maxEntries: 10_000,
  maxDepth: 32,
  timing: DEFAULT_HTTP_TIMING,
};

/** A .sig is a base64 DER signature (under 100 bytes); meta.json a few KB. */
const MAX_SIG_BYTES = 64 * 1024;
const MAX_META_BYTES = 16 * 1024 * 1024;

export interface SharedCacheOptions {
  /** A directory, or an http(s):// base URL (GET to pull, PUT to push). */
  location: string;
  verifyKey: KeyObject;
  signKey?: KeyObject;
  log: (line: string) => void;
  limits?: SharedCacheLimits;
}

const KEY_RE = /^[0-9a-f]{64}$/;

export class SharedCache {
  readonly pulled = new Set<string>();
  readonly pushed = new Set<string>();
  private readonly http: boolean;
  private readonly limits: SharedCacheLimits;

  constructor(private readonly o: SharedCacheOptions) {
    this.http = /^https?:\/\//.test(o.location);
    this.limits = o.limits ?? DEFAULT_SHARED_CACHE_LIMITS;
  }

  get location(): string {
    return this.o.location;
  }
  get canPush(): boolean {
    return this.o.signKey !== undefined;
  }

  private rel(key: string, suffix = '') {
    return `${key.slice(0, 2)}/${key}.tar${suffix}`;
  }
  private url(rel: string) {
    return `${this.o.location.replace(/\/+$/, '')}/${rel}`;
  }

  /** Copies `rel` into the new file `file`, at most `maxBytes`; false when the cache lacks it. */
  private async fetchTo(rel: string, file: string, maxBytes: number, limitName: string): Promise<boolean> {
    const out = await open(file, 'wx', 0o600);
    try {
      if (this.http) {
        return await httpRead(this.url(rel), { maxBytes, limitName, timing: this.limits.timing }, () => ({
          write: async (c) => {
            await out.write(c);
          },
        }));
      }
      const from = join(this.o.location, rel);
      let src;
      try {
        src = await openRegularFile(from, `shared cache file ${rel}`, Number.MAX_SAFE_INTEGER);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return false;
        throw err;
      }
      try {
        if (src.size > maxBytes) throw tooLarge(from, src.size, maxBytes, limitName);
        // The size checked on the descriptor bounds the copy, even if the file grows meanwhile.
        const buf = Buffer.allocUnsafe(1024 * 1024);
        for (let at = 0; at < src.size; ) {
          const { bytesRead } = await src.handle.read(buf, 0, Math.min(buf.length, src.size - at), at);
          if (bytesRead === 0) break;
          await out.write(buf.subarray(0, bytesRead));
          at += bytesRead;
        }
        return true;
      } finally {
        await src.handle.close();
      }
    } finally {
      await out.close();
    }
  }

  private async exists(rel: string): Promise<boolean> {
    if (!this.http)
      return lstat(join(this.o.location, rel)).then(
        () => true,
        () => false,
      );
    const res = await fetch(this.url(rel), { method: 'HEAD', signal: AbortSignal.timeout(this.limits.timing.idleTimeoutMs) });
    return res.ok;
  }

  private async putFile(rel: string, file: string): Promise<void> {
    if (!this.http) {
      const to = join(this.o.location, rel);
      await mkdir(dirname(to), { recursive: true });
      const tmp = `${to}.tmp-${process.pid}`;
      await pipeline(createReadStream(file), createWriteStream(tmp));
      await rename(tmp, to);
      return;
    }
    const size = (await stat(file)).size;
    const res = await fetch(this.url(rel), {
      method: 'PUT',
      body: Readable.toWeb(createReadStream(file)) as unknown as BodyInit,
      headers: { 'content-length': String(size) },
      duplex: 'half',
      signal: AbortSignal.timeout(this.limits.timing.deadlineMs),
    } as RequestInit);
    if (!res.ok) throw new Error(`PUT ${this.url(rel)}: HTTP ${res.status} ${printable(res.statusText)}`);
  }

  /**
   * Imports the entry of `key` into `store` when the cache has a verified one.
   * false: absent, or refused (with a warning naming the stage and why).
   */
  async pull(store: StageStore, key: string, stage: string): Promise<boolean> {
    if (!KEY_RE.test(key)) return false;
    const dir = store.tempDir();
    const tarFile = `${dir}.tar`;
    await mkdir(dirname(dir), { recursive: true });
    try {
      if (!(await this.fetchTo(this.rel(key), tarFile, this.limits.maxEntryBytes, '$OSFORGE_SHARED_CACHE_MAX_SIZE'))) return false;
      const refuse = (why: string) => {
        this.o.log(`warning: shared cache entry ${key.slice(0, 12)} for ${stage} ${why}; ignored, building it`);
        return false;
      };
      const sigFile = `${dir}.sig`;
      let sig: Buffer;
      try {
        if (!(await this.fetchTo(this.rel(key, '.sig'), sigFile, MAX_SIG_BYTES, 'nothing (a signature is under 100 bytes)')))
          return refuse('is unsigned (no .sig)');
        sig = decodeSigFile((await readRegularFile(sigFile, 'the .sig', MAX_SIG_BYTES)).toString('utf8'));
      } catch (err) {
        if (err instanceof OsforgeError) throw err;
        return refuse('has a malformed signature');
      } finally {
        await rm(sigFile, { force: true });
      }
      if (!(await verifyFile(this.o.verifyKey, tarFile, [sig]))[0])
        return refuse("is not signed by the shared cache's key (tampered, or signed by another key)");
      await extractSafe(createReadStream(tarFile), dir, { maxEntries: this.limits.maxEntries, maxDepth: this.limits.maxDepth, filesAndDirsOnly: true });
      const unsafe = await checkEntryMeta(dir, key);
      if (unsafe) return refuse(unsafe);
      const problem = await store.importDir(key, dir);
      if (problem) return refuse(`does not match its own record (${problem})`);
      this.pulled.add(key);
      return true;
    } catch (err) {
      if (err instanceof OsforgeError && (err.code === 'ARCHIVE_UNSAFE' || err.code === 'LIMIT_EXCEEDED')) {
        this.o.log(`warning: shared cache entry ${key.slice(0, 12)} for ${stage}: ${printable(err.message, 400)}; ignored, building it`);
        return false;
      }
      this.o.log(`warning: shared cache ${this.o.location} failed for ${stage} (${printable((err as Error).message, 400)}); building it`);
      return false;
    } finally {
      await rm(tarFile, { force: true });
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Pushes the store's entry of `key` when the cache lacks it (signed); failures only warn. */
  async push(store: StageStore, key: string, stage: string): Promise<void> {
    if (!this.o.signKey || !KEY_RE.test(key) || this.pulled.has(key) || this.pushed.has(key) || !store.has(key)) return;
    const tarFile = `${store.tempDir()}.tar`;
    try {
      if (await this.exists(this.rel(key, '.sig'))) return;
      const entryDir = store.dir(key);
      const files: string[] = [];
      const walk = async (d: string) => {
        for (const n of (await readdir(d)).sort()) {
          const p = join(d, n);
          if ((await stat(p)).isDirectory()) await walk(p);
          else files.push(p);
        }
      };
      await walk(entryDir);
      const entries: StreamEntry[] = files.map((f) => ({ path: relative(entryDir, f), type: 'file', mode: 0o644, data: { file: f } }));
      await pipeline(packStream(entries, 0), createWriteStream(tarFile));
      const sig = await signFile(this.o.signKey, tarFile);
      // The tar first, then its signature: a reader never sees a signature without its tar.
      await this.putFile(this.rel(key), tarFile);
      await writeFile(`${tarFile}.sig`, encodeSigFile(sig.signature));
      await this.putFile(this.rel(key, '.sig'), `${tarFile}.sig`);
      this.pushed.add(key);
    } catch (err) {
      this.o.log(`warning: could not push ${stage} (${key.slice(0, 12)}) to the shared cache ${this.o.location}: ${(err as Error).message}`);
    } finally {
      await rm(tarFile, { force: true });
      await rm(`${tarFile}.sig`, { force: true });
    }
  }
}

/**
 * Why an extracted entry's meta.json is unsafe to hand to the stage store, or
 * null: it is read bounded, must be this key's, and every file it names must
 * be a plain name of a regular file in out/ (the extraction allowed no links),
 * so verifying it never reads outside the entry.
 */
async function checkEntryMeta(dir: string, key: string): Promise<string | null> {
  let meta: unknown;
  try {
    meta = parseJsonBounded((await readRegularFile(join(dir, 'meta.json'), 'meta.json', MAX_META_BYTES)).toString('utf8'), 'meta.json');
  } catch (err) {
    return `has an unreadable meta.json (${(err as Error).message})`;
  }
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) return 'has a meta.json that is not an object';
  const { key: metaKey, files } = meta as { key?: unknown; files?: unknown };
  if (metaKey !== key) return `is the entry of ${printable(String(metaKey).slice(0, 12))}`;
  if (files === undefined) {
    const st = await lstat(join(dir, 'output.tar.gz')).catch(() => null);
    return st?.isFile() ? null : 'has neither files in meta.json nor an output.tar.gz';
  }
  if (typeof files !== 'object' || files === null || Array.isArray(files)) return 'has a meta.json whose "files" is not an object';
  for (const [name, sha] of Object.entries(files)) {
    if (!isPlainRelative(name)) return `has a meta.json naming ${JSON.stringify(printable(name))}, outside its entry`;
    if (typeof sha !== 'string') return `has a meta.json whose hash of ${JSON.stringify(printable(name))} is not a string`;
    const st = await lstat(join(dir, 'out', name)).catch(() => null);
    if (!st?.isFile()) return `has a meta.json naming ${JSON.stringify(printable(name))}, which is no file of the entry`;
  }
  return null;
}

/**
 * The run's shared cache: --shared-cache or $OSFORGE_SHARED_CACHE, verified
 * with $OSFORGE_SHARED_CACHE_PUBKEY (required: an entry nobody can check is
 * never used), pushed to when $OSFORGE_SHARED_CACHE_KEY (a cosign private key;
 * password from $COSIGN_PASSWORD) is set.
 */
export async function sharedCacheFrom(
  cli: string | undefined,
  log: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): Promise<SharedCache | undefined> {
  const s = settings(env).sharedCache;
  const location = cli ?? s.location;
  if (!location) return undefined;
  const { loadSigningKey, loadVerifyKey } = await import('../crypto/keyfile.ts');
  if (!s.pubkey) {
    throw new OsforgeError('USAGE', `shared cache ${location}: no public key to verify its entries with`, {
      hint: 'set OSFORGE_SHARED_CACHE_PUBKEY to the cosign public key its entries are signed with (osforge keygen makes a pair)',
    });
  }
  const verifyKey = await loadVerifyKey(s.pubkey);
  const signKey = s.key ? (await loadSigningKey({ path: s.key, from: 'OSFORGE_SHARED_CACHE_KEY' }, env)).privateKey : undefined;
  if (!/^https?:\/\//.test(location)) await mkdir(location, { recursive: true });
  return new SharedCache({ location, verifyKey, signKey, log, limits: await sharedCacheLimitsFrom(env) });
}

/**
 * Limits from the environment: $OSFORGE_SHARED_CACHE_MAX_SIZE (default 8G),
 * $OSFORGE_SHARED_CACHE_MAX_ENTRIES (10000), $OSFORGE_SHARED_CACHE_MAX_DEPTH
 * (32), and the download times every HTTP read shares ($OSFORGE_IDLE_TIMEOUT,
 * $OSFORGE_MIN_RATE, $OSFORGE_RATE_WINDOW, $OSFORGE_DOWNLOAD_DEADLINE).
 */
export async function sharedCacheLimitsFrom(env: NodeJS.ProcessEnv = process.env): Promise<SharedCacheLimits> {
  const { limits, sharedCache: c } = settings(env);
  const count = (raw: string | undefined, name: string, fallback: number): number => (raw ? parseCount(raw, `$${name}`) : fallback);
  const time = (name: 'OSFORGE_IDLE_TIMEOUT' | 'OSFORGE_RATE_WINDOW' | 'OSFORGE_DOWNLOAD_DEADLINE', fallback: number): number =>
    limits[name] ? parseDuration(limits[name], `$${name}`) : fallback;
  const t = DEFAULT_HTTP_TIMING;
  const minRate = limits.OSFORGE_MIN_RATE ? parseSize(limits.OSFORGE_MIN_RATE, '$OSFORGE_MIN_RATE') : t.minRateBytesPerSec;
  const timing = {
    idleTimeoutMs: time('OSFORGE_IDLE_TIMEOUT', t.idleTimeoutMs),
    minRateBytesPerSec: minRate,
    rateWindowMs: time('OSFORGE_RATE_WINDOW', t.rateWindowMs),
    deadlineMs: time('OSFORGE_DOWNLOAD_DEADLINE', t.deadlineMs),
  };
  const d = DEFAULT_SHARED_CACHE_LIMITS;
  return {
    maxEntryBytes: c.maxSize ? parseSize(c.maxSize, '$OSFORGE_SHARED_CACHE_MAX_SIZE') : d.maxEntryBytes,
    maxEntries: count(c.maxEntries, 'OSFORGE_SHARED_CACHE_MAX_ENTRIES', d.maxEntries),
    maxDepth: count(c.maxDepth, 'OSFORGE_SHARED_CACHE_MAX_DEPTH', d.maxDepth),
    timing,
  };
}
