// tools-cache/toolchain/: the tools image's compiled files plus index.json
// (the key over every tools-image input and a sha256 per file), and
// index.json.sig when a signing key is configured. A cache is used only when
// the key matches, the index is vouched for (see ToolsCacheTrust) and every
// file verifies; anything else is a miss with a reason the user can read.
import { sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, lstatSync, readlinkSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tarFs from 'tar-fs';
import { keyOf, sha256 } from '../util/hash.ts';
import { OsforgeError } from '../errors.ts';
import { parseJsonBounded } from '../util/json-bounded.ts';
import { readRegularFile } from '../util/regular-file.ts';
import { decodeSigFile, encodeSigFile } from '../crypto/blob.ts';
import type { StageMeta, StageStore } from './stage-store.ts';
import { fsyncParent, fsyncPath, fsyncTree, mapDiskFull } from '../util/durable.ts';
import { normalizeEntryPath, normalizeMode, packEntries, readEntries, type TarEntry } from '../util/tar.ts';
import type { StreamEntry } from '../util/tar-stream.ts';

/** The variables naming the keys that sign (private) and authenticate (public) a tools-cache/. */
export const TOOLS_CACHE_PUBKEY_ENV = 'OSFORGE_TOOLS_CACHE_PUBKEY';
export const TOOLS_CACHE_KEY_ENV = 'OSFORGE_TOOLS_CACHE_KEY';

export interface ToolsIndexFile {
  path: string;
  type: 'file' | 'symlink' | 'directory';
  sha256?: string;
  linkname?: string;
  mode?: number;
}
export interface ToolsIndex {
  key: string;
  files: ToolsIndexFile[];
}

/** `untrusted`: the cache is there and intact for its key, but nobody vouches for it (a possible forgery, not just stale). */
export type Validation = { ok: true; index: ToolsIndex } | { ok: false; reason: string; untrusted?: true };

export function toolchainDir(cacheRoot: string): string {
  return join(cacheRoot, 'toolchain');
}

/**
 * Who may vouch for a tools-cache/: this machine's verified stage store (a
 * record of the index digest it wrote, kept in the state dir, outside
 * tools-cache/), or a cosign key whose signature index.json.sig carries.
 * A self-consistent index is not enough: its key is computable from public
 * files and its hashes are whatever the writer put there (a CI cache restored
 * from actions/cache may have been written by anyone).
 */
export interface ToolsCacheTrust {
  store: StageStore;
  /** $OSFORGE_TOOLS_CACHE_PUBKEY: index.json.sig by this key is trusted too (a cache from another machine, CI). */
  verifyKey?: KeyObject;
  /** $OSFORGE_TOOLS_CACHE_KEY: a written cache gets index.json.sig. */
  signKey?: KeyObject;
}

/** The tools index is a few hundred KB for a real toolchain; 64 MiB is far beyond it and still cheap to refuse. */
export const MAX_TOOLS_INDEX_BYTES = 64 * 1024 * 1024;
const MAX_SIG_BYTES = 4096;

/** The stage-store key of the record of the index this machine wrote for tools key `key`. */
export function toolsCacheRecordKey(key: string): string {
  return keyOf(['tools-cache-index/v1', key]);
}

interface ToolsCacheRecord extends StageMeta {
  kind: 'tools-cache-index';
  toolsKey: string;
}

/** Why the index is not vouched for, or null when this machine wrote it or a trusted key signed it. */
async function untrustedBecause(dir: string, key: string, indexBytes: Buffer, trust: ToolsCacheTrust): Promise<string | null> {
  const record = await trust.store.get<ToolsCacheRecord>(toolsCacheRecordKey(key));
  if (record?.meta.files?.['index.json'] === sha256(indexBytes)) return null;
  const local = record ? 'differs from the index this machine wrote for this key' : 'was not written by this machine';
  const sigPath = join(dir, 'index.json.sig');
  if (!trust.verifyKey) return `${local}, and OSFORGE_TOOLS_CACHE_PUBKEY is not set to check a signature`;
  let sig: Buffer;
  try {
    sig = decodeSigFile((await readRegularFile(sigPath, 'tools-cache signature', MAX_SIG_BYTES)).toString('utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return `${local}, and ${code === 'ENOENT' ? 'it has no index.json.sig' : `index.json.sig is unusable (${(err as Error).message})`}`;
  }
  let good = false;
  try {
    good = cryptoVerify('sha256', indexBytes, { key: trust.verifyKey, dsaEncoding: 'der' }, sig);
  } catch {
    good = false;
  }
  return good ? null : `${local}, and index.json.sig does not verify with OSFORGE_TOOLS_CACHE_PUBKEY (tampered, or signed by another key)`;
}

export async function validateToolsCache(cacheRoot: string, key: string, trust: ToolsCacheTrust): Promise<Validation> {
  const dir = toolchainDir(cacheRoot);
  const indexPath = join(dir, 'index.json');
  if (!existsSync(indexPath)) return { ok: false, reason: `${indexPath} does not exist` };
  let indexBytes: Buffer;
  let index: ToolsIndex;
  try {
    indexBytes = await readRegularFile(indexPath, 'tools-cache index', MAX_TOOLS_INDEX_BYTES);
    index = parseJsonBounded(indexBytes.toString('utf8'), indexPath) as ToolsIndex;
  } catch (err) {
    if (err instanceof OsforgeError) return { ok: false, reason: err.message };
    throw err;
  }
  if (index === null || typeof index !== 'object') return { ok: false, reason: `${indexPath} is not a tools index` };
  if (index.key !== key) return { ok: false, reason: `tools inputs changed (cached key ${String(index.key).slice(0, 12)}, wanted ${key.slice(0, 12)})` };
  const untrusted = await untrustedBecause(dir, key, indexBytes, trust);
  if (untrusted) return { ok: false, reason: `${indexPath} is not trusted: it ${untrusted}`, untrusted: true };
  if (!Array.isArray(index.files) || index.files.length === 0) return { ok: false, reason: `${indexPath} lists no files` };
  for (const f of index.files) {
    let rel: string;
    try {
      rel = normalizeEntryPath(f.path);
    } catch {
      return { ok: false, reason: `index lists unsafe path ${JSON.stringify(f.path)}` };
    }
    const p = join(dir, 'root', rel);
    let st;
    try {
      st = lstatSync(p);
    } catch {
      return { ok: false, reason: `missing file ${p}` };
    }
    if (f.type === 'symlink') {
      if (!st.isSymbolicLink() || readlinkSync(p) !== f.linkname) return { ok: false, reason: `symlink ${p} does not point to ${f.linkname}` };
    } else if (f.type === 'file') {
      if (!st.isFile()) return { ok: false, reason: `${p} is not a regular file` };
      const actual = sha256(readFileSync(p));
      if (actual !== f.sha256) return { ok: false, reason: `hash mismatch for ${p}: expected ${f.sha256}, actual ${actual}` };
    } else if (!st.isDirectory()) {
      return { ok: false, reason: `${p} is not a directory` };
    }
  }
  return { ok: true, index };
}

/**
 * Signs the index of a cache this machine's stage store vouches for (never a
 * restored one it cannot vouch for: signing would launder a forgery), writing
 * index.json.sig by temp file and rename. Returns the index signed.
 */
export async function signToolsCache(cacheRoot: string, store: StageStore, signKey: KeyObject): Promise<ToolsIndex> {
  const indexPath = join(toolchainDir(cacheRoot), 'index.json');
  if (!existsSync(indexPath)) {
    throw new OsforgeError('TOOLS_CACHE', `not signing ${toolchainDir(cacheRoot)}: ${indexPath} does not exist`, {
      hint: 'run `osforge dist` first: it writes the tools cache',
    });
  }
  // The index names its own tools key; the store's record for that key is what vouches for it (the verifier checks the key against its inputs).
  const claimed = (
    parseJsonBounded((await readRegularFile(indexPath, 'tools-cache index', MAX_TOOLS_INDEX_BYTES)).toString('utf8'), indexPath) as Partial<ToolsIndex> | null
  )?.key;
  const v = await validateToolsCache(cacheRoot, typeof claimed === 'string' ? claimed : '', { store });
  if (!v.ok) {
    throw new OsforgeError('TOOLS_CACHE', `not signing ${toolchainDir(cacheRoot)}: ${v.reason}`, {
      hint: 'sign only a tools cache this machine built (run `osforge dist` first); a restored cache is verified with OSFORGE_TOOLS_CACHE_PUBKEY, not re-signed',
    });
  }
  const indexBytes = await readRegularFile(indexPath, 'tools-cache index', MAX_TOOLS_INDEX_BYTES);
  const signature = cryptoSign('sha256', indexBytes, { key: signKey, dsaEncoding: 'der' });
  const sigPath = `${indexPath}.sig`;
  const tmp = `${sigPath}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, encodeSigFile(signature));
    fsyncPath(tmp);
    await rename(tmp, sigPath);
    fsyncParent(sigPath);
  } finally {
    await rm(tmp, { force: true });
  }
  return v.index;
}

/**
 * Replaces tools-cache/toolchain atomically with `entries` (paths relative to
 * the image root): the normalised tar is unpacked by tar-fs into a temp dir,
 * the index is written beside it, and the dir is renamed into place.
 */
export async function writeToolsCache(cacheRoot: string, key: string, entries: TarEntry[], trust: ToolsCacheTrust): Promise<ToolsIndex> {
  const final = toolchainDir(cacheRoot);
  const tmp = `${final}.tmp-${process.pid}`;
  return mapDiskFull(
    cacheRoot,
    entries.reduce((n, e) => n + (e.data?.length ?? 0), 0),
    async () => {
      try {
        return await writeToolsCacheIn(tmp, final, key, entries, trust);
      } catch (err) {
        await rm(tmp, { recursive: true, force: true });
        throw err;
      }
    },
  );
}

async function writeToolsCacheIn(tmp: string, final: string, key: string, entries: TarEntry[], trust: ToolsCacheTrust): Promise<ToolsIndex> {
  await rm(tmp, { recursive: true, force: true });
  await mkdir(join(tmp, 'root'), { recursive: true });
  const tar = await packEntries(entries, 0);
  await pipeline(Readable.from([tar]), tarFs.extract(join(tmp, 'root'), { umask: 0o022 } as tarFs.ExtractOptions));
  const files: ToolsIndexFile[] = (await readEntries(tar)).map((e): ToolsIndexFile => {
    if (e.type === 'directory') return { path: e.path, type: 'directory' };
    if (e.type === 'symlink') return { path: e.path, type: 'symlink', linkname: e.linkname };
    return { path: e.path, type: 'file', sha256: sha256(e.data!), mode: normalizeMode('file', e.mode) };
  });
  const index: ToolsIndex = { key, files };
  const indexBytes = Buffer.from(JSON.stringify(index, null, 1) + '\n');
  await writeFile(join(tmp, 'index.json'), indexBytes);
  if (trust.signKey) {
    const signature = cryptoSign('sha256', indexBytes, { key: trust.signKey, dsaEncoding: 'der' });
    await writeFile(join(tmp, 'index.json.sig'), encodeSigFile(signature));
  }
  fsyncTree(tmp);
  // The record first: a cache in place is then always one this machine vouches for (a crash in between costs a re-assembly, not trust).
  await trust.store.putDir<ToolsCacheRecord>({ key: toolsCacheRecordKey(key), kind: 'tools-cache-index', toolsKey: key }, async (out) => {
    await writeFile(join(out, 'index.json'), indexBytes);
  });
  await rm(`${final}.old`, { recursive: true, force: true });
  if (existsSync(final)) await rename(final, `${final}.old`);
  await rename(tmp, final);
  fsyncParent(final);
  await rm(`${final}.old`, { recursive: true, force: true });
  return index;
}

/** The cached toolchain's entries, optionally only below `under` (e.g. "opt/osforge/amd64"), with file data left on disk (streamed by packStream). */
export async function toolsCacheFiles(cacheRoot: string, under?: string): Promise<StreamEntry[]> {
  const dir = toolchainDir(cacheRoot);
  const indexPath = join(dir, 'index.json');
  const index = parseJsonBounded((await readRegularFile(indexPath, 'tools-cache index', MAX_TOOLS_INDEX_BYTES)).toString('utf8'), indexPath) as ToolsIndex;
  const out: StreamEntry[] = [];
  for (const f of index.files) {
    if (under && f.path !== under && !f.path.startsWith(`${under}/`)) continue;
    if (f.type === 'file') out.push({ path: f.path, type: 'file', mode: f.mode ?? 0o644, data: { file: join(dir, 'root', f.path) } });
    else if (f.type === 'symlink') out.push({ path: f.path, type: 'symlink', mode: 0o777, linkname: f.linkname });
    else out.push({ path: f.path, type: 'directory', mode: 0o755 });
  }
  return out;
}

/**
 * The same, file data read into memory and checked against the index once
 * more: the tools and builder layers are made from these bytes, so a file
 * swapped after validation fails here instead of entering the image.
 */
export async function toolsCacheEntries(cacheRoot: string, under?: string): Promise<TarEntry[]> {
  const indexPath = join(toolchainDir(cacheRoot), 'index.json');
  const index = parseJsonBounded((await readRegularFile(indexPath, 'tools-cache index', MAX_TOOLS_INDEX_BYTES)).toString('utf8'), indexPath) as ToolsIndex;
  const want = new Map(index.files.map((f) => [f.path, f.sha256]));
  return Promise.all(
    (await toolsCacheFiles(cacheRoot, under)).map(async ({ data, ...e }) => {
      if (!data) return e as TarEntry;
      const file = (data as { file: string }).file;
      const bytes = await readFile(file);
      if (sha256(bytes) !== want.get(e.path)) {
        throw new OsforgeError('TOOLS_CACHE', `${file} changed after tools-cache/ was validated`, {
          hint: 'something is writing to tools-cache/ during the run; stop it, or run `osforge clean-tools-cache` and build again',
        });
      }
      return { ...e, data: bytes } as TarEntry;
    }),
  );
}
