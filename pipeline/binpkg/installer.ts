// `osforge install`: select → download → verify → install into a prefix.
// From a TUF mirror (tuf/client.ts), index.json and the package are read
// only as TUF targets of the verified metadata; the prefix keeps the
// metadata it trusts under <prefix>/var/db/pkg/.tuf/<mirror id>/ (the cache
// dir's .tuf/ for --download-only and --list), updated only after a
// successful install or download. An install without --version never
// downgrades; with it, a downgrade is done and reported as one.
import type { KeyObject } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OsforgeError } from '../errors.ts';
import { sha256 } from '../util/hash.ts';
import { lockDb } from './db-lock.ts';
import { fetchPackage, packageSource } from './fetch-package.ts';
import { installTree, recover } from './install-tree.ts';
import { DEFAULT_LIMITS, type Limits } from './limits.ts';
import { assertDbLocation, realPrefixOf } from './prefix-paths.ts';
import { extractFilesTo, scanPackage } from './unpack.ts';
import type { IndexEntry } from './mirror-index.ts';
import { loadIndex, openMirror, type MirrorReader } from './mirror-source.ts';
import { binaryFilename, compareVersions, mirrorPath } from './naming.ts';
import { describeEntry, refuseDowngrade, selectPackage } from './select.ts';
import { mirrorStateId, openTufMirror, type TrustAnchor, type TufSession } from './tuf/client.ts';
import type { TufTargets } from './fetch-package.ts';
import { parseIndex, type MirrorIndex } from './mirror-index.ts';
import { toPublicKey } from './signature.ts';
import { VDB_DIR } from './vdb-format.ts';
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
  /** A pinned TUF root.json (--root, or [buckos] binary_mirror_root). */
  tufRoot?: string;
  /** Trust the mirror's root.json when nothing is trusted yet (--trust-on-first-use). */
  trustOnFirstUse?: boolean;
  /** Total deadline for each TUF metadata read (default: tuf/client.ts). */
  tufDeadlineMs?: number;
  log: (msg: string) => void;
}

export type InstallResult =
  | { action: 'installed' | 'upgraded'; entry: IndexEntry; files: number }
  | { action: 'downgraded'; entry: IndexEntry; files: number; from: string }
  | { action: 'already-installed'; entry: IndexEntry }
  | { action: 'downloaded'; entry: IndexEntry; path: string };

export interface TrustedIndex {
  root: MirrorReader;
  index: MirrorIndex;
  tuf?: TufSession;
}

function anchorOf(o: { tufRoot?: string; publicKey?: KeyObject | string; trustOnFirstUse?: boolean }): TrustAnchor | undefined {
  if (o.tufRoot) return { kind: 'root-file', path: o.tufRoot };
  if (o.publicKey) return { kind: 'key', key: toPublicKey(o.publicKey), path: '--key' };
  return o.trustOnFirstUse ? { kind: 'first-use' } : undefined;
}

/**
 * index.json through TUF when the mirror, the trust anchor or the prefix's
 * trusted state says so (read up to its signed length, its sha256 checked);
 * otherwise the older way (index.json.sig with --key, or unsigned).
 */
export async function loadTrustedIndex(
  mirror: MirrorReader,
  stateRoot: string,
  o: { tufRoot?: string; publicKey?: KeyObject | string; trustOnFirstUse?: boolean; tufDeadlineMs?: number; log: (m: string) => void },
): Promise<TrustedIndex | null> {
  const tuf = await openTufMirror({
    mirror,
    stateDir: join(stateRoot, '.tuf', mirrorStateId(mirror.display)),
    anchor: anchorOf(o),
    log: o.log,
    deadlineMs: o.tufDeadlineMs,
  });
  if (!tuf) {
    const loaded = await loadIndex(mirror, { publicKey: o.publicKey });
    if (loaded?.signed) o.log(`index ${loaded.root.display}/index.json: signature ok`);
    return loaded && { root: loaded.root, index: loaded.index };
  }
  try {
    const where = `${tuf.root.display}/index.json`;
    const t = await tuf.target('index.json');
    if (!t)
      throw new OsforgeError('SIGNATURE_INVALID', `targets.json of ${tuf.root.display} (version ${tuf.versions.targets}) does not list index.json`, {
        hint: 're-publish the mirror with `osforge upload --sign-key`',
      });
    const text = await tuf.root.get('index.json', { maxBytes: t.length, limitName: 'the length targets.json states' });
    if (!text || text.length !== t.length || sha256(text) !== t.sha256) {
      throw new OsforgeError(
        'SIGNATURE_INVALID',
        `${where} does not match its TUF target: targets.json version ${tuf.versions.targets} states ${t.length} bytes, sha256 ${t.sha256}; got ${text ? `${text.length} bytes, sha256 ${sha256(text)}` : 'no file'}`,
        { hint: 'the mirror serves another index than it signed (an upload in progress, or tampering); retry in a minute; nothing was installed' },
      );
    }
    o.log(`index ${where}: signature ok (TUF target of targets.json v${tuf.versions.targets}: ${t.length} bytes, sha256 ${t.sha256.slice(0, 16)}…)`);
    return { root: tuf.root, index: parseIndex(text.toString('utf8'), where), tuf };
  } catch (err) {
    await tuf.dispose();
    throw err;
  }
}

/** The package and its .sha256 as TUF targets; a file the signed targets do not list is never read. */
export async function packageTargets(tuf: TufSession, entry: IndexEntry): Promise<TufTargets> {
  const rel = mirrorPath(entry.name, entry.filename);
  const [file, checksum] = await Promise.all([tuf.target(rel), tuf.target(`${rel}.sha256`)]);
  if (!file || !checksum) {
    throw new OsforgeError(
      'SIGNATURE_INVALID',
      `${rel}${file ? '.sha256' : ''} is not a TUF target of ${tuf.root.display} (targets.json version ${tuf.versions.targets}); refusing a file the mirror did not sign`,
      { hint: 'the index names a package the targets do not (tampering, or a broken upload); nothing was installed; re-publish the package' },
    );
  }
  if (file.length !== entry.size || file.sha256 !== entry.sha256) {
    throw new OsforgeError(
      'SIGNATURE_INVALID',
      `index.json and targets.json of ${tuf.root.display} disagree on ${rel}: index says ${entry.size} bytes, sha256 ${entry.sha256}; targets ${file.length} bytes, sha256 ${file.sha256}`,
      { hint: 're-publish the mirror with `osforge upload --sign-key`' },
    );
  }
  return { file, checksum };
}

/** Finds the package: through index.json, or (without one) at its first-letter path when version and config hash are known. */
async function locate(req: InstallRequest, stateRoot: string): Promise<{ root: MirrorReader; entry: IndexEntry; tuf?: TufSession }> {
  const mirror = openMirror(req.mirrorUrl, req.limits ?? DEFAULT_LIMITS);
  const loaded = await loadTrustedIndex(mirror, stateRoot, req);
  if (loaded) {
    try {
      const sel = selectPackage(loaded.index.packages, req, loaded.root.display);
      req.log(`selected ${describeEntry(sel.entry)} from ${loaded.root.display}`);
      for (const why of [`arch ${req.arch}`, ...sel.explanation]) req.log(`  because: ${why}`);
      return { root: loaded.root, entry: sel.entry, tuf: loaded.tuf };
    } catch (err) {
      await loaded.tuf?.dispose();
      throw err;
    }
  }
  if (req.publicKey) {
    throw new OsforgeError('SHA256_MISMATCH', `${mirror.display} has no index.json, and a key-holding client needs a signed index`, {
      hint: 'publish a signed index with `osforge upload --sign-key cosign.key`',
    });
  }
  if (!req.version || !req.configHash) {
    throw new OsforgeError('SOURCE_FETCH', `${mirror.display} has no index.json, so ${req.name} can only be found with both --version and --config-hash`, {
      hint: 'publish an index with `osforge upload --generate-index-only --source <mirror dir>`, or pass --version and --config-hash',
    });
  }
  const filename = binaryFilename(req.name, req.version, req.configHash);
  const text = await mirror.get(`${mirrorPath(req.name, filename)}.sha256`, { maxBytes: 64 * 1024 });
  if (!text) {
    throw new OsforgeError(
      'SOURCE_FETCH',
      `${req.name} ${req.version} with config hash ${req.configHash} is not on ${mirror.display} (no index.json, and ${mirrorPath(req.name, filename)} is missing)`,
      { hint: 'list what the mirror has with `osforge install <package> --list` once it has an index.json' },
    );
  }
  const sha = /^([0-9a-f]{64}) /.exec(text.toString('utf8'))?.[1] ?? '';
  req.log(`no index.json on ${mirror.display}; using ${mirrorPath(req.name, filename)}`);
  return {
    root: mirror,
    entry: { name: req.name, version: req.version, arch: req.arch, config_hash: req.configHash, file_hash: sha.slice(0, 8), filename, size: 0, sha256: sha },
  };
}

export async function installBinary(req: InstallRequest): Promise<InstallResult> {
  const prefix = req.downloadOnly ? '' : await realPrefixOf(req.prefix);
  if (!req.downloadOnly) assertDbLocation(prefix); // before the TUF state under it is read
  const { root, entry, tuf } = await locate(req, req.downloadOnly ? req.cacheDir : join(prefix, VDB_DIR));
  try {
    return await installLocated(req, prefix, root, entry, tuf);
  } finally {
    await tuf?.dispose();
  }
}

async function installLocated(req: InstallRequest, prefix: string, root: MirrorReader, entry: IndexEntry, tuf: TufSession | undefined): Promise<InstallResult> {
  if (req.fileHash && entry.file_hash !== req.fileHash) {
    throw new OsforgeError('SHA256_MISMATCH', `file hash mismatch for ${entry.filename}: expected ${req.fileHash}, mirror has ${entry.file_hash}`, {
      arch: req.arch,
    });
  }
  const targets = tuf ? await packageTargets(tuf, entry) : undefined;

  const alreadyIn = async (): Promise<boolean> => {
    const prev = (await listInstalled(prefix)).find((i) => i.record.name === entry.name);
    if (prev && prev.record.sha256 === entry.sha256) {
      req.log(`${entry.name}-${entry.version} (config ${entry.config_hash}) is already installed in ${req.prefix}; nothing to do`);
      return true;
    }
    return false;
  };
  if (!req.downloadOnly) {
    if (await alreadyIn()) {
      await tuf?.commit();
      return { action: 'already-installed', entry };
    } // a read-only look; decided again under the lock
    refuseDowngrade((await listInstalled(prefix)).find((i) => i.record.name === entry.name)?.record, entry, req.version, root.display);
  }

  const got = await fetchPackage(
    root,
    { name: entry.name, version: entry.version, configHash: entry.config_hash, arch: entry.arch, sha256: entry.sha256 || undefined },
    { cacheDir: req.cacheDir, publicKey: req.publicKey, tuf: targets },
  );
  if (!got) {
    throw new OsforgeError(
      'SOURCE_FETCH',
      `the index of ${root.display} lists ${entry.filename} but ${mirrorPath(entry.name, entry.filename)}.sha256 is missing`,
      { hint: 're-upload the package, or regenerate the index with `osforge upload --generate-index-only`' },
    );
  }
  if (entry.size === 0) entry.size = got.size; // found without an index
  req.log(
    `verified ${entry.filename}: sha256 ${got.checksum.sha256}, content hash ${got.checksum.contentHash}, metadata ok${targets ? ', length and sha256 of package and metadata as targets.json states' : got.signed ? ', signatures of package and metadata ok' : ''}${got.fromCache ? ' (from cache)' : ''}`,
  );
  if (req.downloadOnly) {
    await tuf?.commit();
    return { action: 'downloaded', entry, path: got.cachedPath ?? '' };
  }

  // Headers only: file contents are streamed into the staging dir later, never held whole.
  const maxUnpacked = (req.limits ?? DEFAULT_LIMITS).maxUnpackedBytes;
  const source = packageSource(got);
  const entries = await scanPackage(source, req.limits ?? DEFAULT_LIMITS, entry.filename); // entry-count and depth caps too
  const lock = await lockDb(prefix, { command: `osforge install ${entry.name} ${entry.version}`, wait: req.waitForLock ?? true, log: req.log });
  try {
    await recover(prefix, req.log);
    if (await alreadyIn()) {
      await tuf?.commit();
      return { action: 'already-installed', entry };
    }
    const installed = await listInstalled(prefix);
    const previous = installed.find((i) => i.record.name === entry.name);
    const downgrade = refuseDowngrade(previous?.record, entry, req.version, root.display); // again: another command may have upgraded meanwhile
    const contents = await installTree({
      prefix,
      entries,
      record: {
        name: entry.name,
        version: entry.version,
        arch: entry.arch,
        config_hash: entry.config_hash,
        file_hash: got.checksum.contentHash,
        sha256: got.checksum.sha256,
        filename: entry.filename,
      },
      previous,
      others: installed.filter((i) => i !== previous),
      extractFiles: (tree, onFile) =>
        extractFilesTo(source, maxUnpacked, entry.filename, tree, new Map(entries.map((e) => [e.path, e])), onFile, got.checksum.sha256),
      limits: req.limits,
      log: req.log,
    });
    await tuf?.commit();
    if (previous) req.log(`replaced ${previous.record.name}-${previous.record.version} (config ${previous.record.config_hash})`);
    const files = contents.filter((c) => c.kind !== 'dir').length;
    if (downgrade && previous) return { action: 'downgraded', entry, files, from: previous.record.version };
    return { action: previous ? 'upgraded' : 'installed', entry, files };
  } finally {
    await lock.release();
  }
}

/** `--list`: every build of `name` on the mirror, newest first; not found lists the package names there. */
export async function listAvailable(
  mirrorUrl: string,
  name: string,
  opts: { limits?: Limits; publicKey?: KeyObject | string; tufRoot?: string; trustOnFirstUse?: boolean; cacheDir?: string; log?: (m: string) => void } = {},
): Promise<{ mirror: string; entries: IndexEntry[]; otherNames: string[] }> {
  const log = opts.log ?? (() => {});
  // Without a cache dir nothing is kept: a fresh private directory stands in for the trusted state.
  const scratch = opts.cacheDir ? undefined : await mkdtemp(join(tmpdir(), 'osforge-list-'));
  let loaded: TrustedIndex | null;
  try {
    loaded = await loadTrustedIndex(openMirror(mirrorUrl, opts.limits ?? DEFAULT_LIMITS), opts.cacheDir ?? scratch!, { ...opts, log });
    if (loaded?.tuf) {
      if (opts.cacheDir) await loaded.tuf.commit();
      await loaded.tuf.dispose();
    }
  } finally {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
  if (!loaded) {
    throw new OsforgeError('SOURCE_FETCH', `${mirrorUrl} has no index.json (looked for index.json and binaries/index.json)`, {
      hint: 'generate one with `osforge upload --generate-index-only --source <mirror dir>`',
    });
  }
  const entries = loaded.index.packages
    .filter((e) => e.name === name)
    .sort((a, b) => compareVersions(b.version, a.version) || (a.arch < b.arch ? -1 : a.arch > b.arch ? 1 : 0));
  const otherNames = entries.length ? [] : Object.keys(loaded.index.by_name).sort();
  return { mirror: loaded.root.display, entries, otherNames };
}
