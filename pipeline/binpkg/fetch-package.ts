// Downloads one package (through the cache dir) and verifies it: sha256,
// .sha256 metadata, and with a key the signatures of both the bytes (.sig)
// and the metadata (.sha256.sig), so a relabelled package is refused.
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
  const checksumBuf = await root.get(`${rel}.sha256`, { maxBytes: 64 * 1024 });
  if (!checksumBuf) return null;
  const checksumText = checksumBuf.toString('utf8');

  let data: Buffer | null = null;
  let fromCache = false;
  const cachedPath = opts.cacheDir ? join(opts.cacheDir, rel) : undefined;
  if (cachedPath) {
    const cached = await readIfExists(cachedPath).catch(() => null);
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

  const sigBuf = await root.get(`${rel}.sig`, { maxBytes: 64 * 1024 });
  const metaSigBuf = await root.get(`${rel}.sha256.sig`, { maxBytes: 64 * 1024 });
  if ((sigBuf || metaSigBuf) && !opts.publicKey) {
    throw new OsforgeError('USAGE', `${filename} is signed (${where}.${sigBuf ? 'sig' : 'sha256.sig'}) but no public key was given to verify it`,
      { arch: want.arch, hint: 'pass the cosign public key with --key cosign.pub' });
  }
  if (opts.publicKey) {
    // Both signatures are required: the bytes, and the metadata that says which package the bytes are.
    for (const [what, sig, signedData] of [['.sig', sigBuf, data], ['.sha256.sig', metaSigBuf, checksumBuf]] as const) {
      if (!sig) {
        throw new OsforgeError('SHA256_MISMATCH', `${filename} has no signature ${where}${what} but a public key was given`,
          { arch: want.arch, hint: 'the package was published unsigned; sign it with `osforge package --sign-key` and re-upload, or drop --key' });
      }
      if (!verifyBlobSignature(signedData, sig.toString('utf8'), opts.publicKey)) {
        throw new OsforgeError('SHA256_MISMATCH', `signature verification failed for ${filename}: ${where}${what} does not match ${what === '.sig' ? 'the package' : 'its .sha256 metadata'} for the given public key`,
          { arch: want.arch, hint: 'the package or its metadata was altered or relabelled, or it was signed with a different key' });
      }
    }
  }

  if (cachedPath && !fromCache) {
    try {
      await writeFileAtomic(cachedPath, data);
      await writeFileAtomic(`${cachedPath}.sha256`, checksumText);
      if (sigBuf) await writeFileAtomic(`${cachedPath}.sig`, sigBuf);
      if (metaSigBuf) await writeFileAtomic(`${cachedPath}.sha256.sig`, metaSigBuf);
    } catch (err) {
      throw new OsforgeError('HOST_SETUP', `writing the download cache ${cachedPath}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        { arch: want.arch, hint: 'choose a writable --cache-dir' }, { cause: err });
    }
  }
  return { data, checksum, signed: sigBuf !== null, cachedPath, fromCache };
}
