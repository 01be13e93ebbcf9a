// Runs the whole `dist` plan: engine → base → sources → tools → builder →
// per-arch stage1/2/3 (both arches concurrently) → dist/. Progress is a
// listr2 tree on a TTY and plain lines otherwise (or with CI=true).
import { Listr, PRESET_TIMER, type ListrTask } from 'listr2';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { DockerEngine, LABEL_RUN } from '../engine/docker.ts';
import { OsforgeError, wrapError } from '../errors.ts';
import type { Plan, Arch } from '../plan/types.ts';
import { StageStore } from '../cache/stage-store.ts';
import { toolsCacheEntries, validateToolsCache } from '../cache/tools-cache.ts';
import { resolveBase, type ResolvedBase } from './base.ts';
import { fetchSources, readSource, type FetchedSource } from './fetch.ts';
import { ensureTools, toolsEnv, type ToolsResult } from './tools.ts';
import type { Buck2 } from './buck2.ts';
import { ensureBuilder, type BuilderResult } from './builder.ts';
import { stage1, stage2Package, stage3, type ArchContext, type PackageMeta, type Stage1Meta } from './bootstrap.ts';
import { openStepLog } from './step-log.ts';
import { gunzip, overlay, readEntries, type TarEntry } from '../util/tar.ts';
import { Journal, explain, type Explanation } from '../cache/journal.ts';
import type { StageGraph, StageNode } from '../plan/graph.ts';
import { distMismatch, readStamp, stampPath, writeStamp } from '../cache/dist-stamp.ts';
import { outputFormats, ossSourceArchive } from '../outputs/formats.ts';
import { buildBootArtifacts } from '../outputs/images/index.ts';
import { describe, writeDist, type PendingArtifact } from '../outputs/dist-writer.ts';
import type { Manifest, ManifestPackage, PackageOrigin } from '../outputs/manifest-types.ts';
import type { BuildIdentity } from '../util/git.ts';
import { configHash, fetchVerifiedBinary, trustedMirrorForBuild } from '../binpkg/cache-hook.ts';
import type { BinaryLookup } from './bootstrap.ts';

export interface DistOptions {
  plan: Plan;
  identity: BuildIdentity;
  graph: StageGraph;
  buck2: Buck2 | null;
  distDir: string;
  toolsCacheRoot: string;
  stateRoot: { sources: string; stages: string; logs: string; journal: string; stamps: string; layers: string; images: string };
  runId: string;
  plain: boolean;
  verbose: boolean;
  engine?: Engine;
}

interface ArchResult { stage1: Stage1Meta; packages: (PackageMeta & { output: Buffer })[]; rootfs: TarEntry[]; stage3Hit: boolean }

interface Ctx {
  base?: ResolvedBase;
  buildenv?: ResolvedBase;
  sources?: Map<string, FetchedSource>;
  tools?: ToolsResult;
  buck2?: Buck2 | null;
  builder?: BuilderResult;
  arches: Map<Arch, ArchResult>;
}

export interface DistResult {
  manifest: Manifest | null;
  upToDate: boolean;
  /** Whether the tools image came from tools-cache/ (reported, and kept in <logDir>/report.json, never in dist/). */
  toolsHit: boolean;
  logDir: string;
  explanations: Explanation[];
}

/** The warm no-op check: dist/ was written for this exact dist key and is unchanged. */
export async function distStaleReason(opts: Pick<DistOptions, 'graph' | 'distDir' | 'stateRoot'>): Promise<string | null> {
  const stamp = readStamp(stampPath(opts.stateRoot.stamps, opts.distDir));
  if (!stamp) return 'no record of a previous dist/ here';
  if (stamp.key !== opts.graph.dist.key) return 'dist inputs changed';
  return distMismatch(opts.distDir, stamp);
}

export async function runDist(opts: DistOptions): Promise<DistResult> {
  const { plan, graph } = opts;
  const logDir = join(opts.stateRoot.logs, opts.runId);
  const journal = new Journal(opts.stateRoot.journal);
  const explanations: Explanation[] = [];
  // Each stage is explained against the journal before its new inputs are recorded.
  const settle = async (n: StageNode, hit: boolean) => {
    explanations.push(explain(n, hit, journal));
    await journal.record(n);
  };

  // A no-op still proves the tools cache valid; a forced tools rebuild or a
  // broken cache must really rebuild, so neither is ever a no-op.
  if (!toolsEnv().skip && validateToolsCache(opts.toolsCacheRoot, graph.tools.key).ok && (await distStaleReason(opts)) === null) {
    for (const n of graph.nodes) explanations.push(explain(n, true, journal));
    return { manifest: null, upToDate: true, toolsHit: true, logDir, explanations };
  }

  const engine = opts.engine ?? new DockerEngine();
  // From here on a dockerd that dies or restarts fails the run within seconds.
  engine.watch();
  let phase = 'Docker engine';
  const mainLog = openStepLog(logDir, 'pipeline');
  const store = new StageStore(opts.stateRoot.stages, (m) => mainLog.write(m));
  const ctx: Ctx = { arches: new Map(), buck2: opts.buck2 };
  // Only a mirror with a trusted key is used; origins go to report.json, not dist/ (a mirror-fed dist/ must equal a built one).
  const mirror = await trustedMirrorForBuild({ log: (m) => { mainLog.write(`[binary-mirror] ${m}`); process.stderr.write(`${m}\n`); } });
  const packageOrigins: PackageOrigin[] = [];
  const binaryLookup: BinaryLookup | undefined = mirror ? async (p) => {
    const data = await fetchVerifiedBinary({
      mirrorUrl: mirror.url, publicKey: mirror.publicKey, name: p.name, version: p.version, arch: p.arch,
      configHash: configHash({ arch: p.arch, compiler: p.compiler, useFlags: [], depGraphHash: p.key }),
      log: (m) => mainLog.write(`[binary-mirror] ${m}`),
    });
    return data && { data, signerKeyId: mirror.keyId };
  } : undefined;
  const say = (task: { output: string }, prefix: string) => (line: string) => {
    mainLog.write(`[${prefix}] ${line}`);
    if (opts.plain && opts.verbose) process.stdout.write(`[${prefix}] ${line}\n`);
    else task.output = line;
  };

  const archTasks = (arch: Arch): ListrTask<Ctx>[] => {
    const nodes = graph.arches.get(arch)!;
    let actx: ArchContext;
    let s1: Stage1Meta & { output: Buffer };
    const pkgs = new Map<string, PackageMeta & { output: Buffer }>();
    return [
      {
        title: 'stage1: seed toolchain',
        task: async (_c, task) => {
          actx = {
            engine, plan, arch, builderRef: ctx.builder!.ref, sources: ctx.sources!, store,
            runId: opts.runId, logDir, innerEpoch: plan.base.sourceDateEpoch, jobs: Math.max(1, cpus().length),
            echo: opts.verbose && opts.plain ? (l) => process.stdout.write(`[${arch}] ${l}\n`) : undefined,
          };
          const r = await stage1(actx, nodes.stage1);
          await settle(nodes.stage1, r.hit);
          s1 = { ...r.meta, output: r.output };
          task.title = `stage1: ${r.meta.triple} (${r.meta.compiler}, musl ${r.meta.libcVersion})${r.hit ? ' [cached]' : ''}`;
        },
      },
      {
        title: 'stage2: packages',
        task: (_c, task) => task.newListr(plan.packages.map((recipe) => ({
          title: recipe.name,
          task: async (_c2, sub) => {
            const deps = recipe.deps.map((d) => pkgs.get(d)!).map((d) => ({ key: d.key, output: d.output }));
            const pnode = nodes.packages.get(recipe.name)!;
            const r = await stage2Package(actx, recipe, pnode, deps, s1.compiler, binaryLookup);
            await settle(pnode, r.hit);
            pkgs.set(recipe.name, { ...r.meta, output: r.output });
            const signer = r.meta.signerKeyId;
            packageOrigins.push({ arch, name: recipe.name, version: recipe.version, origin: signer ? 'mirror' : 'built', ...(signer ? { signerKeyId: signer } : {}), cached: r.hit });
            sub.title = `${recipe.name} ${recipe.version}${r.hit ? ' [cached]' : ''}${signer ? ` [binary mirror, signed by ${signer}]` : ''}`;
          },
        })), { concurrent: false }),
      },
      {
        title: 'stage3: self-hosting check',
        task: async (_c, task) => {
          const ordered = plan.packages.map((p) => pkgs.get(p.name)!);
          const rootfs = overlay(await Promise.all(ordered.map(async (p) => readEntries(gunzip(p.output)))));
          const r = await stage3(actx, nodes.stage3, rootfs, s1.output);
          await settle(nodes.stage3, r.hit);
          ctx.arches.set(arch, { stage1: s1, packages: ordered, rootfs, stage3Hit: r.hit });
          task.title = `stage3: ${r.meta.uname} rootfs runs${r.hit ? ' [cached]' : ''}`;
        },
      },
    ];
  };

  // Each top-level task records itself as the phase an engine failure is reported in.
  const tracked = (list: ListrTask<Ctx>[]): ListrTask<Ctx>[] => list.map((t) => ({ ...t, task: (c, task) => { phase = String(t.title); return t.task(c, task); } }));
  const tasks = new Listr<Ctx>(tracked([
    { title: 'Docker engine', task: async () => engine.ping() },
    {
      title: 'Base image',
      task: async (c, task) => {
        c.base = await resolveBase(engine, plan.base, 'amd64', say(task, 'base'));
        await settle(graph.base, c.base.how === 'local');
        task.title = `Base image ${c.base.ref} (${c.base.how})`;
      },
    },
    {
      title: 'Buildenv image',
      task: async (c, task) => {
        c.buildenv = await resolveBase(engine, plan.buildenv, 'amd64', say(task, 'buildenv'), { layerDir: opts.stateRoot.layers });
        await settle(graph.buildenv, c.buildenv.how === 'local');
        task.title = `Buildenv image ${c.buildenv.ref} (${c.buildenv.how}${plan.buildenv.pins.amd64 ? ', locked' : ', UNLOCKED: run osforge lock'})`;
      },
    },
    {
      title: 'Fetch sources',
      task: async (c, task) => {
        const names = [plan.toolchainSource, ...plan.packages.flatMap((p) => p.sources)];
        const specs = [...new Set(names)].map((n) => plan.sources[n]!);
        const log = openStepLog(logDir, 'fetch');
        c.sources = await fetchSources({ engine, baseRef: c.base!.ref, specs, cacheRoot: opts.stateRoot.sources, runId: opts.runId, log });
        const fresh = [...c.sources.values()].filter((s) => s.from !== 'cache').length;
        task.title = `Fetch sources: ${c.sources.size} verified (${fresh} downloaded)`;
      },
    },
    {
      title: 'Tools image',
      task: async (c, task) => {
        c.tools = await ensureTools({
          engine, plan, key: graph.tools.key, buildenvRef: c.buildenv!.ref, musl: c.sources!.get(plan.toolchainSource)!,
          cacheRoot: opts.toolsCacheRoot, sourceDateEpoch: plan.base.sourceDateEpoch, env: toolsEnv(), log: say(task, 'tools'),
          store, runId: opts.runId, logDir,
        });
        await settle(graph.tools, c.tools.hit);
        task.title = c.tools.hit ? `Tools image: tools cache hit (${c.tools.key.slice(0, 12)})` : `Tools image: compiled from source (${c.tools.reason})`;
      },
    },
    {
      title: 'Builder image',
      task: async (c, task) => {
        c.builder = await ensureBuilder({
          engine, key: graph.builder.key, buildenvLayer: c.buildenv!.layer!, toolsCacheRoot: opts.toolsCacheRoot,
          buck2: c.buck2 ?? null, sourceDateEpoch: plan.base.sourceDateEpoch,
        });
        await settle(graph.builder, !c.builder.built);
        task.title = `Builder image ${c.builder.ref}${c.builder.built ? '' : ' [cached]'}`;
      },
    },
    {
      title: 'Bootstrap',
      task: (_c, task) => task.newListr(plan.arches.map((arch) => ({
        title: arch,
        task: (_c2, sub) => sub.newListr(archTasks(arch), { concurrent: false, exitOnError: true }),
      })), { concurrent: true, exitOnError: true }),
    },
    {
      title: 'Write dist/',
      task: async (c, task) => {
        const manifest = await assembleDist(opts, c, { engine, logDir, log: say(task, 'images') });
        await writeStamp(stampPath(opts.stateRoot.stamps, opts.distDir), graph.dist.key, opts.distDir);
        await settle(graph.dist, false);
        task.title = `Write dist/: ${manifest.artifacts.length} artifacts in ${opts.distDir}`;
        (c as Ctx & { manifest?: Manifest }).manifest = manifest;
      },
    },
  ]), {
    concurrent: false,
    exitOnError: true,
    // dist.ts handles signals (container cleanup first); listr2's own handler would exit(127) mid-cleanup.
    registerSignalListeners: false,
    renderer: opts.plain ? 'simple' : 'default',
    fallbackRenderer: 'simple',
    rendererOptions: { timer: PRESET_TIMER, collapseSubtasks: false, outputBar: opts.verbose ? 20 : 1 },
    fallbackRendererOptions: { timer: PRESET_TIMER },
  } as ConstructorParameters<typeof Listr<Ctx>>[1]);

  try {
    const final = await tasks.run(ctx);
    const report = { commit: opts.identity.commit, toolsCache: { key: ctx.tools!.key, hit: ctx.tools!.hit, reason: ctx.tools!.reason }, packages: packageOrigins, explanations };
    await writeFile(join(logDir, 'report.json'), JSON.stringify(report, null, 2) + '\n');
    return { manifest: (final as Ctx & { manifest: Manifest }).manifest, upToDate: false, toolsHit: ctx.tools!.hit, logDir, explanations };
  } catch (err) {
    // Name the stage: an engine that went away mid-run is not the step's fault.
    if (err instanceof OsforgeError && err.code === 'ENGINE_UNAVAILABLE') throw wrapError(err, `stage "${phase}"`, { stage: err.context.stage ?? phase });
    throw err;
  } finally {
    engine.unwatch();
    await engine.removeByLabel(`${LABEL_RUN}=${opts.runId}`).catch(() => 0);
  }
}

async function assembleDist(opts: DistOptions, c: Ctx, run: { engine: Engine; logDir: string; log: (l: string) => void }): Promise<Manifest> {
  const { plan, identity } = opts;
  const sde = identity.sourceDateEpoch;
  const artifacts: PendingArtifact[] = [];
  const packages: ManifestPackage[] = [];
  const toolchains: Manifest['toolchains'] = {};
  for (const arch of plan.arches) {
    const r = c.arches.get(arch)!;
    const input = { arch, version: plan.version, name: plan.name, sourceDateEpoch: sde, rootfs: r.rootfs, toolchain: await toolsCacheEntries(opts.toolsCacheRoot, `opt/osforge/${arch}`) };
    for (const format of Object.values(outputFormats)) {
      artifacts.push({ path: format.fileName(plan.name, plan.version, arch), arch, kind: format.kind, data: await format.build(input) });
    }
    // Bootable images (ISO, raw, qcow2, kernel, initramfs, boot scripts); one arch at a time to spare the 2 cores.
    artifacts.push(...await buildBootArtifacts({
      engine: run.engine, baseRef: c.base!.ref, arch, name: plan.name, version: plan.version, sourceDateEpoch: sde,
      rootfs: r.rootfs, runId: opts.runId, logDir: run.logDir, sourcesCacheRoot: opts.stateRoot.sources, imagesCacheRoot: opts.stateRoot.images, log: run.log,
    }));
    toolchains[arch] = { triple: r.stage1.triple, libc: 'musl', libcVersion: r.stage1.libcVersion, compiler: r.stage1.compiler, cflags: r.stage1.cflags };
    for (const p of r.packages) {
      const recipe = plan.packages.find((x) => x.name === p.name)!;
      packages.push({
        name: p.name, version: p.version, arch, license: recipe.license, key: p.key, deps: recipe.deps,
        sources: p.sources, outputSha256: p.outputSha256,
      });
    }
  }
  const used = [...c.sources!.values()];
  artifacts.push({
    path: 'oss_source.tgz', arch: 'any', kind: 'oss-source',
    data: await ossSourceArchive(await Promise.all(used.map(async (s) => ({ file: s.file, data: await readSource(s) }))), sde),
  });
  const manifest: Manifest = {
    name: plan.name,
    version: plan.version,
    commit: identity.commit,
    dirty: identity.dirty,
    sourceDateEpoch: sde,
    artifacts: await Promise.all(artifacts.map(describe)),
    images: {
      base: { amd64: { ref: c.base!.ref, id: c.base!.id, inputHash: c.base!.inputHash } },
      buildenv: { ref: c.buildenv!.ref, id: c.buildenv!.id, inputHash: c.buildenv!.inputHash },
      tools: { ref: c.tools!.ref, id: c.tools!.id, inputHash: c.tools!.key },
      builder: { ref: c.builder!.ref, id: c.builder!.id, inputHash: c.builder!.key },
    },
    buck2: c.buck2 ? { version: c.buck2.version, sha256: c.buck2.sha256 } : null,
    toolchains,
    packages,
    sources: used.map((s) => {
      const spec = plan.sources[s.name]!;
      return { name: s.name, version: spec.version, file: s.file, sha256: s.sha256, urls: spec.urls, license: spec.license };
    }),
    toolsCache: { key: c.tools!.key },
  };
  run.log(`writing dist/: ${artifacts.length} artifacts`);
  await writeDist(opts.distDir, artifacts, manifest);
  return manifest;
}
