// Downloads one package (through the cache dir) and verifies it: sha256,
// .sha256 metadata, and the cosign signature when there is one.
import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OsforgeError } from '../errors.ts';
import { writeFileAtomic } from '../util/write-atomic.ts';
import { sha256 } from '../util/hash.ts';
import type { ChecksumFile } from './checksum-file.ts';
import { binaryFilename, mirrorPath } from './naming.ts';
import type { MirrorReader } from './mirror-source.ts';
import { verifyBlobSignature } from './signature.ts';
import { verifyPackage, type Expected } from './verify.ts';

export interface FetchedPackage {
  data: Buffer;
  checksum: ChecksumFile;
  signed: boolean;
  /** Where the verified package sits in the cache dir, when one was given. */
  cachedPath?: string;
  fromCache: boolean;
}

async function readIfExists(p: string): Promise<Buffer | null> {
  try {
    return await readFile(p);
  } catch {
    return null;
  }
}

/**
 * Fetches `want` from `root` (a mirror reader rooted at the directory that
 * holds index.json and the letter directories). Returns null when the mirror
 * has no such package. Throws SHA256_MISMATCH on any verification failure.
 * With `publicKey`, an unsigned package is refused; without it, a signed
 * package is refused too, since its signature could not be checked.
 */
export async function fetchPackage(root: MirrorReader, want: Expected, opts: { cacheDir?: string; publicKey?: KeyObject | string }): Promise<FetchedPackage | null> {
  const filename = binaryFilename(want.name, want.version, want.configHash);
  const rel = mirrorPath(want.name, filename);
  const where = `${root.display}/${rel}`;
  const checksumBuf = await root.get(`${rel}.sha256`);
  if (!checksumBuf) return null;
  const checksumText = checksumBuf.toString('utf8');

  let data: Buffer | null = null;
  let fromCache = false;
  const cachedPath = opts.cacheDir ? join(opts.cacheDir, rel) : undefined;
  if (cachedPath) {
    const cached = await readIfExists(cachedPath);
    const expectedSha = /^([0-9a-f]{64}) /.exec(checksumText)?.[1];
    if (cached && expectedSha && sha256(cached) === expectedSha) {
      data = cached;
      fromCache = true;
    }
  }
  if (!data) {
    data = await root.get(rel);
    if (!data) {
      throw new OsforgeError('SOURCE_FETCH', `${where}.sha256 exists but ${where} does not`, { arch: want.arch, hint: 're-upload the package; the mirror is incomplete' });
    }
  }
  const checksum = verifyPackage(data, checksumText, want, where);

  const sigBuf = await root.get(`${rel}.sig`);
  if (sigBuf && !opts.publicKey) {
    throw new OsforgeError('USAGE', `${filename} is signed (${where}.sig) but no public key was given to verify it`,
      { arch: want.arch, hint: 'pass the cosign public key with --key cosign.pub' });
  }
  if (opts.publicKey) {
    if (!sigBuf) {
      throw new OsforgeError('SHA256_MISMATCH', `${filename} has no signature (${where}.sig) but a public key was given`,
        { arch: want.arch, hint: 'the package was published unsigned; sign it with `cosign sign-blob` and re-upload, or drop --key' });
    }
    if (!verifyBlobSignature(data, sigBuf.toString('utf8'), opts.publicKey)) {
      throw new OsforgeError('SHA256_MISMATCH', `signature verification failed for ${filename}: ${where}.sig does not match the package for the given public key`,
        { arch: want.arch, hint: 'the package or its signature was altered, or it was signed with a different key' });
    }
  }

  if (cachedPath && !fromCache) {
    await writeFileAtomic(cachedPath, data);
    await writeFileAtomic(`${cachedPath}.sha256`, checksumText);
    if (sigBuf) await writeFileAtomic(`${cachedPath}.sig`, sigBuf);
  }
  return { data, checksum, signed: sigBuf !== null, cachedPath, fromCache };
}
