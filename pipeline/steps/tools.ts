// Tools image: compiled once from source, then always assembled from
// tools-cache/ as a deterministic docker-archive (FROM scratch + the cached
// files), so a cache hit recreates it in seconds and its image ID is the
// same whether or not the toolchain was compiled in this run.
// The compile is one container step per arch (images/tools/build-musl.sh in
// the buildenv image), each stored in the stage store like a stage output:
// a run killed mid-compile loses only the arch in flight, and the step's
// container dies with the run (no all-or-nothing `docker build`).
// A cache is used only when someone vouches for it (this machine's stage
// store, or a configured cache key: toolsCacheTrust); a restored cache nobody
// vouches for is rebuilt with a warning, since it may be a forgery.
import { writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Engine } from '../engine/engine.ts';
import { runStep } from './step.ts';
import { readOutput, type StageStore, type StageMeta } from '../cache/stage-store.ts';
import type { Arch } from '../plan/types.ts';
import { ARCHES, archInfo } from '../model/arch.ts';
import { keyOf } from '../util/hash.ts';
import { gunzip, gzip, type TarEntry } from '../util/tar.ts';
import { openStepLog } from './step-log.ts';
import { dockerArchive } from '../engine/docker-archive.ts';
import { sha256 } from '../util/hash.ts';
import { packEntries, readEntries } from '../util/tar.ts';
import {
  TOOLS_CACHE_KEY_ENV,
  TOOLS_CACHE_PUBKEY_ENV,
  toolsCacheEntries,
  validateToolsCache,
  writeToolsCache,
  toolchainDir,
  type ToolsCacheTrust,
} from '../cache/tools-cache.ts';
import type { Plan } from '../plan/types.ts';
import type { FetchedSource } from './fetch.ts';
import { readSource } from './fetch.ts';
import { stateTempDir } from './temp.ts';
import { wrapError } from '../errors.ts';
import { settings } from '../settings.ts';

export interface ToolsResult {
  ref: string;
  id: string;
  key: string;
  hit: boolean;
  reason: string;
}

export interface ToolsEnv {
  skip: boolean;
  ciRestored: boolean;
}

export function toolsEnv(env = process.env): ToolsEnv {
  const { skip, ciRestored } = settings(env).toolsCacheUse;
  return { skip, ciRestored };
}

/**
 * Who vouches for tools-cache/: the stage store always (what this machine
 * wrote), $OSFORGE_TOOLS_CACHE_PUBKEY when set (a cache signed elsewhere,
 * e.g. restored by CI), and $OSFORGE_TOOLS_CACHE_KEY (password from
 * $COSIGN_PASSWORD) to sign what is written, loaded only when `sign`: a
 * presence check never needs the password. The keys stay in this process:
 * no stage container ever sees them.
 */
export async function toolsCacheTrust(store: StageStore, opts: { sign: boolean }, env: NodeJS.ProcessEnv = process.env): Promise<ToolsCacheTrust> {
  const { pubkey: pub, key: priv } = settings(env).toolsCacheUse;
  if (!pub && !(opts.sign && priv)) return { store };
  const { loadSigningKey, loadVerifyKey } = await import('../crypto/keyfile.ts');
  const verifyKey = pub
    ? await loadVerifyKey(pub).catch((err: unknown) => {
        throw wrapError(err, TOOLS_CACHE_PUBKEY_ENV);
      })
    : undefined;
  // keyfile.ts's `from` names the variable in messages; its union does not list this one yet.
  const signKey =
    opts.sign && priv ? (await loadSigningKey({ path: priv, from: TOOLS_CACHE_KEY_ENV as 'OSFORGE_SHARED_CACHE_KEY' }, env)).privateKey : undefined;
  return { store, verifyKey, signKey };
}

/** The arches the seed toolchain is compiled for, each one resumable step: every arch of the table. */
export const TOOLS_ARCHES: readonly Arch[] = ARCHES;

export interface ToolsOptions {
  engine: Engine;
  plan: Plan;
  key: string;
  buildenvRef: string;
  musl: FetchedSource;
  cacheRoot: string;
  sourceDateEpoch: number;
  env: ToolsEnv;
  log: (l: string) => void;
  /** Where finished per-arch steps are kept; a rerun after a kill resumes from them. */
  store: StageStore;
  runId: string;
  logDir: string;
  /** Who vouches for tools-cache/ (toolsCacheTrust); a cache nobody vouches for is rebuilt. */
  trust: ToolsCacheTrust;
}

export async function ensureTools(opts: ToolsOptions): Promise<ToolsResult> {
  const { engine, key, log } = opts;
  const ref = `osforge/tools:${key.slice(0, 12)}`;

  let reason: string;
  if (opts.env.skip) {
    reason = 'SKIP_TOOLS_CACHE=1 forces a rebuild';
  } else {
    const v = await validateToolsCache(opts.cacheRoot, key, opts.trust);
    if (v.ok) {
      log(`tools cache hit (${key.slice(0, 12)}${opts.env.ciRestored ? ', restored by CI and validated' : ''})`);
      const id = await loadToolsImage(engine, opts.cacheRoot, ref, key, opts.sourceDateEpoch);
      return { ref, id, key, hit: true, reason: 'valid cache' };
    }
    reason = opts.env.ciRestored ? `TOOLS_CACHE_HIT=true but the restored cache is invalid: ${v.reason}` : v.reason;
    // A cache that is there but refused is worth a warning of its own: it may be a forgery, not just stale.
    if (v.untrusted) log(`warning: tools cache refused: ${reason}; rebuilding it`);
  }
  log(`tools cache miss: ${reason}; compiling the toolchain from source`);
  const entries: TarEntry[] = [{ path: 'opt/osforge', type: 'directory', mode: 0o755 }];
  for (const arch of TOOLS_ARCHES) {
    const tree = await compileStep(opts, arch);
    entries.push(...tree.map((e) => ({ ...e, path: `opt/osforge/${e.path}` })));
  }
  const index = await writeToolsCache(opts.cacheRoot, key, entries, opts.trust);
  log(`tools cache written: ${index.files.length} entries in ${toolchainDir(opts.cacheRoot)}${opts.trust.signKey ? ', index.json signed' : ''}`);
  const id = await loadToolsImage(engine, opts.cacheRoot, ref, key, opts.sourceDateEpoch);
  return { ref, id, key, hit: false, reason };
}

/** The key of one arch's compile step: the tools key covers the buildenv, the musl pin and images/tools/. */
export function toolsStepKey(toolsKey: string, arch: Arch): string {
  return keyOf(['tools-step/v1', toolsKey, arch]);
}

interface ToolsStepMeta extends StageMeta {
  arch: Arch;
}

/** Compiles musl for one arch (or takes the finished step from the store); returns /opt/osforge/<arch> as entries. */
async function compileStep(opts: ToolsOptions, arch: Arch): Promise<TarEntry[]> {
  const key = toolsStepKey(opts.key, arch);
  const build = async () => {
    opts.log(`compiling musl for ${arch}`);
    const log = openStepLog(opts.logDir, `tools-${arch}`);
    const inputs = await packEntries(
      [
        ...Object.entries(opts.plan.imageFiles.tools).map(([path, data]) => ({
          path: `tools/${path}`,
          type: 'file' as const,
          mode: path.endsWith('.sh') ? 0o755 : 0o644,
          data,
        })),
        { path: `src/${opts.musl.file}`, type: 'file', mode: 0o644, data: await readSource(opts.musl) },
      ],
      opts.sourceDateEpoch,
    );
    const res = await runStep({
      engine: opts.engine,
      image: opts.buildenvRef,
      inputs: [{ dir: '/', tar: inputs }],
      outputs: [`/opt/osforge/${arch}`],
      // Arguments, not environment: the image's environment stays exactly what the compile always saw.
      cmd: [
        'sh',
        '-c',
        'echo "$4  /src/$3" | sha256sum -c - && sh /tools/build-musl.sh "$1" "$2" "/src/$3"',
        'tools',
        arch,
        archInfo(arch).gnuTriple,
        opts.musl.file,
        opts.musl.sha256,
      ],
      runId: opts.runId,
      stage: `tools:${arch}`,
      arch,
      log: {
        ...log,
        write: (l: string) => {
          log.write(l);
          opts.log(l);
        },
      },
      hint: 'fix images/tools/build-musl.sh',
    });
    const tree = await readEntries(res.outputs.get(`/opt/osforge/${arch}`)!);
    return opts.store.put<ToolsStepMeta>({ key, kind: 'tools-step', arch }, gzip(await packEntries(tree, opts.sourceDateEpoch)));
  };
  // A forced rebuild (SKIP_TOOLS_CACHE=1) must really compile, so it skips finished steps too.
  const entry = opts.env.skip ? await build() : await opts.store.getOrBuild<ToolsStepMeta>(key, build);
  if ('hit' in entry && entry.hit) opts.log(`musl for ${arch}: finished step ${key.slice(0, 12)} from an earlier run`);
  return readEntries(gunzip(await readOutput(entry)));
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
  const work = await stateTempDir('osforge-tools');
  try {
    await writeFile(join(work, 'layer.tar'), layer);
    const { stream, imageId } = await dockerArchive([{ path: join(work, 'layer.tar'), digest: sha256(layer) }], ref, {
      arch: 'amd64',
      createdEpoch: epoch,
      cmd: ['/nonexistent'],
      labels: { 'osforge.tools.key': key },
    });
    await engine.loadImage(stream);
    return imageId;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
