// Tools image: compiled once from source, then always assembled from
// tools-cache/ as a deterministic docker-archive (FROM scratch + the cached
// files), so a cache hit recreates it in seconds and its image ID is the
// same whether or not the toolchain was compiled in this run.
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Engine } from '../engine/docker.ts';
import { dockerArchive } from '../engine/docker-archive.ts';
import { sha256 } from '../util/hash.ts';
import { packEntries, readEntries } from '../util/tar.ts';
import { toolsCacheEntries, validateToolsCache, writeToolsCache, toolchainDir } from '../cache/tools-cache.ts';
import type { Plan } from '../plan/types.ts';
import type { FetchedSource } from './fetch.ts';
import { readSource } from './fetch.ts';

export interface ToolsResult { ref: string; id: string; key: string; hit: boolean; reason: string }

export interface ToolsEnv { skip: boolean; ciRestored: boolean }

export function toolsEnv(env = process.env): ToolsEnv {
  return { skip: env.SKIP_TOOLS_CACHE === '1' || env.SKIP_TOOLS_CACHE === 'true', ciRestored: env.TOOLS_CACHE_HIT === 'true' };
}

export async function ensureTools(opts: {
  engine: Engine; plan: Plan; key: string; buildenvRef: string; musl: FetchedSource; cacheRoot: string;
  sourceDateEpoch: number; env: ToolsEnv; log: (l: string) => void;
}): Promise<ToolsResult> {
  const { engine, plan, key, log } = opts;
  const ref = `osforge/tools:${key.slice(0, 12)}`;

  let reason: string;
  if (opts.env.skip) {
    reason = 'SKIP_TOOLS_CACHE=1 forces a rebuild';
  } else {
    const v = validateToolsCache(opts.cacheRoot, key);
    if (v.ok) {
      log(`tools cache hit (${key.slice(0, 12)}${opts.env.ciRestored ? ', restored by CI and validated' : ''})`);
      const id = await loadToolsImage(engine, opts.cacheRoot, ref, key, opts.sourceDateEpoch);
      return { ref, id, key, hit: true, reason: 'valid cache' };
    }
    reason = opts.env.ciRestored ? `TOOLS_CACHE_HIT=true but the restored cache is invalid: ${v.reason}` : v.reason;
  }
  log(`tools cache miss: ${reason}; compiling the toolchain from source`);
  const context = await packEntries([
    ...Object.entries(plan.imageFiles.tools).map(([path, data]) => ({ path, type: 'file' as const, mode: path.endsWith('.sh') ? 0o755 : 0o644, data })),
    { path: `sources/${opts.musl.file}`, type: 'file', mode: 0o644, data: await readSource(opts.musl) },
  ], opts.sourceDateEpoch);
  const buildRef = `osforge/tools-build:${key.slice(0, 12)}`;
  // nocache: a miss must really compile, not replay Docker's layer cache.
  await engine.buildImage({
    context, tag: buildRef, nocache: true, onLog: log,
    buildArgs: { BUILDENV: opts.buildenvRef, MUSL_FILE: opts.musl.file, MUSL_SHA256: opts.musl.sha256 },
  });
  try {
    const tar = await engine.exportPath(buildRef, '/opt/osforge');
    const entries = (await readEntries(tar)).filter((e) => e.path === 'osforge' || e.path.startsWith('osforge/'));
    const index = await writeToolsCache(opts.cacheRoot, key, entries.map((e) => ({ ...e, path: `opt/${e.path}` })));
    log(`tools cache written: ${index.files.length} entries in ${toolchainDir(opts.cacheRoot)}`);
  } finally {
    await engine.docker.getImage(buildRef).remove({ force: true }).catch(() => undefined);
  }
  const id = await loadToolsImage(engine, opts.cacheRoot, ref, key, opts.sourceDateEpoch);
  return { ref, id, key, hit: false, reason };
}

/** The cached tools tree as one deterministic layer (also the builder's middle layer). */
export async function toolsLayer(cacheRoot: string, epoch: number): Promise<Buffer> {
  return packEntries(await toolsCacheEntries(cacheRoot), epoch);
}

/** Loads the tools image from the validated cache unless the identical image is already present. */
async function loadToolsImage(engine: Engine, cacheRoot: string, ref: string, key: string, epoch: number): Promise<string> {
  const layer = await toolsLayer(cacheRoot, epoch);
  const existing = await engine.inspectImage(ref);
  if (existing && existing.layers.length === 1 && existing.layers[0] === sha256(layer)) return existing.id;
  const work = await mkdtemp(join(tmpdir(), 'osforge-tools-'));
  try {
    await writeFile(join(work, 'layer.tar'), layer);
    const { stream, imageId } = await dockerArchive([{ path: join(work, 'layer.tar'), digest: sha256(layer) }], ref, {
      arch: 'amd64', createdEpoch: epoch, cmd: ['/nonexistent'], labels: { 'osforge.tools.key': key },
    });
    await engine.loadImage(stream);
    return imageId;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
