// Streaming forms of tar.ts that write the same bytes through disk: only
// paths are held in memory, file data is piped, so a 1 GiB package costs the
// orchestrator no more RSS than a small one (budget: 250 MB).
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, lstatSync } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import tarFs from 'tar-fs';
import tarStream from 'tar-stream';
import { fsyncParent, fsyncPath, mapDiskFull } from './durable.ts';
import { OsforgeError, wrapError } from '../errors.ts';
import { printable } from './printable.ts';
import { appendEntry, comparePaths, entryHeader, GZIP_OPTIONS, headerEntry, withParents, type Entry, type EntryMeta } from './tar.ts';
import { tempPathFor } from './write-atomic.ts';

/** An entry's data as tar-stream's extractor yields it. */
type TarSource = tarStream.Extract extends AsyncIterable<infer S> ? S : never;

/**
 * A TarEntry whose file data may also be a file on disk, or a stream of known
 * size (e.g. a stored .tar.gz gunzipped on the way), read only while packed.
 */
export type StreamEntry = Entry<Buffer | { file: string } | { open: () => Readable; size: number }>;

/** packEntries as a stream. Every path is known before the first byte (the order needs them); data is not. */
export function packStream(entries: AsyncIterable<StreamEntry> | Iterable<StreamEntry>, mtime: number): Readable {
  return packing(async (pack) => {
    const all: StreamEntry[] = [];
    for await (const e of entries) all.push(e);
    for (const { data, ...e } of withParents(all)) {
      if (e.type !== 'file' || !data || Buffer.isBuffer(data)) {
        await appendEntry(pack, e, mtime, Buffer.isBuffer(data) ? data : undefined);
      } else {
        // A file that changes size after the stat fails the entry (tar-stream's "Size mismatch"), never shifts the archive.
        const size = 'file' in data ? (await stat(data.file)).size : data.size;
        await pipeline('file' in data ? createReadStream(data.file) : data.open(), pack.entry(entryHeader(e, size, mtime)));
      }
    }
  });
}

/**
 * The tar packEntries(overlay(layers)) writes, by a k-way merge of gzipped
 * tars that are each in packEntries order: the smallest path goes next, the
 * last layer holding it wins, the others' data is read past. A parent
 * directory in no layer is synthesised where it sorts, which a stream can do
 * only while nothing sorting after it was written ("a-b" sorts between "a"
 * and "a/b"): otherwise ARCHIVE_UNSAFE, as for an unsorted layer.
 */
export function mergeLayers(layerFiles: readonly string[], mtime: number): Readable {
  return packing(async (pack) => {
    const layers = layerFiles.map((f) => new Layer(f));
    try {
      for (const l of layers) await l.advance();
      const written = new Set<string>(); // paths only, as packEntries' Map holds them
      let last = '';
      for (let live = layers.filter((l) => l.head); live.length; live = layers.filter((l) => l.head)) {
        const path = live.map((l) => l.head!.path).reduce((a, b) => (comparePaths(a, b) <= 0 ? a : b));
        const holders = live.filter((l) => l.head!.path === path);
        const winner = holders[holders.length - 1]!;
        for (const dir of ancestors(path)) {
          if (written.has(dir)) continue;
          if (comparePaths(last, dir) >= 0) {
            throw new OsforgeError(
              'ARCHIVE_UNSAFE',
              `cannot merge ${winner.file}: ${JSON.stringify(path)} has a parent ${JSON.stringify(dir)} in no layer, which sorts before the already written ${JSON.stringify(last)}`,
              { hint: 'write layers with packEntries or packStream: they hold every parent directory' },
            );
          }
          await appendEntry(pack, { path: dir, type: 'directory', mode: 0o755 }, mtime);
          written.add(dir);
          last = dir;
        }
        await winner.copyTo(pack, mtime);
        for (const l of holders) await l.advance();
        written.add(path);
        last = path;
      }
    } finally {
      for (const l of layers) l.close();
    }
  });
}

/** `a/b/c` → `a`, `a/b`. */
function* ancestors(path: string): Generator<string> {
  for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) yield path.slice(0, i);
}

/** One gzipped layer, read entry by entry; `head` is the current entry, its data not yet read. */
class Layer {
  head: (EntryMeta & { body: TarSource; read: boolean }) | null = null;
  private readonly extract = tarStream.extract();
  private readonly entries = this.extract[Symbol.asyncIterator]();

  constructor(readonly file: string) {
    // A read or gunzip error destroys the extractor, and so reaches `entries`.
    pipeline(createReadStream(file), createGunzip(), this.extract).catch(() => {});
  }

  /** Moves to the next entry (skipping the current one's data), checking the order. */
  async advance(): Promise<void> {
    try {
      const prev = this.head?.path;
      if (this.head && !this.head.read) await drain(this.head.body);
      this.head = null;
      for (let r = await this.entries.next(); !r.done; r = await this.entries.next()) {
        const e = headerEntry(r.value.header, '');
        if (e.path === '') {
          await drain(r.value);
          continue;
        }
        if (prev !== undefined && comparePaths(prev, e.path) >= 0) {
          throw new OsforgeError('ARCHIVE_UNSAFE', `layer ${this.file} is not sorted: ${JSON.stringify(e.path)} comes after ${JSON.stringify(prev)}`, {
            hint: 'merging streams needs layers in packEntries order; write them with packEntries or packStream',
          });
        }
        this.head = { ...e, body: r.value, read: false };
        return;
      }
    } catch (err) {
      throw layerError(err, this.file);
    }
  }

  async copyTo(pack: tarStream.Pack, mtime: number): Promise<void> {
    const { body, read: _, ...e } = this.head!;
    this.head!.read = true;
    try {
      if (e.type === 'file') await pipeline(body, pack.entry(entryHeader(e, body.header.size ?? 0, mtime)));
      else await Promise.all([drain(body), appendEntry(pack, e, mtime)]);
    } catch (err) {
      throw layerError(err, this.file);
    }
  }

  close(): void {
    this.extract.destroy();
  }
}

async function drain(body: TarSource): Promise<void> {
  for await (const _ of body); // dropped as it arrives
}

/** Names the layer; a damaged gzip or tar is ARCHIVE_UNSAFE, as a damaged package is in binpkg/unpack.ts. */
function layerError(err: unknown, file: string): unknown {
  if (err instanceof OsforgeError) return err.message.includes(file) ? err : wrapError(err, `reading layer ${file}`);
  const e = err as NodeJS.ErrnoException;
  if (e.code?.startsWith('Z_') || /tar header|Unexpected end of data/i.test(e.message ?? '')) {
    return new OsforgeError('ARCHIVE_UNSAFE', `layer ${file} is damaged (${e.message})`, { hint: 'rebuild the layer' }, { cause: err });
  }
  return err;
}

/** A Node Readable of the tar that `fill` appends to; `fill` failing errors the stream. */
function packing(fill: (pack: tarStream.Pack) => Promise<void>): Readable {
  const pack = tarStream.pack();
  fill(pack).then(
    () => pack.finalize(),
    (err: Error) => pack.destroy(err),
  );
  return Readable.from(pack, { objectMode: false });
}

/**
 * gzip() as a Transform, byte for byte whatever the chunking: deflate picks
 * its block boundaries from its own window and symbol buffer, not from write
 * sizes, so Z_NO_FLUSH writes and a final Z_FINISH equal gzipSync's single
 * Z_FINISH call (tested). Never call flush() on it: a sync flush adds bytes.
 */
export function gzipStream(): Transform {
  return createGzip(GZIP_OPTIONS);
}

/**
 * `first` piped through `rest`, as one Readable whose consumer sees an error
 * from any of them (plain .pipe() would leave the consumer waiting forever).
 */
export function chain(first: Readable, ...rest: Transform[]): Readable {
  let out: Readable = first;
  for (const t of rest) {
    out.on('error', (err) => t.destroy(err));
    out = out.pipe(t);
  }
  return out;
}

/**
 * Streams `source`, through `transforms` (e.g. gzipStream()), to `path`
 * while hashing what is written. One pipeline, so an error anywhere fails the
 * write. A temp name beside `path`, fsync, rename, fsync of the directory (as
 * durable.ts commits): `path` is absent, its previous content, or complete.
 */
export async function writeHashed(source: Readable, path: string, ...transforms: Transform[]): Promise<{ sha256: string; size: number }> {
  const tmp = tempPathFor(path);
  const hash = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(c: Buffer, _enc, cb) {
      hash.update(c);
      size += c.length;
      cb(null, c);
    },
  });
  return mapDiskFull(path, undefined, async () => {
    try {
      await mkdir(dirname(path), { recursive: true });
      await pipeline([source, ...transforms, tap, createWriteStream(tmp, { flags: 'wx', mode: 0o644 })]);
      fsyncPath(tmp);
      await rename(tmp, path);
      fsyncParent(path);
      return { sha256: hash.digest('hex'), size };
    } catch (err) {
      source.destroy(); // pipeline did, unless mkdir failed first: a merge must not keep its layers open
      throw err;
    } finally {
      await rm(tmp, { force: true });
    }
  });
}

/** Caps for extractSafe: an archive from outside cannot make extraction do unbounded work. */
export interface ExtractLimits {
  /** Most entries (files, directories, links) accepted. */
  maxEntries: number;
  /** Most path components in one entry name. */
  maxDepth: number;
  /** Refuse symlinks and hardlinks too: only regular files and directories (a stage-store entry has nothing else). */
  filesAndDirsOnly: boolean;
}

export const DEFAULT_EXTRACT_LIMITS: ExtractLimits = { maxEntries: 1_000_000, maxDepth: 64, filesAndDirsOnly: false };

/**
 * Extracts a tar into `dir` with tar-fs, which already refuses writing
 * through a symlinked parent, hardlinks leaving `dir` and unknown types, and
 * replaces (never follows) a symlink where a file goes. Added here: "..",
 * absolute names and devices are refused (tar-fs would clamp or skip them),
 * and so is a directory entry on a symlink (tar-fs would chmod its target).
 * Symlinks may point anywhere: a rootfs has absolute ones, unless
 * `filesAndDirsOnly`. umask 022 so the modes do not depend on the caller's
 * umask (as in tools-cache.ts). The entry count and each name's depth are
 * capped before the entry is looked at further: tar-fs checks every parent
 * of every entry, so work is entries x depth, linear once depth is bounded.
 */
export async function extractSafe(source: Readable, dir: string, limits: Partial<ExtractLimits> = {}): Promise<void> {
  const { maxEntries, maxDepth, filesAndDirsOnly } = { ...DEFAULT_EXTRACT_LIMITS, ...limits };
  const extract = tarStream.extract();
  // Refusing destroys the parser, which errors the current entry too; the parser's error is the one reported.
  extract.on('entry', (_header, body) => body.on('error', () => {}));
  await mkdir(dir, { recursive: true });
  let entries = 0;
  const ignore = (_name: string, header?: tarFs.Headers): boolean => {
    try {
      const name = header?.name ?? '';
      if (++entries > maxEntries) {
        throw new OsforgeError('LIMIT_EXCEEDED', `refusing archive: more than ${maxEntries} entries`, {
          hint: 'the archive is not what osforge writes: check where it came from',
        });
      }
      let depth = 1;
      for (let i = name.indexOf('/'); i !== -1 && i < name.length - 1; i = name.indexOf('/', i + 1)) depth++;
      if (depth > maxDepth) {
        throw new OsforgeError(
          'LIMIT_EXCEEDED',
          `refusing archive entry ${JSON.stringify(printable(name.slice(0, 120)))}...: more than ${maxDepth} path components`,
          { hint: 'the archive is not what osforge writes: check where it came from' },
        );
      }
      const e = headerEntry(header as unknown as tarStream.Header, '');
      if (filesAndDirsOnly && e.type !== 'file' && e.type !== 'directory') {
        throw new OsforgeError(
          'ARCHIVE_UNSAFE',
          `refusing archive entry ${JSON.stringify(printable(e.path))}: a ${e.type === 'link' ? 'hardlink' : e.type}, where only files and directories belong`,
        );
      }
      if (e.type === 'directory' && e.path !== '' && lstatSync(join(dir, e.path), { throwIfNoEntry: false })?.isSymbolicLink()) {
        throw new OsforgeError('ARCHIVE_UNSAFE', `refusing archive entry ${JSON.stringify(e.path)}: a directory over a symlink`);
      }
      return false;
    } catch (err) {
      extract.destroy(err as Error); // synchronous, before tar-fs touches the filesystem for this entry
      return true;
    }
  };
  const options = { extract, ignore, validateSymlinks: false, umask: 0o022 };
  try {
    await pipeline(source, tarFs.extract(dir, options as tarFs.ExtractOptions));
  } catch (err) {
    // tar-fs's own refusals are plain Errors: "<path> is not a valid path|symlink|hardlink", "unsupported type".
    const message = (err as Error).message ?? '';
    if (err instanceof OsforgeError || !/is not a valid|unsupported type/.test(message)) throw err;
    throw new OsforgeError('ARCHIVE_UNSAFE', `refusing to extract into ${dir}: ${message}`, {}, { cause: err });
  }
}
