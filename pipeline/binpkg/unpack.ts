// Reading a package archive as a stream (gunzip → tar parser), counting the
// decompressed bytes, so a gzip bomb (a small file that inflates to
// gigabytes) is refused as soon as the cap is passed instead of filling
// memory or disk. Nothing is held whole:
// The package is a Buffer or a file path (streamed from disk).
//   scanPackage     reads the headers only (file contents are counted and
//                   dropped), for the archive policy and collision checks;
//   extractFilesTo  then streams the regular files into a staging tree,
//                   hashing each as it is written.
// Both read the same bytes, so the second pass sees what the first checked;
// it still refuses any entry the first did not list. The entry count and the
// path depth are capped while reading (limits.ts), so a tiny archive of a
// million entries or one 10,000-deep path is refused after the first
// excess header, before anything is held or resolved.
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, fchmodSync, openSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tarStream from 'tar-stream';
import { OsforgeError, wrapError } from '../errors.ts';
import { normalizeEntryPath, type TarEntry } from '../util/tar.ts';
import { installMode } from './archive-policy.ts';
import { DEFAULT_LIMITS, formatBytes, type Limits } from './limits.ts';

/** What reading one archive may cost. */
export type ArchiveCaps = Pick<Limits, 'maxUnpackedBytes' | 'maxEntries' | 'maxPathDepth'>;

/** A bare number is the unpacked-size cap, with the default entry and depth caps. */
function capsOf(caps: number | ArchiveCaps): ArchiveCaps {
  return typeof caps === 'number' ? { ...DEFAULT_LIMITS, maxUnpackedBytes: caps } : caps;
}

type Header = tarStream.Header;
type OnEntry = (header: Header, path: string, body: Readable) => Promise<void>;

/** Streams `data` through gunzip (capped) and the tar parser, calling `onEntry` for each entry in order. */
/** Returns the sha256 of the compressed bytes read, so a file re-read from disk can be checked against what was verified. */
async function walk(data: Buffer | string, capsIn: number | ArchiveCaps, where: string, onEntry: OnEntry): Promise<string> {
  const { maxUnpackedBytes, maxEntries, maxPathDepth } = capsOf(capsIn);
  let entries = 0;
  const compressed = typeof data === 'string' ? statSync(data).size : data.length;
  const bomb = () =>
    new OsforgeError(
      'LIMIT_EXCEEDED',
      `${where} decompresses to more than the ${formatBytes(maxUnpackedBytes)} limit (${compressed} bytes compressed); refused as a possible gzip bomb`,
      { hint: 'raise --max-unpacked-size / $OSFORGE_MAX_UNPACKED_SIZE if the package is genuine; nothing was installed' },
    );
  let total = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      total += chunk.length;
      if (total > maxUnpackedBytes) cb(bomb());
      else cb(null, chunk);
    },
  });
  const extract = tarStream.extract();
  extract.on('entry', (header, body, next) => {
    const stream = body as unknown as Readable;
    // Destroying the parser errors the current entry's stream too; that error is the one already reported.
    stream.on('error', () => {});
    let path: string;
    try {
      path = normalizeEntryPath(header.name);
      if (++entries > maxEntries) {
        throw new OsforgeError('LIMIT_EXCEEDED', `${where} has more than ${maxEntries} entries; refused`, {
          hint: 'raise --max-entries / $OSFORGE_MAX_ENTRIES if the package is genuine; nothing was installed',
        });
      }
      let depth = path === '' ? 0 : 1;
      for (let i = path.indexOf('/'); i >= 0 && depth <= maxPathDepth; i = path.indexOf('/', i + 1)) depth++;
      if (depth > maxPathDepth) {
        throw new OsforgeError(
          'LIMIT_EXCEEDED',
          `refusing archive entry ${JSON.stringify(`${path.slice(0, 80)}...`)} of ${where}: it is more than ${maxPathDepth} directories deep`,
          { hint: 'raise --max-path-depth / $OSFORGE_MAX_PATH_DEPTH if the package is genuine; nothing was installed' },
        );
      }
    } catch (err) {
      extract.destroy(err as Error);
      return;
    }
    onEntry(header, path, stream).then(
      () => next(),
      (err: Error) => extract.destroy(err),
    );
  });
  const gunzip = createGunzip();
  const inputHash = createHash('sha256');
  const tap = new Transform({
    transform(c: Buffer, _e, cb) {
      inputHash.update(c);
      cb(null, c);
    },
  });
  try {
    await pipeline(typeof data === 'string' ? createReadStream(data) : Readable.from([data]), tap, gunzip, counter, extract as unknown as Writable);
    return inputHash.digest('hex');
  } catch (err) {
    if (err instanceof OsforgeError) throw err.code === 'LIMIT_EXCEEDED' ? err : wrapError(err, `reading ${where}`);
    const e = err as NodeJS.ErrnoException;
    if (e.code?.startsWith('Z_') || /header check|unexpected end|invalid (block|distance|stored)|incorrect/i.test(e.message)) {
      throw new OsforgeError(
        'ARCHIVE_UNSAFE',
        `${where} is not a valid gzip file (${e.message})`,
        { hint: 'the package is damaged; re-upload it' },
        { cause: err },
      );
    }
    if (e.code && /^E[A-Z]+$/.test(e.code)) throw err; // filesystem errors from extractFilesTo; the caller names the path
    throw new OsforgeError(
      'ARCHIVE_UNSAFE',
      `${where} is not a valid tar archive (${e.message})`,
      { hint: 'the package is damaged; re-upload it' },
      { cause: err },
    );
  }
}

function checkType(header: Header): TarEntry['type'] {
  const t = header.type;
  if (t !== 'file' && t !== 'directory' && t !== 'symlink' && t !== 'link') {
    throw new OsforgeError('ARCHIVE_UNSAFE', `refusing archive entry ${JSON.stringify(header.name)}: unsupported entry type ${t}`);
  }
  return t;
}

/** Every entry of the package without file contents (data is undefined), in archive order. */
export async function scanPackage(data: Buffer | string, caps: number | ArchiveCaps, where: string): Promise<TarEntry[]> {
  const out: TarEntry[] = [];
  await walk(data, caps, where, async (header, path, body) => {
    const type = checkType(header);
    body.resume();
    await new Promise<void>((res, rej) => {
      body.on('end', res);
      body.on('error', rej);
    });
    if (path === '') return;
    const linkname = type === 'link' && header.linkname ? normalizeEntryPath(header.linkname) : (header.linkname ?? undefined);
    out.push({ path, type, mode: header.mode ?? 0o644, linkname });
  });
  return out;
}

export interface ExtractedFile {
  sha256: string;
  size: number;
}

/**
 * Writes the regular files of the package into `tree` (whose directories
 * already exist), each created exclusively with its mode; returns each
 * file's sha256 and size. Other entry types are left to the caller.
 */
export async function extractFilesTo(
  data: Buffer | string,
  caps: number | ArchiveCaps,
  where: string,
  tree: string,
  expected: ReadonlyMap<string, TarEntry>,
  onFile: () => Promise<void>,
  verifiedSha256?: string,
): Promise<Map<string, ExtractedFile>> {
  const out = new Map<string, ExtractedFile>();
  // Every entry must be in `expected`, which scanPackage capped: a bare size cap adds no count or depth cap here.
  const read = await walk(
    data,
    typeof caps === 'number' ? { maxUnpackedBytes: caps, maxEntries: Infinity, maxPathDepth: Infinity } : caps,
    where,
    async (header, path, body) => {
      const type = checkType(header);
      if (path !== '' && expected.get(path)?.type !== type) {
        throw new OsforgeError('ARCHIVE_UNSAFE', `refusing archive entry ${JSON.stringify(path)}: it was not in the checked listing of ${where}`);
      }
      if (type !== 'file') {
        body.resume();
        await new Promise<void>((res, rej) => {
          body.on('end', res);
          body.on('error', rej);
        });
        return;
      }
      const hash = createHash('sha256');
      let size = 0;
      const dest = join(tree, path);
      // Synchronous writes: most package files are small, and a thread-pool round trip per open, write,
      // chmod and close was most of the time of a 100,000-file package.
      const fd = openSync(dest, 'wx', 0o600);
      try {
        for await (const c of body) {
          const chunk = c as Buffer;
          hash.update(chunk);
          size += chunk.length;
          for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off);
        }
        fchmodSync(fd, installMode('file', header.mode ?? 0o644)); // exact mode, whatever the umask; never o+w
      } finally {
        closeSync(fd);
      }
      out.set(path, { sha256: hash.digest('hex'), size });
      await onFile();
    },
  );
  if (verifiedSha256 !== undefined && read !== verifiedSha256) {
    throw new OsforgeError('ARCHIVE_UNSAFE', `${where} changed on disk while it was being installed (sha256 ${read}, verified ${verifiedSha256})`, {
      hint: 'something else is writing the download cache; retry; nothing was installed',
    });
  }
  return out;
}
