// Decompressing a package with a cap on the decompressed size, counted while
// streaming (gunzip → tar parser), so a gzip bomb (a small file that
// inflates to gigabytes) is refused as soon as the cap is passed instead of
// filling memory or disk. The tar is never held whole: only its entries are.
import { Readable, Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { OsforgeError, wrapError } from '../errors.ts';
import { readEntries, type TarEntry } from '../util/tar.ts';
import { formatBytes } from './limits.ts';

export async function unpackPackage(data: Buffer, maxUnpackedBytes: number, where: string): Promise<TarEntry[]> {
  const bomb = () => new OsforgeError('LIMIT_EXCEEDED', `${where} decompresses to more than the ${formatBytes(maxUnpackedBytes)} limit (${data.length} bytes compressed); refused as a possible gzip bomb`,
    { hint: 'raise --max-unpacked-size / $OSFORGE_MAX_UNPACKED_SIZE if the package is genuine; nothing was installed' });
  let total = 0;
  const gunzip = createGunzip();
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      total += chunk.length;
      if (total > maxUnpackedBytes) cb(bomb());
      else cb(null, chunk);
    },
  });
  // pipe() does not forward errors, and the tar parser would wait forever for the end: race it with them.
  const failed = new Promise<never>((_, reject) => {
    gunzip.on('error', (err) => {
      reject(new OsforgeError('ARCHIVE_UNSAFE', `${where} is not a valid gzip file (${err.message})`, { hint: 'the package is damaged; re-upload it' }, { cause: err }));
      counter.destroy();
    });
    counter.on('error', (err) => {
      reject(err);
      gunzip.destroy();
    });
  });
  Readable.from([data]).pipe(gunzip).pipe(counter);
  try {
    return await Promise.race([readEntries(counter), failed]);
  } catch (err) {
    const e = err;
    if (e instanceof OsforgeError) throw e.code === 'LIMIT_EXCEEDED' || e.message.startsWith(where) ? e : wrapError(e, `reading ${where}`);
    throw new OsforgeError('ARCHIVE_UNSAFE', `${where} is not a valid tar archive (${(e as Error).message})`, { hint: 'the package is damaged; re-upload it' }, { cause: e });
  }
}
