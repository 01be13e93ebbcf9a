// compile(plan) → every stage of a build, resolved before any container
// exists (melange's Compile): ids, dependencies, keys (from graph/keys.ts),
// weights and what each stage runs. Pure: the imager's files come in as data,
// and no I/O happens until a stage's `present` or `run` is called.
import { existsSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import type { Plan } from '../plan/types.ts';
import { archInfo } from '../model/arch.ts';
import { node, sourcePin, type StageGraph, type StageNode } from './keys.ts';
import { keyOf, sha256 } from '../util/hash.ts';
import { baseRef, resolveBase } from '../steps/base.ts';
import { fetchSources, debianExpectation } from '../steps/fetch.ts';
import { ensureTools, toolsCacheTrust, toolsEnv } from '../steps/tools.ts';
import { ensureBuilder } from '../steps/builder.ts';
import { dropHeld, holdStage2, stage1, stage2Package, stage3, type ArchContext, type HeldStage2 } from '../steps/bootstrap.ts';
import { openStepLog } from '../steps/step-log.ts';
import { validateToolsCache, toolsCacheFiles } from '../cache/tools-cache.ts';
import { sourceCachePath } from '../cache/source-cache.ts';
import { chain, gzipStream, mergeLayers } from '../util/tar-stream.ts';
import { legalComponents, legalInfoArchive, legalInfoInputs, legalSources } from '../outputs/legal-info.ts';
import { outputFormats } from '../outputs/formats.ts';
import { imageSteps } from '../outputs/images/steps.ts';
import { setArtifactName, setIdSuffix } from '../plan/image-sets.ts';
import { stepContext } from '../outputs/images/index.ts';
import { imageStep } from '../steps/image-step.ts';
import { buildKernel } from '../steps/kernel.ts';
import { buildGrub } from '../steps/grub.ts';
import { GRUB_SOURCE, KERNEL_SOURCE, type BuiltGrub, type BuiltKernel, type FileValue, type RootfsValue } from '../model/step-outputs.ts';
import { grubInputs, kernelInputs } from './keys.ts';
import { ensureImager } from '../steps/imager.ts';
import { distState, assembleDist } from './assemble-dist.ts';
import { Outputs, type BuildStage, type Ref, type StageEnv, type StageResult } from './stage.ts';
import type { ArchRefs, DistRefs, PackageValue, SetRefs, Stage1Value } from './values.ts';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Manifest } from '../model/manifest.ts';

export interface Compiled {
  stages: BuildStage[];
  byId: Map<string, BuildStage>;
  /** Typed references to the outputs the run and dist/'s assembly read. */
  refs: DistRefs;
  /** The dist stage's output: the manifest it wrote. */
  dist: Ref<Manifest>;
}

export type { FileValue, RootfsValue, PackageValue, Stage1Value };

const result = <V>(value: V, hit: boolean, title: string, bytes?: number): StageResult<V> => ({ value, hit, title, bytes });
const cached = (hit: boolean) => (hit ? ' [cached]' : '');

/** Bytes of a stored output: a file, or every file under a directory entry. */
async function sizeOf(path: string): Promise<number> {
  const st = await stat(path);
  if (!st.isDirectory()) return st.size;
  let n = 0;
  for (const e of await readdir(path)) n += await sizeOf(join(path, e));
  return n;
}

/**
 * Every stage of a build. Weights: most steps count as one core; the
 * toolchain compile takes the whole budget. `graph` holds the keys.
 */
export function compile(plan: Plan, graph: StageGraph, budget: number, imagerFiles: Readonly<Record<string, Buffer>>): Compiled {
  // An arch the table does not know fails here, before anything runs, naming the table.
  for (const arch of plan.arches) archInfo(arch);
  const stages: BuildStage[] = [];
  // The stage's run returns a V, so the reference it hands back reads a V.
  type Spec<V> = Omit<BuildStage, 'weight' | 'cost' | 'run'> &
    Partial<Pick<BuildStage, 'weight' | 'cost'>> & { run(env: StageEnv, deps: Outputs): Promise<StageResult<V>> };
  const add = <V>(s: Spec<V>): Ref<V> => {
    stages.push({ weight: 1, cost: 30, ...s });
    return { id: s.id };
  };
  const fromNode = (n: StageNode) => ({ id: n.id, key: n.key, inputs: n.inputs });
  const sde = graph.dist.inputs.find(([k]) => k === 'source-date-epoch')![1];

  const baseOut = add({
    ...fromNode(graph.base),
    deps: [],
    title: 'Base image',
    cost: 120,
    present: (p) => p.imageExists(baseRef(plan.base, 'amd64')),
    run: async (env) => {
      const base = await resolveBase(env.engine, plan.base, 'amd64', (l) => env.progress(graph.base.id, l));
      return result(base, base.how === 'local', `Base image ${base.ref} (${base.how})`);
    },
  });
  const buildenvOut = add({
    ...fromNode(graph.buildenv),
    deps: [],
    title: 'Buildenv image',
    cost: 180,
    present: async (p) => existsSync(join(p.stateRoot.layers, `${graph.buildenv.inputs[0]![1]}.tar`)) && p.imageExists(baseRef(plan.buildenv, 'amd64')),
    run: async (env) => {
      const b = await resolveBase(env.engine, plan.buildenv, 'amd64', (l) => env.progress(graph.buildenv.id, l), { layerDir: env.stateRoot.layers });
      return result(b, b.how === 'local', `Buildenv image ${b.ref} (${b.how}${plan.buildenv.pins.amd64 ? ', locked' : ', UNLOCKED: run osforge lock'})`);
    },
  });

  // The kernel build image: bootstrapped like the buildenv (its own root, so the buildenv and builder keys stay put).
  const kb = kernelInputs(plan);
  const kernelBuildOut = add({
    ...fromNode(graph.kernelBuild),
    deps: [],
    title: 'Kernel build image',
    cost: 180,
    present: (p) => p.imageExists(baseRef(plan.kernelBuild!, 'amd64')),
    run: async (env) => {
      const b = await resolveBase(env.engine, plan.kernelBuild!, 'amd64', (l) => env.progress(graph.kernelBuild.id, l));
      return result(
        b,
        b.how === 'local',
        `Kernel build image ${b.ref} (${b.how}${plan.kernelBuild!.pins.amd64 ? ', locked' : ', UNLOCKED: run osforge lock'})`,
      );
    },
  });

  // oss_source.tgz ships the source of everything that ships (legal-info.ts), Linux and GRUB included, so all of it is fetched.
  const legal = legalComponents(plan);
  const sourceSpecs = [...new Set([plan.toolchainSource, ...plan.packages.flatMap((p) => p.sources), KERNEL_SOURCE, GRUB_SOURCE, ...legalSources(legal)])].map(
    (n) => plan.sources[n]!,
  );
  const sources = node(
    'sources',
    sourceSpecs.map((s) => [`source:${s.name}`, sourcePin(s)]),
  );
  const sourcesOut = add({
    ...fromNode(sources),
    deps: [graph.base.id],
    title: 'Fetch sources',
    cost: 20,
    present: async (p) =>
      sourceSpecs.every(
        (s) =>
          existsSync(sourceCachePath(p.stateRoot.sources, s.file)) ||
          (debianExpectation(s) !== null && existsSync(sourceCachePath(p.stateRoot.sources, debianExpectation(s)!.file))),
      ),
    run: async (env, deps) => {
      const got = await fetchSources({
        engine: env.engine,
        baseRef: deps.get(baseOut).ref,
        specs: sourceSpecs,
        cacheRoot: env.stateRoot.sources,
        runId: env.runId,
        log: openStepLog(env.logDir, 'fetch'),
      });
      const fresh = [...got.values()].filter((s) => s.from !== 'cache').length;
      return result(got, fresh === 0, `Fetch sources: ${got.size} verified (${fresh} downloaded)`);
    },
  });
  const fetched = (deps: Outputs) => deps.get(sourcesOut);

  const toolsOut = add({
    ...fromNode(graph.tools),
    deps: [graph.buildenv.id, sources.id],
    title: 'Tools image',
    weight: budget,
    cost: 600,
    present: async (p) => !toolsEnv().skip && (await validateToolsCache(p.toolsCacheRoot, graph.tools.key, await toolsCacheTrust(p.store, { sign: false }))).ok,
    run: async (env, deps) => {
      const t = await ensureTools({
        engine: env.engine,
        plan,
        key: graph.tools.key,
        buildenvRef: deps.get(buildenvOut).ref,
        musl: fetched(deps).get(plan.toolchainSource)!,
        cacheRoot: env.toolsCacheRoot,
        sourceDateEpoch: plan.base.sourceDateEpoch,
        env: toolsEnv(),
        log: (l) => env.progress(graph.tools.id, l),
        store: env.store,
        runId: env.runId,
        logDir: env.logDir,
        trust: await toolsCacheTrust(env.store, { sign: true }),
      });
      return result(t, t.hit, t.hit ? `Tools image: tools cache hit (${t.key.slice(0, 12)})` : `Tools image: compiled from source (${t.reason})`);
    },
  });
  const builderOut = add({
    ...fromNode(graph.builder),
    deps: [graph.buildenv.id, graph.tools.id],
    title: 'Builder image',
    cost: 20,
    present: (p) => p.imageExists(`osforge/builder:${graph.builder.key.slice(0, 12)}`),
    run: async (env, deps) => {
      const b = await ensureBuilder({
        engine: env.engine,
        key: graph.builder.key,
        buildenvLayer: deps.get(buildenvOut).layer!,
        toolsCacheRoot: env.toolsCacheRoot,
        buck2: env.buck2,
        sourceDateEpoch: plan.base.sourceDateEpoch,
      });
      return result(b, !b.built, `Builder image ${b.ref}${cached(!b.built)}`);
    },
  });

  const imagerDockerfile = sha256(imagerFiles.Dockerfile ?? '');
  const imager = node('imager', [
    ['base', graph.base.key],
    ['dockerfile', imagerDockerfile],
  ]);
  const imagerOut = add({
    ...fromNode(imager),
    deps: [graph.base.id],
    title: 'Imager image',
    cost: 60,
    // The imager's tag is derived from the base image's ID, known only from the engine.
    present: async (p) => p.imageExists(baseRef(plan.base, 'amd64')),
    run: async (env, deps) => {
      const before = Date.now();
      const im = await ensureImager(env.engine, deps.get(baseOut).ref, Number(sde), (l) => env.progress(imager.id, l));
      return result(im, Date.now() - before < 2000, `Imager image ${im.ref}`);
    },
  });

  const scriptsKey = keyOf(
    Object.entries(imagerFiles)
      .filter(([p]) => p !== 'Dockerfile')
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([p, c]) => `${p}:${sha256(c)}`),
  );
  const oss = node('oss-source', legalInfoInputs(plan, legal, sde));
  const ossOut = add({
    ...fromNode(oss),
    deps: [sources.id],
    title: 'oss_source.tgz',
    cost: 10,
    storeKey: oss.key,
    present: async (p) => p.store.has(oss.key),
    run: async (env, deps) => {
      const e = await env.store.getOrBuild(oss.key, async () =>
        env.store.put({ key: oss.key, kind: 'oss-source' }, await legalInfoArchive(plan, legal, fetched(deps), Number(sde))),
      );
      return result(
        { path: e.path, sha256: e.meta.outputSha256! } satisfies FileValue,
        e.hit,
        `oss_source.tgz: ${legal.length} components${cached(e.hit)}`,
        await sizeOf(e.path),
      );
    },
  });

  const archRefs = new Map<string, ArchRefs>();
  for (const arch of plan.arches) {
    const nodes = graph.arches.get(arch)!;
    const archCtx = (env: StageEnv, deps: Outputs, id: string): ArchContext => ({
      engine: env.engine,
      plan,
      arch,
      builderRef: deps.get(builderOut).ref,
      sources: fetched(deps),
      store: env.store,
      runId: env.runId,
      logDir: env.logDir,
      innerEpoch: plan.base.sourceDateEpoch,
      jobs: budget,
      echo: env.echo && ((l) => env.echo!(`[${arch}] ${l}`)),
      onContainerStart: () => env.containerStarted(id),
    });
    const stage1Out = add({
      ...fromNode(nodes.stage1),
      deps: [graph.builder.id, sources.id],
      title: `stage1 ${arch}: seed toolchain`,
      cost: 30,
      placement: arch,
      storeKey: nodes.stage1.key,
      present: async (p) => p.store.has(nodes.stage1.key),
      run: async (env, deps) => {
        const r = await stage1(archCtx(env, deps, nodes.stage1.id), nodes.stage1);
        return result(
          { meta: r.meta, path: r.path } satisfies Stage1Value,
          r.hit,
          `stage1 ${arch}: ${r.meta.triple} (${r.meta.compiler}, musl ${r.meta.libcVersion})${cached(r.hit)}`,
        );
      },
    });
    const packageOuts = new Map<string, Ref<PackageValue>>();
    for (const recipe of plan.packages) {
      const n = nodes.packages.get(recipe.id)!;
      const depIds = recipe.deps.map((d) => nodes.packages.get(d)!.id);
      // Recipes come in dependency order (plan/resolve.ts), so every dependency's reference exists here.
      const depOuts = recipe.deps.map((d) => packageOuts.get(d)!);
      packageOuts.set(
        recipe.id,
        add({
          ...fromNode(n),
          deps: [nodes.stage1.id, graph.builder.id, sources.id, ...depIds],
          title: `stage2 ${arch}: ${recipe.id} ${recipe.version}`,
          cost: 60,
          placement: arch,
          storeKey: n.key,
          present: async (p) => p.store.has(n.key),
          // The builder and the sources are all a stage2 container needs to start; the packages it depends on come later.
          hold: (env, done) =>
            done.has(builderOut) && done.has(sourcesOut) && !env.store.has(n.key) && !env.binaryLookup
              ? holdStage2(archCtx(env, done, n.id), recipe).then((h) => ({ ...h, drop: () => dropHeld(h) }))
              : undefined,
          run: async (env, deps) => {
            const built = depOuts.map((o) => deps.get(o));
            const s1 = deps.get(stage1Out);
            const r = await stage2Package(
              archCtx(env, deps, n.id),
              recipe,
              n,
              built.map((b) => ({ key: b.key, path: b.path })),
              s1.meta.compiler,
              env.binaryLookup,
              env.takeHeld(n.id) as Promise<HeldStage2 | undefined> | undefined,
            );
            const signer = r.meta.signerKeyId;
            return result(
              { meta: r.meta, path: r.path, key: n.key } satisfies PackageValue,
              r.hit,
              `stage2 ${arch}: ${recipe.id} ${recipe.version}${cached(r.hit)}${signer ? ` [binary mirror, signed by ${signer}]` : ''}`,
              await sizeOf(r.path),
            );
          },
        }),
      );
    }
    const pkgIds = plan.packages.map((p) => nodes.packages.get(p.id)!.id);
    const packagesOf = (deps: Outputs, ids: readonly string[] = plan.packages.map((p) => p.id)) => ids.map((id) => deps.get(packageOuts.get(id)!));
    add({
      ...fromNode(nodes.stage3),
      deps: [nodes.stage1.id, graph.builder.id, sources.id, ...pkgIds],
      title: `stage3 ${arch}: self-hosting check`,
      cost: 20,
      placement: arch,
      storeKey: nodes.stage3.key,
      present: async (p) => p.store.has(nodes.stage3.key),
      run: async (env, deps) => {
        const r = await stage3(archCtx(env, deps, nodes.stage3.id), nodes.stage3, packagesOf(deps), deps.get(stage1Out).path);
        return result(r.meta, r.hit, `stage3 ${arch}: ${r.meta.uname} rootfs runs${cached(r.hit)}`);
      },
    });

    // The kernel takes every core it is given (make -j), so it weighs the whole budget.
    // Its store entry is under kernelKey() itself (the node's one input), as the standalone kernel build uses.
    const kernelEntry = nodes.kernel.inputs[0]![1];
    const kernelOut = add({
      ...fromNode(nodes.kernel),
      deps: [graph.kernelBuild.id, sources.id],
      title: `kernel ${arch}`,
      weight: budget,
      cost: 400,
      storeKey: kernelEntry,
      present: async (p) => p.store.has(kernelEntry),
      run: async (env, deps) => {
        const image = deps.get(kernelBuildOut);
        const r = await buildKernel({
          engine: env.engine,
          store: env.store,
          arch,
          key: kernelEntry,
          source: fetched(deps).get(KERNEL_SOURCE)!,
          fragments: kb.fragments,
          image: { ref: image.ref, key: kb.imageKey, arch: 'amd64' },
          sourceDateEpoch: kb.sourceDateEpoch,
          runId: env.runId,
          logDir: env.logDir,
          jobs: budget,
          echo: env.echo && ((l) => env.echo!(`[${arch}] ${l}`)),
        });
        return result({ dir: r.path, meta: r.meta } satisfies BuiltKernel, r.hit, `kernel ${arch}: ${r.meta.release}${cached(r.hit)}`, await sizeOf(r.path));
      },
    });

    // GRUB builds with make -j like the kernel; its entry is under grubKey() (the node's one input).
    const gi = grubInputs(plan, arch);
    const grubEntry = nodes.grub.inputs[0]![1];
    const grubOut = add({
      ...fromNode(nodes.grub),
      deps: [graph.kernelBuild.id, sources.id],
      title: `GRUB ${arch}`,
      weight: budget,
      cost: 200,
      storeKey: grubEntry,
      present: async (p) => p.store.has(grubEntry),
      run: async (env, deps) => {
        const r = await buildGrub({
          ...gi,
          engine: env.engine,
          store: env.store,
          key: grubEntry,
          imageRef: deps.get(kernelBuildOut).ref,
          fetched: fetched(deps).get(GRUB_SOURCE)!,
          runId: env.runId,
          logDir: env.logDir,
          jobs: budget,
          echo: env.echo && ((l) => env.echo!(`[${arch}] ${l}`)),
        });
        return result(
          { dir: r.path, meta: r.meta } satisfies BuiltGrub,
          r.hit,
          `GRUB ${arch}: ${r.meta.version} (${r.meta.platforms.join(', ')})${cached(r.hit)}`,
          await sizeOf(r.path),
        );
      },
    });
    // Formats made from the toolchain: one per arch, whatever the image sets.
    const toolFormats = new Map<string, Ref<FileValue>>();
    const sets = new Map<string, SetRefs>();
    archRefs.set(arch, { stage1: stage1Out, kernel: kernelOut, grub: grubOut, packages: packageOuts, toolFormats, sets });
    for (const format of Object.keys(outputFormats).filter((f) => outputFormats[f]!.from === 'tools')) {
      const f = outputFormats[format]!;
      const fn = node(`format/${arch}/${format}`, [
        ['format', format],
        ['source-date-epoch', sde],
        ['tools', graph.tools.key],
        ['arch', arch],
      ]);
      toolFormats.set(
        format,
        add({
          ...fromNode(fn),
          deps: [graph.tools.id],
          title: `${arch}: ${format}`,
          cost: 5,
          storeKey: fn.key,
          present: async (p) => p.store.has(fn.key),
          run: async (env) => {
            const e = await env.store.getOrBuild(fn.key, async () =>
              env.store.put(
                { key: fn.key, kind: format, arch },
                await f.build({ arch, sourceDateEpoch: Number(sde), toolchain: await toolsCacheFiles(env.toolsCacheRoot, `opt/osforge/${arch}`) }),
              ),
            );
            return result(
              { path: e.path, sha256: e.meta.outputSha256! } satisfies FileValue,
              e.hit,
              `${arch}: ${format}${cached(e.hit)}`,
              await sizeOf(e.path),
            );
          },
        }),
      );
    }

    for (const set of plan.imageSets) {
      // One rootfs and one set of images per image set; the packages they share are one stage each.
      const sfx = setIdSuffix(set);
      const label = set.profile ? ` (${set.profile})` : '';
      const setName = setArtifactName(plan, set);
      const setPkgIds = set.packages.map((id) => nodes.packages.get(id)!.id);
      const setFormats = new Map<string, Ref<FileValue>>();
      const stepOuts = new Map<string, Ref<string>>();
      // The merged root filesystem, stored gzipped: it is the rootfs artifact, and the image steps' input.
      const rootfs = node(`rootfs/${arch}${sfx}`, [
        ['arch', arch],
        ['source-date-epoch', sde],
        ...set.packages.map((id): [string, string] => [`package:${id}`, nodes.packages.get(id)!.key]),
        // Only for a profile, so the default set keeps its key (and two profiles alike still differ).
        ...(set.profile ? [['profile', set.profile] as [string, string]] : []),
      ]);
      const rootfsOut = add({
        ...fromNode(rootfs),
        deps: setPkgIds,
        title: `rootfs ${arch}${label}`,
        cost: 10,
        storeKey: rootfs.key,
        present: async (p) => p.store.has(rootfs.key),
        run: async (env, deps) => {
          // The image steps need the uncompressed size up front (a tar header), so it is counted on the way in.
          let tarSize = 0;
          const count = new PassThrough();
          count.on('data', (c: Buffer) => {
            tarSize += c.length;
          });
          const e = await env.store.getOrBuild(rootfs.key, () =>
            env.store.put(
              { key: rootfs.key, kind: 'rootfs', arch },
              chain(
                mergeLayers(
                  packagesOf(deps, set.packages).map((p) => p.path),
                  Number(sde),
                ),
                count,
                gzipStream(),
              ),
              () => ({ tarSize }),
            ),
          );
          return result(
            { path: e.path, tarSize: e.meta.tarSize as number, key: rootfs.key } satisfies RootfsValue,
            e.hit,
            `rootfs ${arch}${label}${cached(e.hit)}`,
            await sizeOf(e.path),
          );
        },
      });
      sets.set(sfx, { rootfs: rootfsOut, formats: setFormats, steps: stepOuts });
      for (const format of Object.keys(outputFormats).filter((f) => outputFormats[f]!.from === 'rootfs')) {
        const fn = node(`format/${arch}${sfx}/${format}`, [
          ['format', format],
          ['source-date-epoch', sde],
          ['rootfs', rootfs.key],
          ['arch', arch],
        ]);
        setFormats.set(
          format,
          add({
            ...fromNode(fn),
            deps: [rootfs.id],
            title: `${arch}${label}: ${format}`,
            cost: 5,
            present: async (p) => p.store.has(rootfs.key),
            run: async (env, deps) => {
              const e = (await env.store.get(deps.get(rootfsOut).key))!;
              return result(
                { path: e.path, sha256: e.meta.outputSha256! } satisfies FileValue,
                true,
                `${arch}${label}: ${format} (the rootfs entry)`,
                await sizeOf(e.path),
              );
            },
          }),
        );
      }

      const stepNodes = new Map<string, StageNode>();
      for (const [step, spec] of Object.entries(imageSteps)) {
        // node() keys by the id's first segment, so the step and arch must be inputs: iso and raw share everything else.
        const sn = node(`image/${arch}${sfx}/${step}`, [
          ['step', step],
          ['arch', arch],
          ['imager', imager.key],
          ['scripts', scriptsKey],
          ['rootfs', rootfs.key],
          ['grub', nodes.grub.key],
          ['kernel', nodes.kernel.key],
          ['name', setName],
          ['version', plan.version],
          ['source-date-epoch', sde],
          ...spec.needs.map((n): [string, string] => [`step:${n}`, stepNodes.get(n)!.key]),
        ]);
        stepNodes.set(step, sn);
        const needs = spec.needs.map((n) => [n, stepOuts.get(n)!] as const);
        stepOuts.set(
          step,
          add({
            ...fromNode(sn),
            deps: [rootfs.id, nodes.grub.id, nodes.kernel.id, imager.id, ...spec.needs.map((n) => `image/${arch}${sfx}/${n}`)],
            title: `image ${arch}${label}: ${step}`,
            cost: 60,
            storeKey: sn.key,
            present: async (p) => p.store.has(sn.key),
            run: async (env, deps) => {
              const ctx = stepContext({
                name: setName,
                version: plan.version,
                arch,
                grub: deps.get(grubOut),
                kernel: deps.get(kernelOut),
                rootfs: deps.get(rootfsOut),
                imager: deps.get(imagerOut),
                outputs: new Map(needs.map(([n, o]) => [n, deps.get(o)])),
              });
              const e = await imageStep({
                store: env.store,
                key: sn.key,
                engine: env.engine,
                imager: deps.get(imagerOut),
                step,
                ctx,
                runId: env.runId,
                logDir: env.logDir,
                sourceDateEpoch: Number(sde),
              });
              return result(e.path, e.hit, `image ${arch}${label}: ${step}${cached(e.hit)}`, await sizeOf(e.path));
            },
          }),
        );
      }
    }
  }

  const refs: DistRefs = {
    base: baseOut,
    buildenv: buildenvOut,
    tools: toolsOut,
    builder: builderOut,
    sources: sourcesOut,
    imager: imagerOut,
    oss: ossOut,
    arches: archRefs,
  };
  // dist/ waits for every stage: the self-hosting checks gate publishing.
  const distDeps = stages.map((s) => s.id);
  const distOut = add({
    ...fromNode(graph.dist),
    deps: distDeps,
    title: 'Write dist/',
    cost: 10,
    // A dist/ that only records another commit counts: `dist` would refresh two files, not rebuild.
    present: async (p) => (await distState({ graph, identity: p.identity, distDir: p.distDir, stateRoot: p.stateRoot })).kind !== 'stale',
    run: async (env, deps) => {
      const manifest = await assembleDist(env, graph, refs, deps);
      return result(
        manifest,
        false,
        `Write dist/: ${manifest.artifacts.length} artifacts in ${env.distDir}`,
        manifest.artifacts.reduce((n, a) => n + a.size, 0),
      );
    },
  });
  // Two stages with one key would share a store entry: one would read the other's output.
  const byKey = new Map<string, string>();
  for (const s of stages) {
    const other = byKey.get(s.key);
    if (other) throw new Error(`internal: stages ${other} and ${s.id} have the same key; give them distinguishing inputs`);
    byKey.set(s.key, s.id);
  }
  return { stages, byId: new Map(stages.map((s) => [s.id, s])), refs, dist: distOut };
}
