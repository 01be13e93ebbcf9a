// Deterministic tar handling. Every archive osforge writes goes through
// `packEntries`, so ordering, ownership, modes and mtimes are normalised in
// exactly one place (issue: reproducible dist/).
import { gzipSync, gunzipSync } from 'node:zlib';
import type { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import { OsforgeError } from '../errors.ts';

export type EntryType = 'file' | 'directory' | 'symlink' | 'link';

export interface TarEntry {
  /** Relative POSIX path without a leading "./" or "/"; directories without a trailing slash. */
  path: string;
  type: EntryType;
  /** Permission bits only; normalised on pack. */
  mode: number;
  data?: Buffer;
  /** Target of a symlink or hardlink. */
  linkname?: string;
}

/** Rejects absolute paths and ".." segments: an archive must not escape its root. */
export function normalizeEntryPath(raw: string): string {
  let p = raw.replace(/\\/g, '/');
  if (p.startsWith('/')) throw unsafe(raw, 'absolute path');
  p = p
    .replace(/^(\.\/)+/, '')
    .replace(/\/+$/, '')
    .replace(/\/{2,}/g, '/');
  if (p === '.' || p === '') return '';
  const parts = p.split('/');
  if (parts.some((s) => s === '..')) throw unsafe(raw, '".." segment');
  return parts.filter((s) => s !== '.').join('/');
}

function unsafe(path: string, why: string): OsforgeError {
  return new OsforgeError('ARCHIVE_UNSAFE', `refusing archive entry ${JSON.stringify(path)}: ${why}`);
}

/** Normalised permission bits: 0755 for dirs and executables, 0644 otherwise, 0777 for symlinks. */
export function normalizeMode(type: EntryType, mode: number): number {
  if (type === 'directory') return 0o755;
  if (type === 'symlink') return 0o777;
  return mode & 0o111 ? 0o755 : 0o644;
}

/** Byte-wise (locale-independent) path order. */
export function comparePaths(a: string, b: string): number {
  // UTF-8 byte order is code point order; below U+D800 that is UTF-16 code unit order, so compare
  // in place and encode only when the first difference involves a surrogate or a higher unit.
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca === cb) continue;
    if (ca < 0xd800 && cb < 0xd800) return ca < cb ? -1 : 1;
    return Buffer.compare(Buffer.from(a), Buffer.from(b));
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** An entry without its data: all that its place and header depend on. */
export type EntryMeta = Omit<TarEntry, 'data'>;
/** An entry whose data is `D`: a Buffer here, possibly a file on disk in tar-stream.ts. */
export type Entry<D> = EntryMeta & { data?: D };

/**
 * What packEntries writes, in its order: normalised paths, the last entry
 * for a path, a 0755 directory for every missing parent, in byte order.
 */
export function withParents<D>(entries: Iterable<Entry<D>>): Entry<D>[] {
  const byPath = new Map<string, Entry<D>>();
  for (const e of entries) {
    const path = normalizeEntryPath(e.path);
    if (path === '') continue;
    byPath.set(path, { ...e, path });
  }
  // Up from each path only to the first directory already walked: linear, where rebuilding every ancestor was depth^2 per entry.
  const walked = new Set<string>();
  for (const path of [...byPath.keys()]) {
    for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) {
      const dir = path.slice(0, i);
      if (walked.has(dir)) break;
      walked.add(dir);
      if (!byPath.has(dir)) byPath.set(dir, { path: dir, type: 'directory', mode: 0o755 });
    }
  }
  return [...byPath.values()].sort((a, b) => comparePaths(a.path, b.path));
}

/** The normalised header of `e` (uid/gid 0, no names, mtime = `mtime`) with `size` bytes of data. */
export function entryHeader(e: EntryMeta, size: number, mtime: number): Parameters<tarStream.Pack['entry']>[0] {
  return {
    name: e.type === 'directory' ? `${e.path}/` : e.path,
    type: e.type,
    mode: normalizeMode(e.type, e.mode),
    uid: 0,
    gid: 0,
    uname: '',
    gname: '',
    mtime: new Date(mtime * 1000),
    linkname: e.linkname,
    size: e.type === 'file' ? size : 0,
  };
}

/** Appends `e` to `pack` with `data` in memory (a non-file has none). */
export function appendEntry(pack: tarStream.Pack, e: EntryMeta, mtime: number, data?: Buffer): Promise<void> {
  const header = entryHeader(e, data?.length ?? 0, mtime);
  return new Promise<void>((resolve, reject) => {
    const cb = (err?: Error | null) => (err ? reject(err) : resolve());
    if (e.type === 'file') pack.entry(header, data ?? Buffer.alloc(0), cb);
    else pack.entry(header, cb);
  });
}

/**
 * Packs entries into an uncompressed tar: sorted, uid/gid 0, no user/group
 * names, every mtime = `mtime` (SOURCE_DATE_EPOCH). Parent directories are
 * synthesised so extractors never invent their own modes.
 */
export async function packEntries(entries: readonly TarEntry[], mtime: number): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  for (const e of withParents(entries)) await appendEntry(pack, e, mtime, e.data);
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** The one gzip setting: gzipStream (tar-stream.ts) must use it too to write the same bytes. */
export const GZIP_OPTIONS = { level: 9 } as const;

/** gzip with a fixed header: Node's zlib writes mtime 0 and no file name. */
export function gzip(data: Buffer): Buffer {
  return gzipSync(data, GZIP_OPTIONS);
}

export function gunzip(data: Buffer): Buffer {
  return gunzipSync(data);
}

/** The checked entry of a read header, `prefix` ("out/" or "") stripped; path "" is the archive root. */
export function headerEntry(header: tarStream.Header, prefix: string): EntryMeta {
  let path = normalizeEntryPath(header.name);
  if (prefix) {
    if (path === prefix.slice(0, -1)) path = '';
    else if (path.startsWith(prefix)) path = path.slice(prefix.length);
  }
  const type = header.type;
  if (type !== 'file' && type !== 'directory' && type !== 'symlink' && type !== 'link') {
    throw unsafe(header.name, `unsupported entry type ${type}`);
  }
  let linkname = header.linkname ?? undefined;
  if (type === 'link' && linkname) {
    linkname = normalizeEntryPath(linkname);
    if (prefix && linkname.startsWith(prefix)) linkname = linkname.slice(prefix.length);
  }
  return { path, type, mode: header.mode ?? 0o644, linkname };
}

/**
 * Reads a tar stream into entries. `stripPrefix` drops the leading directory
 * Docker's getArchive adds (e.g. "out/"). Device nodes and fifos are refused:
 * nothing osforge builds should contain them.
 */
export async function readEntries(source: Readable | Buffer, stripPrefix = ''): Promise<TarEntry[]> {
  const extract = tarStream.extract();
  const out: TarEntry[] = [];
  const prefix = stripPrefix ? normalizeEntryPath(stripPrefix) + '/' : '';
  const finished = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c) => chunks.push(c as Buffer));
      stream.on('error', reject);
      stream.on('end', () => {
        try {
          const e = headerEntry(header, prefix);
          if (e.path !== '') {
            out.push({ path: e.path, type: e.type, mode: e.mode, data: e.type === 'file' ? Buffer.concat(chunks) : undefined, linkname: e.linkname });
          }
          next();
        } catch (err) {
          reject(err);
        }
      });
      stream.resume();
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  if (Buffer.isBuffer(source)) extract.end(source);
  else source.pipe(extract);
  await finished;
  return out;
}

/** Merges layers of entries; later layers win on path conflicts (package overlay order). */
export function overlay(layers: readonly (readonly TarEntry[])[]): TarEntry[] {
  const merged = new Map<string, TarEntry>();
  for (const layer of layers) for (const e of layer) merged.set(e.path, e);
  return [...merged.values()];
}
