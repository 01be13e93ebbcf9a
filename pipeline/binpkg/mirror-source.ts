// Reading a binary mirror: http(s)://, file:// or a plain directory path.
// Every read has a byte cap (a hostile mirror cannot make osforge hold an
// unbounded body), HTTP reads stream with an idle timeout instead of a total
// deadline, and a body cut short is an error, never a short file.
import { createHash, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rm, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OsforgeError } from '../errors.ts';
import { DEFAULT_LIMITS, formatBytes, type Limits } from './limits.ts';
import { parseIndex, type MirrorIndex } from './mirror-index.ts';
import { verifyBlobSignature } from './signature.ts';

export interface GetOptions {
  /** Refuse bodies larger than this (default: the download cap). */
  maxBytes?: number;
  /** The flag or variable that raises `maxBytes`, for the message. */
  limitName?: string;
}

export interface MirrorReader {
  /** What to show the user. */
  readonly display: string;
  readonly limits: Limits;
  /** Fetches `rel` (e.g. "b/bash-5.3-a1b2c3d4-bin.tar.gz"); null when the mirror does not have it. */
  get(rel: string, opts?: GetOptions): Promise<Buffer | null>;
  /** Streams `rel` into a new file `dest` (created exclusively), hashing on the way; null when the mirror does not have it. */
  getToFile(rel: string, dest: string, opts?: GetOptions): Promise<{ size: number; sha256: string } | null>;
  /** A reader for a sub-directory. */
  sub(dir: string): MirrorReader;
}

export function openMirror(url: string, limits: Limits = DEFAULT_LIMITS): MirrorReader {
  if (/^https?:\/\//i.test(url)) return httpMirror(url.replace(/\/+$/, ''), limits);
  if (/^file:\/\//i.test(url)) {
    let path: string;
    try {
      path = fileURLToPath(url);
    } catch (err) {
      throw new OsforgeError('USAGE', `unsupported mirror URL ${JSON.stringify(url)}: ${(err as Error).message}`,
        { hint: 'a file:// URL must name a local path with three slashes (file:///srv/mirror); use http(s):// for another host' });
    }
    return localMirror(path, limits);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    throw new OsforgeError('USAGE', `unsupported mirror URL ${JSON.stringify(url)}: use http://, https://, file:// or a directory path`);
  }
  if (url.trim() === '') throw new OsforgeError('USAGE', 'the mirror URL is empty', { hint: 'pass --mirror-url, or set $BINARY_MIRROR' });
  return localMirror(resolve(url), limits);
}

function checkRel(rel: string): void {
  if (rel.startsWith('/') || rel.split('/').some((s) => s === '..' || s === '')) {
    throw new OsforgeError('USAGE', `refusing mirror path ${JSON.stringify(rel)}`);
  }
}

function tooLarge(where: string, size: number | string, max: number, limitName: string): OsforgeError {
  return new OsforgeError('LIMIT_EXCEEDED', `${where} is larger than the ${formatBytes(max)} limit (${typeof size === 'number' ? `${size} bytes` : size})`,
    { hint: `raise the limit with ${limitName} if the file is genuine; otherwise the mirror is broken or hostile` });
}

class IdleTimeout extends Error {}

/** Where a body goes, chunk by chunk. */
interface Sink {
  write(chunk: Uint8Array): Promise<void> | void;
}

function httpMirror(base: string, limits: Limits): MirrorReader {
  /** Streams one URL into `sink(declaredLength)`; false on 404/410. */
  const fetchInto = async (rel: string, o: GetOptions, sink: (declared: number) => Sink): Promise<boolean> => {
    checkRel(rel);
    const max = o.maxBytes ?? limits.maxDownloadBytes;
    const limitName = o.limitName ?? '--max-download-size / $OSFORGE_MAX_DOWNLOAD_SIZE';
    const url = `${base}/${rel.split('/').map(encodeURIComponent).join('/')}`;
    const ac = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => ac.abort(new IdleTimeout()), limits.idleTimeoutMs);
    };
    const idle = () => new OsforgeError('SOURCE_FETCH', `downloading ${url}: no data for ${limits.idleTimeoutMs / 1000}s (idle timeout)`,
      { hint: 'the mirror stalled; retry, or raise --idle-timeout / $OSFORGE_IDLE_TIMEOUT on a slow link' });
    arm();
    try {
      let res: Response;
      try {
        res = await fetch(url, { signal: ac.signal, redirect: 'follow' });
      } catch (err) {
        if (ac.signal.reason instanceof IdleTimeout) throw idle();
        const cause = (err as Error & { cause?: Error }).cause?.message;
        throw new OsforgeError('SOURCE_FETCH', `downloading ${url}: ${(err as Error).message}${cause ? ` (${cause})` : ''}`, { hint: 'check the mirror URL and your network' }, { cause: err });
      }
      if (res.status === 404 || res.status === 410) {
        await res.body?.cancel().catch(() => {});
        return false;
      }
      if (!res.ok) {
        await res.body?.cancel().catch(() => {});
        throw new OsforgeError('SOURCE_FETCH', `downloading ${url}: HTTP ${res.status} ${res.statusText}`, { hint: 'check the mirror URL; the server refused the request' });
      }
      const declared = Number(res.headers.get('content-length') ?? NaN);
      if (declared > max) {
        await res.body?.cancel().catch(() => {});
        throw tooLarge(url, `${declared} bytes declared`, max, limitName);
      }
      const out = sink(declared);
      let total = 0;
      try {
        for await (const c of res.body ?? []) {
          arm();
          const chunk = c as Uint8Array;
          if (total + chunk.length > max || (Number.isFinite(declared) && total + chunk.length > declared)) {
            ac.abort();
            throw tooLarge(url, `more than ${total + chunk.length} bytes sent`, max, limitName);
          }
          await out.write(chunk);
          total += chunk.length;
        }
      } catch (err) {
        if (err instanceof OsforgeError) throw err;
        if (ac.signal.reason instanceof IdleTimeout) throw idle();
        if ((err as NodeJS.ErrnoException).syscall) throw err; // the sink's own (disk) error
        throw new OsforgeError('SOURCE_FETCH', `downloading ${url}: the body was cut short after ${total}${Number.isFinite(declared) ? ` of ${declared}` : ''} bytes (${(err as Error).message})`,
          { hint: 'the connection dropped or the mirror is truncating files; retry, or check the mirror' }, { cause: err });
      }
      if (Number.isFinite(declared) && total !== declared) {
        throw new OsforgeError('SOURCE_FETCH', `downloading ${url}: the body was cut short after ${total} of ${declared} bytes`,
          { hint: 'the connection dropped or the mirror is truncating files; retry, or check the mirror' });
      }
      return true;
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    display: base,
    limits,
    async get(rel, o = {}) {
      const chunks: Buffer[] = [];
      let into: Buffer | null = null;
      let at = 0;
      // With a declared length the body goes straight into one buffer (no second copy at the end).
      const found = await fetchInto(rel, o, (declared) => {
        into = Number.isFinite(declared) ? Buffer.allocUnsafe(declared) : null;
        return { write: (c) => { if (into) { into.set(c, at); at += c.length; } else chunks.push(Buffer.from(c)); } };
      });
      if (!found) return null;
      return into ?? Buffer.concat(chunks);
    },
    async getToFile(rel, dest, o = {}) {
      const hash = createHash('sha256');
      let size = 0;
      const fh = await open(dest, 'wx', 0o644);
      let ok = false;
      try {
        const found = await fetchInto(rel, o, () => ({ write: async (c) => { hash.update(c); size += c.length; await fh.write(c); } }));
        if (!found) return null;
        ok = true;
        return { size, sha256: hash.digest('hex') };
      } finally {
        await fh.close();
        if (!ok) await rm(dest, { force: true });
      }
    },
    sub(dir) {
      checkRel(dir);
      return httpMirror(`${base}/${dir}`, limits);
    },
  };
}

function localMirror(root: string, limits: Limits): MirrorReader {
  return {
    display: root,
    limits,
    async get(rel, o = {}) {
      checkRel(rel);
      const path = `${root}/${rel}`;
      const max = o.maxBytes ?? limits.maxDownloadBytes;
      try {
        const st = await stat(path);
        if (!st.isFile()) return null;
        if (st.size > max) throw tooLarge(path, st.size, max, o.limitName ?? '--max-download-size / $OSFORGE_MAX_DOWNLOAD_SIZE');
        const fh = await open(path, 'r');
        try {
          // Read at most max+1 bytes, in case the file grows after stat().
          const buf = Buffer.alloc(st.size);
          const { bytesRead } = await fh.read(buf, 0, st.size, 0);
          return buf.subarray(0, bytesRead);
        } finally {
          await fh.close();
        }
      } catch (err) {
        if (err instanceof OsforgeError) throw err;
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return null;
        throw new OsforgeError('SOURCE_FETCH', `reading ${path}: ${code ?? (err as Error).message}`, { hint: 'check the mirror directory and its permissions' }, { cause: err });
      }
    },
    async getToFile(rel, dest, o = {}) {
      checkRel(rel);
      const path = `${root}/${rel}`;
      const max = o.maxBytes ?? limits.maxDownloadBytes;
      let size = 0;
      const hash = createHash('sha256');
      let st;
      try {
        st = await stat(path);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return null;
        throw new OsforgeError('SOURCE_FETCH', `reading ${path}: ${code ?? (err as Error).message}`, { hint: 'check the mirror directory and its permissions' }, { cause: err });
      }
      if (!st.isFile()) return null;
      if (st.size > max) throw tooLarge(path, st.size, max, o.limitName ?? '--max-download-size / $OSFORGE_MAX_DOWNLOAD_SIZE');
      const fh = await open(dest, 'wx', 0o644);
      let ok = false;
      try {
        for await (const c of createReadStream(path)) {
          size += (c as Buffer).length;
          if (size > max) throw tooLarge(path, `more than ${size} bytes`, max, o.limitName ?? '--max-download-size / $OSFORGE_MAX_DOWNLOAD_SIZE');
          hash.update(c as Buffer);
          await fh.write(c as Buffer);
        }
        ok = true;
        return { size, sha256: hash.digest('hex') };
      } finally {
        await fh.close();
        if (!ok) await rm(dest, { force: true });
      }
    },
    sub(dir) {
      checkRel(dir);
      return localMirror(`${root}/${dir}`, limits);
    },
  };
}

export interface LoadedIndex {
  index: MirrorIndex;
  root: MirrorReader;
  /** True when index.json.sig verified against the given key. */
  signed: boolean;
}

/**
 * Loads `index.json` from the mirror root, or from `binaries/index.json` when
 * the URL names the top of a mirror that also carries sources (the seed's
 * recommended layout). Returns the reader rooted where the index was found,
 * or null when there is no index. With `publicKey`, index.json.sig must be
 * a valid signature of index.json, or the index is refused.
 */
export async function loadIndex(mirror: MirrorReader, opts: { publicKey?: KeyObject | string } = {}): Promise<LoadedIndex | null> {
  for (const root of [mirror, mirror.sub('binaries')]) {
    const where = `${root.display}/index.json`;
    const text = await root.get('index.json', { maxBytes: root.limits.maxIndexBytes, limitName: '--max-index-size / $OSFORGE_MAX_INDEX_SIZE' });
    if (!text) continue;
    let signed = false;
    if (opts.publicKey) {
      const sig = await root.get('index.json.sig', { maxBytes: 64 * 1024 });
      if (!sig) {
        throw new OsforgeError('SHA256_MISMATCH', `${where} is not signed (no index.json.sig) but a public key was given`,
          { hint: 'publish the index with `osforge upload --sign-key cosign.key`, or drop the key to use an unsigned mirror' });
      }
      if (!verifyBlobSignature(text, sig.toString('utf8'), opts.publicKey)) {
        throw new OsforgeError('SHA256_MISMATCH', `signature verification failed for ${where}: index.json.sig does not match it for the given public key`,
          { hint: 'the index or its signature was altered, or it was signed with a different key' });
      }
      signed = true;
    }
    return { index: parseIndex(text.toString('utf8'), where), root, signed };
  }
  return null;
}
