// A tar read from the engine, spooled to disk: headers stay in memory, each
// file's data goes to its own file, so tar-stream.ts's packStream can write
// it again sorted and normalised (the same bytes as packEntries) without
// ever holding an output in memory.
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tarStream from 'tar-stream';
import { normalizeEntryPath } from './tar.ts';
import type { StreamEntry } from './tar-stream.ts';
import { OsforgeError } from '../errors.ts';

/**
 * Reads a tar (e.g. a step's /out from the engine) into `dir`: every file's
 * data to its own file (all-zero 64 KiB blocks left as holes, so disk images
 * stay sparse), the entries returned in archive order with `file` set.
 * `stripPrefix` drops the directory the engine adds ("out/"). The same
 * path checks as readEntries apply.
 */
export async function spoolTar(source: Readable, dir: string, stripPrefix = ''): Promise<StreamEntry[]> {
  await mkdir(dir, { recursive: true });
  const out: StreamEntry[] = [];
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
        out.push({ path, type: 'file', mode: h.mode ?? 0o644, data: { file } });
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
