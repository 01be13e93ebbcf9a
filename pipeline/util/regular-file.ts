// Reading a file that someone else may have placed: a release's SHA256SUMS
// entry, a directory cache's entry, a tools-cache index. The path is opened
// with O_NOFOLLOW|O_NONBLOCK, so a symlink fails instead of being followed
// and a FIFO cannot block the open, and the open descriptor must be a regular
// file (no device, FIFO or socket): /dev/zero can no longer hang a reader.
// Size is checked on the descriptor, so a swap between check and read is no help.
import { constants, createReadStream, type ReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { OsforgeError } from '../errors.ts';

const FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** Opens `path` as a regular file no larger than `maxBytes`; the caller closes the handle. */
export async function openRegularFile(path: string, what: string, maxBytes: number): Promise<{ handle: FileHandle; size: number }> {
  let handle: FileHandle;
  try {
    handle = await open(path, FLAGS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'EMLINK') {
      throw new OsforgeError('ARCHIVE_UNSAFE', `${what} is a symlink (${path}); refused`, { hint: 'replace it with the regular file itself' }, { cause: err });
    }
    throw err;
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) {
      throw new OsforgeError('ARCHIVE_UNSAFE', `${what} is not a regular file (${path}); refused`, {
        hint: 'only regular files are read here: no devices, FIFOs or sockets',
      });
    }
    if (st.size > maxBytes) {
      throw new OsforgeError('LIMIT_EXCEEDED', `${what} is ${st.size} bytes, over the ${maxBytes}-byte limit (${path})`, {
        hint: 'the file is not what osforge writes: check where it came from',
      });
    }
    return { handle, size: st.size };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** Reads a whole regular file (see openRegularFile) into memory. */
export async function readRegularFile(path: string, what: string, maxBytes: number): Promise<Buffer> {
  const { handle, size } = await openRegularFile(path, what, maxBytes);
  try {
    const buf = Buffer.alloc(size);
    let off = 0;
    while (off < size) {
      const { bytesRead } = await handle.read(buf, off, size - off, off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    return off === size ? buf : buf.subarray(0, off);
  } finally {
    await handle.close();
  }
}

/** A read stream over a regular file (see openRegularFile); it closes the handle when done. */
export async function streamRegularFile(path: string, what: string, maxBytes: number): Promise<{ stream: ReadStream; size: number }> {
  const { handle, size } = await openRegularFile(path, what, maxBytes);
  if (size === 0) {
    await handle.close();
    return { stream: createReadStream('/dev/null'), size };
  }
  // end bounds the read to the size checked, even if the file grows meanwhile.
  return { stream: createReadStream('', { fd: handle, end: Math.max(0, size - 1), start: 0, autoClose: true }), size };
}
