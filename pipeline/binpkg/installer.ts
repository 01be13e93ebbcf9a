// `osforge install`: select → download → verify → install into a prefix.
import type { KeyObject } from 'node:crypto';
import { OsforgeError } from '../errors.ts';
import { lockDb } from './db-lock.ts';
import { fetchPackage, packageSource } from './fetch-package.ts';
import { installTree, recover } from './install-tree.ts';
import { DEFAULT_LIMITS, type Limits } from './limits.ts';
import { assertDbLocation, realPrefixOf } from './prefix-paths.ts';
import { extractFilesTo, scanPackage } from './unpack.ts';
import type { IndexEntry } from './mirror-index.ts';
import { loadIndex, openMirror, type MirrorReader } from './mirror-source.ts';
import { binaryFilename, compareVersions, mirrorPath } from './naming.ts';
import { describeEntry, selectPackage } from './select.ts';
import { listInstalled } from './vdb.ts';

export interface InstallRequest {
  name: string;
  arch: string;
  version?: string;
  configHash?: string;
  fileHash?: string;
  mirrorUrl: string;
  prefix: string;
  cacheDir: string;
  downloadOnly: boolean;
  /** Cosign public key (KeyObject or PEM text); see fetch-package.ts for what it changes. */
  publicKey?: KeyObject | string;
  /** Download, index and decompression caps and the idle timeout (default: DEFAULT_LIMITS). */
  limits?: Limits;
  /** false: fail with LOCKED at once when another command holds the prefix's database lock. */
  waitForLock?: boolean;
  log: (msg: string) => void;
}

export type InstallResult =
  | { action: 'installed' | 'upgraded'; entry: IndexEntry; files: number }
  | { action: 'already-installed'; entry: IndexEntry }
  | { action: 'downloaded'; entry: IndexEntry; path: string };

/** Finds the package: through index.json, or (without one) at its first-letter path when version and config hash are known. */
async function locate(req: InstallRequest): Promise<{ root: MirrorReader; entry: IndexEntry }> {
  const mirror = openMirror(req.mirrorUrl, req.limits ?? DEFAULT_LIMITS);
  const loaded = await loadIndex(mirror, { publicKey: req.publicKey });
  if (loaded) {
    if (loaded.signed) req.log(`index ${loaded.root.display}/index.json: signature ok`);
    const sel = selectPackage(loaded.index.packages, req, loaded.root.display);
    req.log(`selected ${describeEntry(sel.entry)} from ${loaded.root.display}`);
    for (const why of [`arch ${req.arch}`, ...sel.explanation]) req.log(`  because: ${why}`);
    return { root: loaded.root, entry: sel.entry };
  }
  if (req.publicKey) {
    throw new OsforgeError('SHA256_MISMATCH', `${mirror.display} has no index.json, and a key-holding client needs a signed index`,
      { hint: 'publish a signed index with `osforge upload --sign-key cosign.key`' });
  }
  if (!req.version || !req.configHash) {
    throw new OsforgeError('SOURCE_FETCH', `${mirror.display} has no index.json, so ${req.name} can only be found with both --version and --config-hash`,
      { hint: 'publish an index with `osforge upload --generate-index-only --source <mirror dir>`, or pass --version and --config-hash' });
  }
  const filename = binaryFilename(req.name, req.version, req.configHash);
  const text = await mirror.get(`${mirrorPath(req.name, filename)}.sha256`, { maxBytes: 64 * 1024 });
  if (!text) {
    throw new OsforgeError('SOURCE_FETCH', `${req.name} ${req.version} with config hash ${req.configHash} is not on ${mirror.display} (no index.json, and ${mirrorPath(req.name, filename)} is missing)`,
      { hint: 'list what the mirror has with `osforge install <package> --list` once it has an index.json' });
  }
  const sha = /^([0-9a-f]{64}) /.exec(text.toString('utf8'))?.[1] ?? '';
  req.log(`no index.json on ${mirror.display}; using ${mirrorPath(req.name, filename)}`);
  return {
    root: mirror,
    entry: { name: req.name, version: req.version, arch: req.arch, config_hash: req.configHash, file_hash: sha.slice(0, 8), filename, size: 0, sha256: sha },
  };
}

export async function installBinary(req: InstallRequest): Promise<InstallResult> {
  const { root, entry } = await locate(req);
  if (req.fileHash && entry.file_hash !== req.fileHash) {
    throw new OsforgeError('SHA256_MISMATCH', `file hash mismatch for ${entry.filename}: expected ${req.fileHash}, mirror has ${entry.file_hash}`, { arch: req.arch });
  }

  const prefix = req.downloadOnly ? '' : await realPrefixOf(req.prefix);
  const alreadyIn = async (): Promise<boolean> => {
    const prev = (await listInstalled(prefix)).find((i) => i.record.name === entry.name);
    if (prev && prev.record.sha256 === entry.sha256) {
      req.log(`${entry.name}-${entry.version} (config ${entry.config_hash}) is already installed in ${req.prefix}; nothing to do`);
      return true;
    }
    return false;
  };
  if (!req.downloadOnly) {
    assertDbLocation(prefix);
    if (await alreadyIn()) return { action: 'already-installed', entry }; // a read-only look; decided again under the lock
  }

  const got = await fetchPackage(root, { name: entry.name, version: entry.version, configHash: entry.config_hash, arch: entry.arch, sha256: entry.sha256 || undefined },
    { cacheDir: req.cacheDir, publicKey: req.publicKey });
  if (!got) {
    throw new OsforgeError('SOURCE_FETCH', `the index of ${root.display} lists ${entry.filename} but ${mirrorPath(entry.name, entry.filename)}.sha256 is missing`,
      { hint: 're-upload the package, or regenerate the index with `osforge upload --generate-index-only`' });
  }
  if (entry.size === 0) entry.size = got.size; // found without an index
  req.log(`verified ${entry.filename}: sha256 ${got.checksum.sha256}, content hash ${got.checksum.contentHash}, metadata ok${got.signed ? ', signatures of package and metadata ok' : ''}${got.fromCache ? ' (from cache)' : ''}`);
  if (req.downloadOnly) return { action: 'downloaded', entry, path: got.cachedPath ?? '' };

  // Headers only: file contents are streamed into the staging dir later, never held whole.
  const maxUnpacked = (req.limits ?? DEFAULT_LIMITS).maxUnpackedBytes;
  const source = packageSource(got);
  const entries = await scanPackage(source, req.limits ?? DEFAULT_LIMITS, entry.filename); // entry-count and depth caps too
  const lock = await lockDb(prefix, { command: `osforge install ${entry.name} ${entry.version}`, wait: req.waitForLock ?? true, log: req.log });
  try {
    await recover(prefix, req.log);
    if (await alreadyIn()) return { action: 'already-installed', entry };
    const installed = await listInstalled(prefix);
    const previous = installed.find((i) => i.record.name === entry.name);
    const contents = await installTree({
      prefix,
      entries,
      record: {
        name: entry.name, version: entry.version, arch: entry.arch, config_hash: entry.config_hash,
        file_hash: got.checksum.contentHash, sha256: got.checksum.sha256, filename: entry.filename,
      },
      previous,
      others: installed.filter((i) => i !== previous),
      extractFiles: (tree, onFile) => extractFilesTo(source, maxUnpacked, entry.filename, tree, new Map(entries.map((e) => [e.path, e])), onFile, got.checksum.sha256),
      limits: req.limits,
      log: req.log,
    });
    if (previous) req.log(`replaced ${previous.record.name}-${previous.record.version} (config ${previous.record.config_hash})`);
    return { action: previous ? 'upgraded' : 'installed', entry, files: contents.filter((c) => c.kind !== 'dir').length };
  } finally {
    await lock.release();
  }
}

/** `--list`: every build of `name` on the mirror, newest first; not found lists the package names there. */
export async function listAvailable(mirrorUrl: string, name: string, opts: { limits?: Limits; publicKey?: KeyObject | string } = {}): Promise<{ mirror: string; entries: IndexEntry[]; otherNames: string[] }> {
  const loaded = await loadIndex(openMirror(mirrorUrl, opts.limits ?? DEFAULT_LIMITS), { publicKey: opts.publicKey });
  if (!loaded) {
    throw new OsforgeError('SOURCE_FETCH', `${mirrorUrl} has no index.json (looked for index.json and binaries/index.json)`,
      { hint: 'generate one with `osforge upload --generate-index-only --source <mirror dir>`' });
  }
  const entries = loaded.index.packages.filter((e) => e.name === name)
    .sort((a, b) => compareVersions(b.version, a.version) || (a.arch < b.arch ? -1 : a.arch > b.arch ? 1 : 0));
  const otherNames = entries.length ? [] : Object.keys(loaded.index.by_name).sort();
  return { mirror: loaded.root.display, entries, otherNames };
}
