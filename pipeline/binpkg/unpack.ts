// Decompressing a package with a cap on the decompressed size, so a gzip
// bomb (a small file that inflates to gigabytes) is refused when the cap is
// reached instead of filling memory or disk.
import { gunzipSync } from 'node:zlib';
import { OsforgeError, wrapError } from '../errors.ts';
import { readEntries, type TarEntry } from '../util/tar.ts';
import { formatBytes } from './limits.ts';

export async function unpackPackage(data: Buffer, maxUnpackedBytes: number, where: string): Promise<TarEntry[]> {
  let tar: Buffer;
  try {
    tar = gunzipSync(data, { maxOutputLength: maxUnpackedBytes });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw new OsforgeError('LIMIT_EXCEEDED', `${where} decompresses to more than the ${formatBytes(maxUnpackedBytes)} limit (${data.length} bytes compressed); refused as a possible gzip bomb`,
        { hint: 'raise --max-unpacked-size / $OSFORGE_MAX_UNPACKED_SIZE if the package is genuine; nothing was installed' });
    }
    throw new OsforgeError('ARCHIVE_UNSAFE', `${where} is not a valid gzip file (${(err as Error).message})`, { hint: 'the package is damaged; re-upload it' }, { cause: err });
  }
  try {
    return await readEntries(tar);
  } catch (err) {
    if (err instanceof OsforgeError) throw wrapError(err, `reading ${where}`);
    throw new OsforgeError('ARCHIVE_UNSAFE', `${where} is not a valid tar archive (${(err as Error).message})`, { hint: 'the package is damaged; re-upload it' }, { cause: err });
  }
}
