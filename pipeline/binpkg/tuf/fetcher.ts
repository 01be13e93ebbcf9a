// tuf-js reads metadata through a Fetcher; this one goes through osforge's
// own bounded MirrorReader (http(s)://, file://, a directory), so TUF works
// on every kind of mirror with the same caps: each file is refused past the
// max length tuf-js passes for its role, nested JSON is refused before
// tuf-js parses it, and each read has a total deadline (slow retrieval). A
// missing file is tuf-js's 404, which ends the root-rotation walk.
import { Readable } from 'node:stream';
import { BaseFetcher } from 'tuf-js';
import { DownloadHTTPError } from 'tuf-js/dist/error.js';
import { OsforgeError } from '../../errors.ts';
import { assertJsonDepth } from '../../util/json-bounded.ts';
import type { MirrorReader } from '../mirror-source.ts';

/** The base URL tuf-js joins metadata names onto; only ever parsed back here, never fetched. */
export const METADATA_BASE = 'osforge-mirror:/';

/** One metadata file through the reader: capped at `maxLength`, and refused when not complete within `deadlineMs` (slow retrieval). */
export async function readMetadata(reader: MirrorReader, name: string, maxLength: number, deadlineMs: number): Promise<Buffer | null> {
  let timer: NodeJS.Timeout | undefined;
  const read = reader.get(name, { maxBytes: maxLength, limitName: `TUF's ${maxLength}-byte limit for ${name}` });
  const slow = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new OsforgeError('SOURCE_FETCH', `reading ${reader.display}/${name}: not complete after ${deadlineMs / 1000}s (slow retrieval)`, {
            hint: 'the mirror is too slow or is stalling on purpose; retry later or use another mirror',
          }),
        ),
      deadlineMs,
    );
  });
  read.catch(() => {}); // after the deadline the read is abandoned; the reader's own idle timeout ends it
  try {
    return await Promise.race([read, slow]);
  } finally {
    clearTimeout(timer);
  }
}

export class MirrorFetcher extends BaseFetcher {
  /** The last osforge error a read raised: tuf-js wraps errors into strings, the caller rethrows this one instead. */
  lastError: OsforgeError | undefined;
  /** The metadata file that raised lastError. */
  lastErrorName: string | undefined;
  /** What each metadata file held when it was read, for messages naming versions and dates. */
  readonly seen = new Map<string, Buffer>();

  constructor(
    private readonly reader: MirrorReader,
    private readonly deadlineMs: number,
  ) {
    super();
  }

  private nameOf(url: string): string {
    if (!url.startsWith(METADATA_BASE)) throw new Error(`unexpected metadata URL ${url}`);
    return decodeURIComponent(url.slice(METADATA_BASE.length));
  }

  override async downloadBytes(url: string, maxLength: number): Promise<Buffer> {
    const name = this.nameOf(url);
    try {
      const data = await readMetadata(this.reader, name, maxLength, this.deadlineMs);
      if (data === null) throw new DownloadHTTPError(`${name} not found`, 404);
      assertJsonDepth(data.toString('utf8'), `${this.reader.display}/${name}`);
      this.seen.set(name, data);
      return data;
    } catch (err) {
      if (err instanceof OsforgeError) {
        this.lastError = err;
        this.lastErrorName = name;
      }
      throw err;
    }
  }

  override async downloadFile<T>(url: string, maxLength: number, handler: (file: string) => Promise<T>): Promise<T> {
    void url;
    void maxLength;
    void handler;
    throw new Error('osforge downloads targets itself (fetch-package.ts), bounded by their TUF length');
  }

  override fetch(): Promise<NodeJS.ReadableStream> {
    return Promise.resolve(Readable.from([]));
  }
}
