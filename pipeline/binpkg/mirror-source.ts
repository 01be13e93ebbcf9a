// Reading a binary mirror: http(s)://, file:// or a plain directory path.
// Every read has a byte cap (a hostile mirror cannot make osforge hold an
// unbounded body), or the exact length verified metadata states. HTTP reads
// go through util/http-read.ts (idle timeout, minimum rate, total deadline,
// gzip decoded under the cap); local reads open regular files only, so a
// FIFO, a device or a symlink where a file is expected is refused, never
// followed or waited on. A body cut short is an error, never a short file.
import { createHash, type KeyObject } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OsforgeError } from '../errors.ts';
import { httpRead, tooLarge } from '../util/http-read.ts';
import { printable } from '../util/printable.ts';
import { openRegularFile } from '../util/regular-file.ts';
import { DEFAULT_LIMITS, type Limits } from './limits.ts';
import { BYTES_PER_INDEX_VALUE, parseIndex, type MirrorIndex } from './mirror-index.ts';
import { verifyBlobSignature } from './signature.ts';

export interface GetOptions {
  /** Refuse bodies larger than this (default: the download cap). */
  maxBytes?: number;
  /** The flag or variable that raises `maxBytes`, for the message. */
  limitName?: string;
  /**
   * The body must be exactly this many bytes (the size a verified index
   * states): a longer one is refused at byte exactBytes+1, a shorter one is
   * cut short. Takes the place of `maxBytes`.
   */
  exactBytes?: number;
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

/** Largest index.json.sig accepted: a base64 DER ECDSA signature is under 100 bytes. */
export const MAX_SIGNATURE_BYTES = 64 * 1024;

const DOWNLOAD_LIMIT_NAME = '--max-download-size / $OSFORGE_MAX_DOWNLOAD_SIZE';

export function openMirror(url: string, limits: Limits = DEFAULT_LIMITS): MirrorReader {
  if (/^https?:\/\//i.test(url)) return httpMirror(url.replace(/\/+$/, ''), limits);
  if (/^file:\/\//i.test(url)) {
    let path: string;
    try {
      path = fileURLToPath(url);
    } catch (err) {
      throw new OsforgeError('USAGE', `unsupported mirror URL ${JSON.stringify(url)}: ${(err as Error).message}`, {
        hint: 'a file:// URL must name a local path with three slashes (file:///srv/mirror); use http(s):// for another host',
      });
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

/** The cap and the name of what raises it, for one read. */
function capOf(o: GetOptions, limits: Limits): { max: number; limitName: string } {
  return { max: o.exactBytes ?? o.maxBytes ?? limits.maxDownloadBytes, limitName: o.limitName ?? DOWNLOAD_LIMIT_NAME };
}

function httpMirror(base: string, limits: Limits): MirrorReader {
  /** Streams one URL into `sink(declaredLength)`; false on 404/410. */
  const fetchInto = (rel: string, o: GetOptions, sink: Parameters<typeof httpRead>[2]): Promise<boolean> => {
    checkRel(rel);
    const { max, limitName } = capOf(o, limits);
    const url = `${base}/${rel.split('/').map(encodeURIComponent).join('/')}`;
    return httpRead(url, { maxBytes: max, limitName, timing: limits, exactBytes: o.exactBytes }, sink);
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
        return {
          write: (c) => {
            if (into) {
              into.set(c, at);
              at += c.length;
            } else chunks.push(Buffer.from(c));
          },
        };
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
        const found = await fetchInto(rel, o, () => ({
          write: async (c) => {
            hash.update(c);
            size += c.length;
            await fh.write(c);
          },
        }));
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

/** Opens a mirror file: null when absent; refused when it is no regular file, over the cap, or not the exact size. */
async function openMirrorFile(path: string, o: GetOptions, limits: Limits) {
  const { max, limitName } = capOf(o, limits);
  let opened;
  try {
    opened = await openRegularFile(path, `mirror file ${printable(path)}`, Number.MAX_SAFE_INTEGER);
  } catch (err) {
    if (err instanceof OsforgeError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw new OsforgeError(
      'SOURCE_FETCH',
      `reading ${printable(path)}: ${code ?? (err as Error).message}`,
      { hint: 'check the mirror directory and its permissions' },
      { cause: err },
    );
  }
  const fail = async (e: OsforgeError) => {
    await opened.handle.close();
    throw e;
  };
  if (opened.size > max) return fail(tooLarge(printable(path), opened.size, max, limitName));
  if (o.exactBytes !== undefined && opened.size !== o.exactBytes) {
    return fail(
      new OsforgeError('SOURCE_FETCH', `reading ${printable(path)}: the file is ${opened.size} bytes, but the verified size is ${o.exactBytes}`, {
        hint: 'the mirror holds a different file than the signed metadata names; re-upload the package',
      }),
    );
  }
  return opened;
}

function localMirror(root: string, limits: Limits): MirrorReader {
  return {
    display: root,
    limits,
    async get(rel, o = {}) {
      checkRel(rel);
      const opened = await openMirrorFile(`${root}/${rel}`, o, limits);
      if (!opened) return null;
      try {
        // Reads at most the size checked, even if the file grows meanwhile.
        const buf = Buffer.alloc(opened.size);
        let off = 0;
        while (off < opened.size) {
          const { bytesRead } = await opened.handle.read(buf, off, opened.size - off, off);
          if (bytesRead === 0) break;
          off += bytesRead;
        }
        return buf.subarray(0, off);
      } finally {
        await opened.handle.close();
      }
    },
    async getToFile(rel, dest, o = {}) {
      checkRel(rel);
      const opened = await openMirrorFile(`${root}/${rel}`, o, limits);
      if (!opened) return null;
      let size = 0;
      const hash = createHash('sha256');
      let ok = false;
      let fh;
      try {
        fh = await open(dest, 'wx', 0o644);
        const buf = Buffer.allocUnsafe(1024 * 1024);
        while (size < opened.size) {
          const { bytesRead } = await opened.handle.read(buf, 0, Math.min(buf.length, opened.size - size), size);
          if (bytesRead === 0) break;
          hash.update(buf.subarray(0, bytesRead));
          await fh.write(buf.subarray(0, bytesRead));
          size += bytesRead;
        }
        ok = true;
        return { size, sha256: hash.digest('hex') };
      } finally {
        await opened.handle.close();
        await fh?.close();
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
      const sig = await root.get('index.json.sig', { maxBytes: MAX_SIGNATURE_BYTES, limitName: 'nothing (a signature is under 100 bytes)' });
      if (!sig) {
        throw new OsforgeError('SHA256_MISMATCH', `${where} is not signed (no index.json.sig) but a public key was given`, {
          hint: 'publish the index with `osforge upload --sign-key cosign.key`, or drop the key to use an unsigned mirror',
        });
      }
      if (!verifyBlobSignature(text, sig.toString('utf8'), opts.publicKey)) {
        throw new OsforgeError('SHA256_MISMATCH', `signature verification failed for ${where}: index.json.sig does not match it for the given public key`, {
          hint: 'the index or its signature was altered, or it was signed with a different key',
        });
      }
      signed = true;
    }
    return { index: parseIndex(text.toString('utf8'), where, Math.max(1, Math.floor(root.limits.maxIndexBytes / BYTES_PER_INDEX_VALUE))), root, signed };
  }
  return null;
}
