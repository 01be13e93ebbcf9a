// Tools image: compiled once from source, then recreated from tools-cache/
// in seconds (FROM scratch + COPY) while its inputs stay the same.
import type { Engine } from '../engine/docker.ts';
import { packEntries, readEntries, type TarEntry } from '../util/tar.ts';
import { validateToolsCache, writeToolsCache, toolchainDir } from '../cache/tools-cache.ts';
import type { Plan } from '../plan/types.ts';
import type { FetchedSource } from './fetch.ts';
import { readSource } from './fetch.ts';
import { readTree } from '../plan/load.ts';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';

export interface ToolsResult { ref: string; id: string; key: string; hit: boolean; reason: string }

export interface ToolsEnv { skip: boolean; ciRestored: boolean }

export function toolsEnv(env = process.env): ToolsEnv {
  return { skip: env.SKIP_TOOLS_CACHE === '1' || env.SKIP_TOOLS_CACHE === 'true', ciRestored: env.TOOLS_CACHE_HIT === 'true' };
}

export async function ensureTools(opts: {
  engine: Engine; plan: Plan; key: string; baseRef: string; musl: FetchedSource; cacheRoot: string;
  sourceDateEpoch: number; env: ToolsEnv; log: (l: string) => void;
}): Promise<ToolsResult> {
  const { engine, plan, log } = opts;
  const key = opts.key;
  const ref = `osforge/tools:${key.slice(0, 12)}`;

  let reason: string;
  if (opts.env.skip) {
    reason = 'SKIP_TOOLS_CACHE=1 forces a rebuild';
  } else {
    const v = validateToolsCache(opts.cacheRoot, key);
    if (v.ok) {
      log(`tools cache hit (${key.slice(0, 12)}${opts.env.ciRestored ? ', restored by CI and validated' : ''})`);
      const id = await imageFromCache(engine, opts.cacheRoot, ref, key);
      return { ref, id, key, hit: true, reason: 'valid cache' };
    }
    reason = opts.env.ciRestored ? `TOOLS_CACHE_HIT=true but the restored cache is invalid: ${v.reason}` : v.reason;
  }
  log(`tools cache miss: ${reason}; compiling the toolchain from source`);
  const context = await packEntries([
    ...Object.entries(plan.imageFiles.tools).map(([path, data]) => ({ path, type: 'file' as const, mode: path.endsWith('.sh') ? 0o755 : 0o644, data })),
    { path: `sources/${opts.musl.file}`, type: 'file', mode: 0o644, data: await readSource(opts.musl) },
  ], opts.sourceDateEpoch);
  // nocache: a miss must really compile, not replay Docker's layer cache.
  const id = await engine.buildImage({
    context, tag: ref, nocache: true, onLog: log,
    buildArgs: { BASE: opts.baseRef, MUSL_FILE: opts.musl.file, MUSL_SHA256: opts.musl.sha256, SOURCE_DATE_EPOCH: String(opts.sourceDateEpoch) },
    labels: { 'osforge.tools.key': key },
  });
  const tar = await engine.exportPath(ref, '/opt/osforge');
  const entries = (await readEntries(tar)).filter((e) => e.path.startsWith('osforge/') || e.path === 'osforge');
  const index = await writeToolsCache(opts.cacheRoot, key, entries.map((e) => ({ ...e, path: `opt/${e.path}` })));
  log(`tools cache written: ${index.files.length} entries in ${toolchainDir(opts.cacheRoot)}`);
  return { ref, id, key, hit: false, reason };
}

/** Recreates the tools image from the validated cache unless it is already present. */
async function imageFromCache(engine: Engine, cacheRoot: string, ref: string, key: string): Promise<string> {
  const existing = await engine.inspectImage(ref);
  if (existing && existing.labels['osforge.tools.key'] === key) return existing.id;
  const root = join(toolchainDir(cacheRoot), 'root');
  const index = JSON.parse(await readFile(join(toolchainDir(cacheRoot), 'index.json'), 'utf8')) as { files: { path: string; type: string; linkname?: string; mode?: number }[] };
  const tree = readTree(root);
  const entries: TarEntry[] = index.files.map((f) => f.type === 'file'
    ? { path: `ctx/${f.path}`, type: 'file', mode: f.mode ?? 0o644, data: tree[f.path]! }
    : f.type === 'symlink' ? { path: `ctx/${f.path}`, type: 'symlink', mode: 0o777, linkname: f.linkname } : { path: `ctx/${f.path}`, type: 'directory', mode: 0o755 });
  entries.push({ path: 'Dockerfile', type: 'file', mode: 0o644, data: Buffer.from(`FROM scratch\nCOPY ctx/ /\nLABEL osforge.tools.key=${key}\n`) });
  return engine.buildImage({ context: await packEntries(entries, 0), tag: ref, onLog: () => undefined });
}
