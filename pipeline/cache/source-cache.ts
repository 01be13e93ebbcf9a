// Verified source archives, laid out by first letter (sources/m/musl-1.2.3.tar.gz),
// as the BuckOS binary mirror is. Entries are written to a temp name and
// renamed only after their sha256 matched, so a killed fetch leaves nothing.
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { fsyncParent, fsyncPath, mapDiskFull } from '../util/durable.ts';
import { join } from 'node:path';
import { sha256File, sha256 } from '../util/hash.ts';
import { OsforgeError } from '../errors.ts';

export function sourceCachePath(root: string, file: string): string {
  return join(root, file[0]!.toLowerCase(), file);
}

/** Returns the path when a cached file exists and matches; evicts (with a message) a corrupt one. */
export async function lookupSource(root: string, file: string, expected: string, log: (m: string) => void): Promise<string | null> {
  const path = sourceCachePath(root, file);
  if (!existsSync(path)) return null;
  const actual = await sha256File(path);
  if (actual === expected) return path;
  log(`source cache entry corrupt, evicting: file=${path} expected=${expected} actual=${actual}`);
  await rm(path, { force: true });
  return null;
}

export function mismatchError(file: string, expected: string, actual: string, from: string): OsforgeError {
  return new OsforgeError('SHA256_MISMATCH', `sha256 mismatch\n  expected: ${expected}\n  actual:   ${actual}\n  file:     ${file} (from ${from})`, {
    stage: 'fetch',
    hint: 'the download is not the pinned file; check images/sources.json or the mirror',
  });
}

/** Verifies `data` against `expected` and stores it atomically; throws SHA256_MISMATCH otherwise. */
export async function storeSource(root: string, file: string, data: Buffer, expected: string, from: string): Promise<string> {
  const actual = sha256(data);
  if (actual !== expected) throw mismatchError(file, expected, actual, from);
  const path = sourceCachePath(root, file);
  await mkdir(join(path, '..'), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  await mapDiskFull(root, data.length, async () => {
    try {
      await writeFile(tmp, data);
      fsyncPath(tmp);
      await rename(tmp, path);
      fsyncParent(path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  });
  return path;
}
