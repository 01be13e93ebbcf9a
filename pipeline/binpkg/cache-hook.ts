// The stage2 hook: before building a package, ask the binary mirror for a
// verified build with the same config hash (coolports: "check
// $cache/$pkghash.tar.gz before performing a build"). A hit returns the
// package bytes, identical to the stage store's output.tar.gz; a miss or any
// failure returns null and the caller builds from source.
import { OsforgeError } from '../errors.ts';
import { gunzip, readEntries } from '../util/tar.ts';
import { fetchPackage } from './fetch-package.ts';
import { loadIndex, openMirror } from './mirror-source.ts';
import { assertPackageId, binaryFilename } from './naming.ts';

export { readBinaryMirrorSetting, binaryMirrorForBuild } from './buckconfig.ts';
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
  /** PEM public key: when given, only packages with a valid cosign signature are accepted. */
  publicKeyPem?: string;
  log: (msg: string) => void;
}

export async function fetchVerifiedBinary(opts: FetchVerifiedBinaryOptions): Promise<Buffer | null> {
  const { name, version, configHash, arch, log } = opts;
  assertPackageId({ name, version, configHash, arch });
  const filename = binaryFilename(name, version, configHash);
  try {
    const mirror = openMirror(opts.mirrorUrl);
    let root = mirror;
    let sha: string | undefined;
    const loaded = await loadIndex(mirror);
    if (loaded) {
      root = loaded.root;
      const entry = loaded.index.packages.find((e) => e.filename === filename);
      if (entry && entry.arch !== arch) {
        log(`warning: binary mirror lists ${filename} for ${entry.arch}, not ${arch}; building from source`);
        return null;
      }
      sha = entry?.sha256;
    }
    // Not in the index (or no index): the first-letter path is tried directly; its .sha256 still has to verify.
    const got = await fetchPackage(root, { name, version, configHash, arch, sha256: sha }, { cacheDir: opts.cacheDir, publicKey: opts.publicKeyPem });
    if (!got) {
      log(`binary mirror: ${filename} not found on ${root.display}`);
      return null;
    }
    // Refuse archives that are not clean relative trees (devices, absolute paths, "..").
    await readEntries(gunzip(got.data));
    log(`binary mirror: using verified ${filename} (sha256 ${got.checksum.sha256}${got.signed ? ', signature ok' : ''}${got.fromCache ? ', from cache' : ''})`);
    return got.data;
  } catch (err) {
    const msg = err instanceof OsforgeError ? err.message : `${(err as Error).message}`;
    log(`warning: binary mirror: not using ${filename} (${arch}): ${msg}; building from source`);
    return null;
  }
}
