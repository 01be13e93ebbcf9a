// Archives whose file data lives on disk, for outputs too large for memory:
// a tar read from the engine is spooled to files (headers stay in memory,
// data never does), and packStream writes the same bytes as packEntries
// (one normalisation, in tar.ts) while streaming each file's data.
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip, type Gzip } from 'node:zlib';
import { createHash } from 'node:crypto';
import tarStream from 'tar-stream';
import { comparePaths, normalizeEntryPath, normalizeMode, type TarEntry } from './tar.ts';
import { OsforgeError } from '../errors.ts';

/** A tar entry whose content is in memory (`data`), in a file, or a stream of known size. */
export type FileEntry = Omit<TarEntry, 'data'> & { data?: Buffer; file?: string; open?: () => Readable; size?: number };

/** Same bytes as `gzip()` in tar.ts: deflate's output does not depend on how the input is chunked. */
export function gzipStream(): Gzip {
  return createGzip({ level: 9 });
}

/** Sorted, parents synthesised, owners and modes normalised exactly as packEntries does; data streamed. */
export function packStream(entries: readonly FileEntry[], mtime: number): Readable {
  const byPath = new Map<string, FileEntry>();
  for (const e of entries) {
    const path = normalizeEntryPath(e.path);
    if (path !== '') byPath.set(path, { ...e, path });
  }
  for (const path of [...byPath.keys()]) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!byPath.has(dir)) byPath.set(dir, { path: dir, type: 'directory', mode: 0o755 });
    }
  }
  const sorted = [...byPath.values()].sort((a, b) => comparePaths(a.path, b.path));
  const pack = tarStream.pack();
  const date = new Date(mtime * 1000);
  (async () => {
    for (const e of sorted) {
      const size = e.type !== 'file' ? 0 : e.data ? e.data.length : e.size ?? (e.file ? (await stat(e.file)).size : 0);
      const header = {
        name: e.type === 'directory' ? `${e.path}/` : e.path, type: e.type, mode: normalizeMode(e.type, e.mode),
        uid: 0, gid: 0, uname: '', gname: '', mtime: date, linkname: e.linkname, size,
      };
      if (e.type !== 'file' || e.data || size === 0) {
        await new Promise<void>((resolve, reject) => {
          const cb = (err?: Error | null) => (err ? reject(err) : resolve());
          if (e.type === 'file') pack.entry(header, e.data ?? Buffer.alloc(0), cb);
          else pack.entry(header, cb);
        });
        continue;
      }
      const sink = pack.entry(header);
      await pipeline(e.open ? e.open() : createReadStream(e.file!), sink);
    }
    pack.finalize();
  })().catch((err: Error) => pack.destroy(err));
  return pack as unknown as Readable;
}

/**
 * Reads a tar (e.g. a step's /out from the engine) into `dir`: every file's
 * data to its own file (all-zero 64 KiB blocks left as holes, so disk images
 * stay sparse), the entries returned in archive order with `file` set.
 * `stripPrefix` drops the directory the engine adds ("out/"). The same
 * path checks as readEntries apply.
 */
export async function spoolTar(source: Readable, dir: string, stripPrefix = ''): Promise<FileEntry[]> {
  await mkdir(dir, { recursive: true });
  const out: FileEntry[] = [];
  const prefix = stripPrefix ? normalizeEntryPath(stripPrefix) + '/' : '';
  const strip = (p: string) => (prefix && p === prefix.slice(0, -1) ? '' : prefix && p.startsWith(prefix) ? p.slice(prefix.length) : p);
  const extract = tarStream.extract();
  const done = (async () => {
    for await (const entry of extract as AsyncIterable<Readable & { header: tarStream.Header }>) {
      const h = entry.header;
      if (h.type !== 'file' && h.type !== 'directory' && h.type !== 'symlink' && h.type !== 'link') {
        throw new OsforgeError('ARCHIVE_UNSAFE', `refusing archive entry ${JSON.stringify(h.name)}: unsupported entry type ${h.type}`);
      }
      const path = strip(normalizeEntryPath(h.name));
      let linkname = h.linkname ?? undefined;
      if (h.type === 'link' && linkname) linkname = strip(normalizeEntryPath(linkname));
      if (h.type === 'file' && path !== '') {
        const file = join(dir, String(out.length));
        await writeSparse(entry, file, h.size ?? 0);
        out.push({ path, type: 'file', mode: h.mode ?? 0o644, file, size: h.size ?? 0 });
      } else {
        entry.resume();
        await new Promise((r) => entry.on('end', r));
        if (path !== '') out.push({ path, type: h.type, mode: h.mode ?? 0o644, linkname });
      }
    }
  })();
  await Promise.all([pipeline(source, extract), done]);
  return out;
}

async function writeSparse(data: Readable, file: string, size: number, block = 65536): Promise<void> {
  const fh = await open(file, 'w');
  try {
    let pos = 0;
    let pending: Buffer = Buffer.alloc(0);
    const flush = async (buf: Buffer) => {
      if (buf.some((b) => b !== 0)) await fh.write(buf, 0, buf.length, pos);
      pos += buf.length;
    };
    for await (const chunk of data as AsyncIterable<Buffer>) {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= block) {
        await flush(pending.subarray(0, block));
        pending = pending.subarray(block);
      }
    }
    if (pending.length) await flush(pending);
    await fh.truncate(size);
  } finally {
    await fh.close();
  }
}

/** Later layers win on a path, as overlay() does. */
export function overlayFiles(layers: readonly (readonly FileEntry[])[]): FileEntry[] {
  const merged = new Map<string, FileEntry>();
  for (const layer of layers) for (const e of layer) merged.set(e.path, e);
  return [...merged.values()];
}

/** Streams a gzipped tar file's entries to disk under `dir` (for overlays of stored outputs). */
export async function spoolTarGz(file: string, dir: string): Promise<FileEntry[]> {
  return spoolTar(createReadStream(file).pipe(createGunzip()), dir);
}

/** Writes a stream to a file, returning its sha256 and size (hashed while written). */
export async function writeStreamHashed(source: Readable, file: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  const tap = new PassThrough();
  tap.on('data', (c: Buffer) => { hash.update(c); size += c.length; });
  await pipeline(source, tap, createWriteStream(file));
  return { sha256: hash.digest('hex'), size };
}
