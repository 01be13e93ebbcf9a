// The stage2 hook: before building a package, ask the binary mirror for a
// verified build with the same config hash (coolports: "check
// $cache/$pkghash.tar.gz before performing a build"). A hit returns the
// package bytes, identical to the stage store's output.tar.gz; a miss or any
// failure returns null and the caller builds from source. A key is
// required: the bytes must carry a valid signature (<file>.sig) and so must
// the metadata naming them (<file>.sha256.sig), which must match the
// package asked for; a signed index.json is checked too. Only then may the
// bytes enter the stage cache. From a TUF mirror, the key must have signed
// its root, and the index and package are read only as TUF targets (the
// trusted metadata is kept in the cache dir's .tuf/, when there is one).
import type { KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OsforgeError } from '../errors.ts';
import { checkArchive } from './archive-policy.ts';
import { fetchPackage, packageSource } from './fetch-package.ts';
import { DEFAULT_LIMITS, type Limits } from './limits.ts';
import { scanPackage } from './unpack.ts';
import { openMirror } from './mirror-source.ts';
import { loadTrustedIndex, packageTargets, type TrustedIndex } from './installer.ts';
import { assertPackageId, binaryFilename } from './naming.ts';

export { readBinaryMirrorSetting, binaryMirrorForBuild, trustedMirrorForBuild, type TrustedMirror } from './buckconfig.ts';
export { configHash } from './config-hash.ts';

export interface FetchVerifiedBinaryOptions {
  /** http(s)://, file:// or a directory path; the directory holding index.json (or its parent, with binaries/). */
  mirrorUrl: string;
  name: string;
  version: string;
  configHash: string;
  arch: string;
  /** Keeps verified downloads here (<cacheDir>/<letter>/<file>) and reuses them. */
  cacheDir?: string;
  /** The mirror's public key (PEM or KeyObject): package and metadata signatures are required. */
  publicKey: KeyObject | string;
  limits?: Limits;
  log: (msg: string) => void;
}

export async function fetchVerifiedBinary(opts: FetchVerifiedBinaryOptions): Promise<Buffer | null> {
  const { name, version, configHash, arch, log } = opts;
  assertPackageId({ name, version, configHash, arch });
  const filename = binaryFilename(name, version, configHash);
  // Without a cache dir, TUF state lives only for this call.
  const scratch = opts.cacheDir ? undefined : await mkdtemp(join(tmpdir(), 'osforge-hook-'));
  let loaded: TrustedIndex | null = null;
  try {
    const limits = opts.limits ?? DEFAULT_LIMITS;
    const mirror = openMirror(opts.mirrorUrl, limits);
    let root = mirror;
    let sha: string | undefined;
    loaded = await loadTrustedIndex(mirror, opts.cacheDir ?? scratch!, { publicKey: opts.publicKey, log: () => {} });
    const entry = loaded?.index.packages.find((e) => e.filename === filename);
    if (loaded) {
      root = loaded.root;
      if (entry && entry.arch !== arch) {
        log(`warning: binary mirror lists ${filename} for ${entry.arch}, not ${arch}; building from source`);
        return null;
      }
      sha = entry?.sha256;
    }
    if (loaded?.tuf && !entry) {
      log(`binary mirror: ${filename} is not among the TUF targets of ${root.display}`);
      return null;
    }
    const tuf = loaded?.tuf && entry ? await packageTargets(loaded.tuf, entry) : undefined;
    // Not in the index (or no index): the first-letter path is tried directly; its .sha256 still has to verify.
    const got = await fetchPackage(root, { name, version, configHash, arch, sha256: sha }, { cacheDir: opts.cacheDir, publicKey: opts.publicKey, tuf });
    if (!got) {
      log(`binary mirror: ${filename} not found on ${root.display}`);
      return null;
    }
    // Refuse archives that are not clean relative trees (devices, absolute paths, "..", links out, bombs).
    const source = packageSource(got);
    checkArchive(await scanPackage(source, limits.maxUnpackedBytes, filename), { prefix: '/', disk: () => ({ kind: 'missing' }) });
    log(
      `binary mirror: using verified ${filename} (sha256 ${got.checksum.sha256}, ${tuf ? `TUF targets v${loaded!.tuf!.versions.targets}: length and sha256 of package and metadata ok` : 'signatures of package and metadata ok'}${got.fromCache ? ', from cache' : ''})`,
    );
    if (opts.cacheDir) await loaded?.tuf?.commit();
    // The stage store keeps the bytes (capped by --max-download-size); it takes a Buffer.
    return typeof source === 'string' ? await readFile(source) : source;
  } catch (err) {
    const msg = err instanceof OsforgeError ? err.message : `${(err as Error).message}`;
    log(`warning: binary mirror: not using ${filename} (${arch}): ${msg}; building from source`);
    return null;
  } finally {
    await loaded?.tuf?.dispose();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}
