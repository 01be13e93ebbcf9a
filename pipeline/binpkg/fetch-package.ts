// Downloads one package and verifies it: sha256, .sha256 metadata, and with
// a key the signatures of both the bytes (.sig) and the metadata
// (.sha256.sig), so a relabelled package is refused. With a cache dir the
// package is streamed to disk (a temp name beside its cache path, hashed on
// the way), verified there and only then renamed into the cache: it is
// never held whole in memory. Without one, it is read into memory (capped).
// From a TUF mirror, the .sha256 and the package are TUF targets: each is
// read only up to the length the verified targets metadata states and must
// have its sha256; the cosign .sig files are then not needed.
import { randomBytes, type KeyObject } from 'node:crypto';
import { statSync } from 'node:fs';
import { rename, rm, rmdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { OsforgeError } from '../errors.ts';
import { decodeSigFile, verifyFile } from '../crypto/blob.ts';
import { writeFileAtomic } from '../util/write-atomic.ts';
import { sha256, sha256File } from '../util/hash.ts';
import type { ChecksumFile } from './checksum-file.ts';
import { binaryFilename, mirrorPath } from './naming.ts';
import type { MirrorReader } from './mirror-source.ts';
import { mkdirs } from './prefix-paths.ts';
import { toPublicKey, verifyBlobSignature } from './signature.ts';
import { verifyPackage, type Expected } from './verify.ts';
import type { TargetDesc } from './tuf/repository.ts';

/** The TUF targets of a package and of its .sha256 (lengths and hashes from verified targets metadata). */
export interface TufTargets {
  file: TargetDesc;
  checksum: TargetDesc;
}

function notTarget(where: string, what: string, t: TargetDesc, actual: { length: number; sha256: string }, arch: string): OsforgeError {
  return new OsforgeError(
    'SIGNATURE_INVALID',
    `${where}: ${what} does not match its TUF target: targets.json states ${t.length} bytes, sha256 ${t.sha256}; got ${actual.length} bytes, sha256 ${actual.sha256}`,
    {
      arch,
      hint: 'the mirror serves other bytes than it signed (tampering, or an upload in progress); nothing was installed; retry, or re-publish the package',
    },
  );
}

export interface FetchedPackage {
  /** The verified bytes, when no cache dir was given. */
  data?: Buffer;
  /** The verified file in the cache dir, when one was given. */
  cachedPath?: string;
  size: number;
  checksum: ChecksumFile;
  signed: boolean;
  fromCache: boolean;
}

/** The package as a Buffer or a path, for unpack.ts. */
export function packageSource(got: FetchedPackage): Buffer | string {
  return got.data ?? got.cachedPath!;
}

async function sha256IfExists(p: string): Promise<string | null> {
  try {
    return await sha256File(p);
  } catch {
    return null;
  }
}

async function fileSignatureOk(path: string, sigText: string, key: KeyObject | string): Promise<boolean> {
  let sig: Buffer;
  try {
    sig = decodeSigFile(sigText);
  } catch {
    return false;
  }
  return (await verifyFile(toPublicKey(key), path, [sig]))[0] === true;
}

/**
 * Fetches `want` from `root` (a mirror reader rooted at the directory that
 * holds index.json and the letter directories). Returns null when the mirror
 * has no such package. Throws SHA256_MISMATCH on any verification failure.
 * With `publicKey`, an unsigned package is refused; without it, a signed
 * package is refused too, since its signature could not be checked.
 */
export async function fetchPackage(
  root: MirrorReader,
  want: Expected,
  opts: { cacheDir?: string; publicKey?: KeyObject | string; tuf?: TufTargets },
): Promise<FetchedPackage | null> {
  const filename = binaryFilename(want.name, want.version, want.configHash);
  const rel = mirrorPath(want.name, filename);
  const where = `${root.display}/${rel}`;
  const tuf = opts.tuf;
  const tufLimit = 'the length targets.json states';
  const checksumBuf = await root.get(`${rel}.sha256`, tuf ? { maxBytes: tuf.checksum.length, limitName: tufLimit } : { maxBytes: 64 * 1024 });
  if (!checksumBuf) return null;
  if (tuf && (checksumBuf.length !== tuf.checksum.length || sha256(checksumBuf) !== tuf.checksum.sha256)) {
    throw notTarget(`${where}.sha256`, 'the metadata file', tuf.checksum, { length: checksumBuf.length, sha256: sha256(checksumBuf) }, want.arch);
  }
  const fileOpts = tuf ? { maxBytes: tuf.file.length, limitName: tufLimit } : {};
  const checksumText = checksumBuf.toString('utf8');
  const missing = () =>
    new OsforgeError('SOURCE_FETCH', `${where}.sha256 exists but ${where} does not`, {
      arch: want.arch,
      hint: 're-upload the package; the mirror is incomplete',
    });
  const cacheError = (err: unknown, path: string) =>
    new OsforgeError(
      'HOST_SETUP',
      `writing the download cache ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      { arch: want.arch, hint: 'choose a writable --cache-dir' },
      { cause: err },
    );

  let data: Buffer | undefined;
  let file: string | undefined; // the bytes on disk: the cache entry, or the temp download beside it
  let actual: { sha256: string; size: number };
  let fromCache = false;
  let createdDir: string | undefined;
  const cachedPath = opts.cacheDir ? join(opts.cacheDir, rel) : undefined;
  const pruneDirs = async (from: string) => {
    for (let d = from; createdDir && d.startsWith(createdDir); d = dirname(d)) {
      try {
        await rmdir(d);
      } catch {
        break;
      }
    }
  };
  if (cachedPath) {
    const expectedSha = /^([0-9a-f]{64}) /.exec(checksumText)?.[1];
    const have = await sha256IfExists(cachedPath);
    if (have !== null && have === expectedSha) {
      file = cachedPath;
      fromCache = true;
      actual = { sha256: have, size: 0 };
    } else {
      const part = `${cachedPath}.part-${randomBytes(4).toString('hex')}`;
      try {
        createdDir = await mkdirs(dirname(part));
      } catch (err) {
        throw cacheError(err, dirname(part));
      }
      const got = await root.getToFile(rel, part, fileOpts).catch(async (err: unknown) => {
        await pruneDirs(dirname(part));
        throw err instanceof OsforgeError ? err : cacheError(err, part);
      });
      if (!got) {
        await pruneDirs(dirname(part));
        throw missing();
      }
      file = part;
      actual = got;
    }
  } else {
    data = (await root.get(rel, fileOpts)) ?? undefined;
    if (!data) throw missing();
    actual = { sha256: '', size: data.length };
  }

  try {
    if (tuf && !fromCache) {
      const got = data ? { length: data.length, sha256: sha256(data) } : { length: actual.size, sha256: actual.sha256 };
      if (got.length !== tuf.file.length || got.sha256 !== tuf.file.sha256) throw notTarget(where, 'the package', tuf.file, got, want.arch);
    }
    const checksum = verifyPackage(data ?? { sha256: actual.sha256 }, checksumText, want, where);
    if (tuf && checksum.sha256 !== tuf.file.sha256)
      throw notTarget(where, 'the package', tuf.file, { length: tuf.file.length, sha256: checksum.sha256 }, want.arch);
    // TUF already authenticated both files; the cosign signatures are for clients without TUF.
    const sigBuf = tuf ? null : await root.get(`${rel}.sig`, { maxBytes: 64 * 1024 });
    const metaSigBuf = tuf ? null : await root.get(`${rel}.sha256.sig`, { maxBytes: 64 * 1024 });
    if ((sigBuf || metaSigBuf) && !opts.publicKey) {
      throw new OsforgeError('USAGE', `${filename} is signed (${where}.${sigBuf ? 'sig' : 'sha256.sig'}) but no public key was given to verify it`, {
        arch: want.arch,
        hint: 'pass the cosign public key with --key cosign.pub',
      });
    }
    if (opts.publicKey && !tuf) {
      // Both signatures are required: the bytes, and the metadata that says which package the bytes are.
      for (const [what, sig] of [
        ['.sig', sigBuf],
        ['.sha256.sig', metaSigBuf],
      ] as const) {
        if (!sig) {
          throw new OsforgeError('SHA256_MISMATCH', `${filename} has no signature ${where}${what} but a public key was given`, {
            arch: want.arch,
            hint: 'the package was published unsigned; sign it with `osforge package --sign-key` and re-upload, or drop --key',
          });
        }
        const ok =
          what === '.sha256.sig'
            ? verifyBlobSignature(checksumBuf, sig.toString('utf8'), opts.publicKey)
            : data
              ? verifyBlobSignature(data, sig.toString('utf8'), opts.publicKey)
              : await fileSignatureOk(file!, sig.toString('utf8'), opts.publicKey);
        if (!ok) {
          throw new OsforgeError(
            'SHA256_MISMATCH',
            `signature verification failed for ${filename}: ${where}${what} does not match ${what === '.sig' ? 'the package' : 'its .sha256 metadata'} for the given public key`,
            { arch: want.arch, hint: 'the package or its metadata was altered or relabelled, or it was signed with a different key' },
          );
        }
      }
    }

    if (cachedPath && !fromCache) {
      try {
        await rename(file!, cachedPath);
        file = cachedPath;
        await writeFileAtomic(`${cachedPath}.sha256`, checksumText);
        if (sigBuf) await writeFileAtomic(`${cachedPath}.sig`, sigBuf);
        if (metaSigBuf) await writeFileAtomic(`${cachedPath}.sha256.sig`, metaSigBuf);
      } catch (err) {
        throw cacheError(err, cachedPath);
      }
    }
    const size = data ? data.length : actual.size || statSync(cachedPath!).size;
    return { data, cachedPath: data ? undefined : cachedPath, size, checksum, signed: sigBuf !== null || Boolean(tuf), fromCache };
  } finally {
    if (file && file !== cachedPath) {
      // A download that failed verification leaves nothing behind, not even the directories made for it.
      await rm(file, { force: true });
      await pruneDirs(dirname(file));
    }
  }
}
