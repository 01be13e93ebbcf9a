// tools-cache/toolchain/: the tools image's compiled files plus index.json
// (the key over every tools-image input and a sha256 per file). A cache is
// used only when the key matches and every file verifies; anything else is
// a miss with a reason the user can read.
import { existsSync, readFileSync, lstatSync, readlinkSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tarFs from 'tar-fs';
import { sha256 } from '../util/hash.ts';
import { fsyncParent, fsyncTree, mapDiskFull } from '../util/durable.ts';
import { normalizeEntryPath, normalizeMode, packEntries, readEntries, type TarEntry } from '../util/tar.ts';
import type { StreamEntry } from '../util/tar-stream.ts';

export interface ToolsIndexFile { path: string; type: 'file' | 'symlink' | 'directory'; sha256?: string; linkname?: string; mode?: number }
export interface ToolsIndex { key: string; files: ToolsIndexFile[] }

export type Validation = { ok: true; index: ToolsIndex } | { ok: false; reason: string };

export function toolchainDir(cacheRoot: string): string {
  return join(cacheRoot, 'toolchain');
}

export function validateToolsCache(cacheRoot: string, key: string): Validation {
  const dir = toolchainDir(cacheRoot);
  const indexPath = join(dir, 'index.json');
  if (!existsSync(indexPath)) return { ok: false, reason: `${indexPath} does not exist` };
  let index: ToolsIndex;
  try {
    index = JSON.parse(readFileSync(indexPath, 'utf8')) as ToolsIndex;
  } catch (err) {
    return { ok: false, reason: `${indexPath} is not valid JSON (${(err as Error).message})` };
  }
  if (index.key !== key) return { ok: false, reason: `tools inputs changed (cached key ${String(index.key).slice(0, 12)}, wanted ${key.slice(0, 12)})` };
  if (!Array.isArray(index.files) || index.files.length === 0) return { ok: false, reason: `${indexPath} lists no files` };
  for (const f of index.files) {
    let rel: string;
    try { rel = normalizeEntryPath(f.path); } catch { return { ok: false, reason: `index lists unsafe path ${JSON.stringify(f.path)}` }; }
    const p = join(dir, 'root', rel);
    let st;
    try { st = lstatSync(p); } catch { return { ok: false, reason: `missing file ${p}` }; }
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
 * Replaces tools-cache/toolchain atomically with `entries` (paths relative to
 * the image root): the normalised tar is unpacked by tar-fs into a temp dir,
 * the index is written beside it, and the dir is renamed into place.
 */
export async function writeToolsCache(cacheRoot: string, key: string, entries: TarEntry[]): Promise<ToolsIndex> {
  const final = toolchainDir(cacheRoot);
  const tmp = `${final}.tmp-${process.pid}`;
  return mapDiskFull(cacheRoot, entries.reduce((n, e) => n + (e.data?.length ?? 0), 0), async () => {
    try {
      return await writeToolsCacheIn(tmp, final, key, entries);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
  });
}

async function writeToolsCacheIn(tmp: string, final: string, key: string, entries: TarEntry[]): Promise<ToolsIndex> {
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
  await writeFile(join(tmp, 'index.json'), JSON.stringify(index, null, 1) + '\n');
  fsyncTree(tmp);
  await rm(`${final}.old`, { recursive: true, force: true });
  if (existsSync(final)) await rename(final, `${final}.old`);
  await rename(tmp, final);
  fsyncParent(final);
  await rm(`${final}.old`, { recursive: true, force: true });
  return index;
}

/** The cached tree as tar entries, optionally only below `under` (e.g. "opt/osforge/amd64"). */
/** The cached toolchain's entries, with file data left on disk (streamed by packStream). */
export async function toolsCacheFiles(cacheRoot: string, under?: string): Promise<StreamEntry[]> {
  const dir = toolchainDir(cacheRoot);
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as ToolsIndex;
  const out: StreamEntry[] = [];
  for (const f of index.files) {
    if (under && f.path !== under && !f.path.startsWith(`${under}/`)) continue;
    if (f.type === 'file') out.push({ path: f.path, type: 'file', mode: f.mode ?? 0o644, data: { file: join(dir, 'root', f.path) } });
    else if (f.type === 'symlink') out.push({ path: f.path, type: 'symlink', mode: 0o777, linkname: f.linkname });
    else out.push({ path: f.path, type: 'directory', mode: 0o755 });
  }
  return out;
}

export async function toolsCacheEntries(cacheRoot: string, under?: string): Promise<TarEntry[]> {
  return Promise.all((await toolsCacheFiles(cacheRoot, under)).map(async ({ data, ...e }) => (data ? { ...e, data: await readFile((data as { file: string }).file) } : e) as TarEntry));
}
