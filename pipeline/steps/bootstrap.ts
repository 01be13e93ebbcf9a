// stage1 (seed toolchain check), stage2 (packages, no network) and stage3
// (self-hosting check in a container of the target arch) for one arch.
import { createReadStream } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Engine } from '../engine/engine.ts';
import { dockerArchive } from '../engine/docker-archive.ts';
import { OsforgeError } from '../errors.ts';
import type { Arch, PackageRecipe, Plan } from '../plan/types.ts';
import { archInfo } from '../model/arch.ts';
import { APPLY_PATCHES_SCRIPT } from '../plan/patches.ts';
import type { StageStore, StageMeta } from '../cache/stage-store.ts';
import type { StageNode } from '../model/stage-key.ts';
import { HELLO_C, STAGE1_SCRIPT } from './stage1-program.ts';
import { gunzip, gzip, packEntries, readEntries } from '../util/tar.ts';
import { spoolTar } from '../util/tar-files.ts';
import { chain, gzipStream, mergeLayers, packStream, writeHashed, type StreamEntry } from '../util/tar-stream.ts';
import { holdStep, releaseStep, runStep, type Step } from './step.ts';
import type { PreparedStep } from '../engine/engine.ts';
import type { FetchedSource } from './fetch.ts';
import { openStepLog, stepFailed, type StepLog } from './step-log.ts';
import { stateTempDir } from './temp.ts';

export interface ArchContext {
  engine: Engine;
  plan: Plan;
  arch: Arch;
  builderRef: string;
  sources: Map<string, FetchedSource>;
  store: StageStore;
  runId: string;
  logDir: string;
  /** Inner stage outputs use the base epoch so a new commit does not invalidate them. */
  innerEpoch: number;
  jobs: number;
  echo?: (line: string) => void;
  /** Called when the stage's container has started. */
  onContainerStart?: () => void;
}

export function buildEnv(ctx: ArchContext): Record<string, string> {
  const info = archInfo(ctx.arch);
  return {
    ARCH: ctx.arch,
    KARCH: info.kernelArch,
    GNU_TRIPLE: info.gnuTriple,
    TRIPLE: info.muslTriple,
    CC: `/opt/osforge/${ctx.arch}/bin/${info.muslTriple}-gcc`,
    OUT: '/out',
    JOBS: String(ctx.jobs),
    SOURCE_DATE_EPOCH: String(ctx.innerEpoch),
    KCONFIG_NOTIMESTAMP: '1',
    KBUILD_BUILD_TIMESTAMP: '@' + String(ctx.innerEpoch),
    KBUILD_BUILD_USER: 'buckos',
    KBUILD_BUILD_HOST: 'buckos',
    TZ: 'UTC',
    LC_ALL: 'C',
    DISTRO_VERSION: ctx.plan.version,
  };
}

/** A build step of this arch in the builder image (or `image`), through the one step funnel. */
function archStep(ctx: ArchContext, stage: string, log: StepLog, spec: Pick<Step, 'cmd' | 'inputs' | 'outputs' | 'outputFiles' | 'hint'> & { image?: string }) {
  return runStep({
    ...spec,
    engine: ctx.engine,
    image: spec.image ?? ctx.builderRef,
    env: buildEnv(ctx),
    runId: ctx.runId,
    stage,
    arch: ctx.arch,
    log,
    onStart: ctx.onContainerStart,
  });
}

// ---- stage1 -----------------------------------------------------------------

export interface Stage1Meta extends StageMeta {
  compiler: string;
  libcVersion: string;
  triple: string;
  cflags: string[];
}

/** Compiles and runs a static test program with the seed toolchain (arm64 runs through binfmt). */
export async function stage1(ctx: ArchContext, node: StageNode) {
  const key = node.key;
  return ctx.store.getOrBuild<Stage1Meta>(key, async () => {
    const log = openStepLog(ctx.logDir, `${ctx.arch}-stage1`, ctx.echo);
    const muslVersion = ctx.plan.sources[ctx.plan.toolchainSource]!.version;
    const res = await archStep(ctx, 'stage1', log, {
      cmd: ['sh', '-c', `export MUSL_VERSION=${muslVersion}\n${STAGE1_SCRIPT}`],
      inputs: [{ dir: '/', tar: await packEntries([{ path: 'work/hello.c', type: 'file', mode: 0o644, data: Buffer.from(HELLO_C) }], ctx.innerEpoch) }],
      outputs: ['/out'],
    });
    if (!res.log.includes('osforge-stage1-ok'))
      throw stepFailed(`stage1 (${ctx.arch}) test program did not print its marker`, log, { stage: 'stage1', arch: ctx.arch, exitCode: 0 });
    const entries = await readEntries(res.outputs.get('/out')!, 'out');
    const facts = JSON.parse(entries.find((e) => e.path === 'toolchain.json')!.data!.toString()) as { compiler: string; libcVersion: string };
    const output = gzip(
      await packEntries(
        entries.filter((e) => e.path === 'hello'),
        ctx.innerEpoch,
      ),
    );
    return ctx.store.put<Stage1Meta>(
      {
        key,
        kind: 'stage1',
        arch: ctx.arch,
        compiler: `gcc ${facts.compiler}`,
        libcVersion: facts.libcVersion,
        triple: archInfo(ctx.arch).muslTriple,
        cflags: ['-static', '-O2', '-ffile-prefix-map=/build=.'],
      },
      output,
    );
  });
}

// ---- stage2 -----------------------------------------------------------------

export interface PackageMeta extends StageMeta {
  name: string;
  version: string;
  arch: Arch;
  deps: string[];
  sources: { file: string; sha256: string }[];
  compiler: string;
  useFlags: string[];
  /** Set when the output came from a signed binary mirror instead of a build. */
  origin?: 'mirror';
  signerKeyId?: string;
}

/** Looks a package up in a binary mirror by its stage key; returns verified bytes or null. */
export type BinaryLookup = (pkg: {
  name: string;
  version: string;
  arch: Arch;
  key: string;
  compiler: string;
  useFlags: string[];
}) => Promise<{ data: Buffer; signerKeyId: string } | null>;

/** A finished stage2 package: its key and its output.tar.gz in the stage store. */
export interface BuiltPackage {
  key: string;
  path: string;
}

/** A stage2 container started ahead of its dependencies' outputs (see Engine.prepare). */
export interface HeldStage2 {
  held: PreparedStep;
  step: Step;
  work: string;
}

/** The stage2 step of `recipe` with its early inputs: recipe and sources in one tar. */
function stage2Step(ctx: ArchContext, recipe: PackageRecipe, log: StepLog, work: string): Step {
  const srcs = recipe.sources.map((s) => ctx.sources.get(s)!);
  const inputs: StreamEntry[] = [
    { path: 'deps', type: 'directory', mode: 0o755 },
    { path: 'src', type: 'directory', mode: 0o755 },
    ...Object.entries(recipe.files).map(
      ([path, data]): StreamEntry => ({ path: `recipe/${path}`, type: 'file', mode: path.endsWith('.sh') ? 0o755 : 0o644, data }),
    ),
    ...srcs.map((s): StreamEntry => ({ path: `src/${s.name}/${s.file}`, type: 'file', mode: 0o644, data: { file: s.path } })),
    // Patches in order, with the script build.sh runs as "$APPLY_PATCHES" <dir> (plan/patches.ts).
    { path: 'osforge/apply-patches', type: 'file', mode: 0o755, data: Buffer.from(APPLY_PATCHES_SCRIPT) },
    ...(recipe.patches.length
      ? [
          {
            path: 'patches/series',
            type: 'file' as const,
            mode: 0o644,
            data: Buffer.from(recipe.patches.map((p, i) => `${String(i).padStart(4, '0')}.patch ${p.name}\n`).join('')),
          },
        ]
      : []),
    ...recipe.patches.map((p, i): StreamEntry => ({ path: `patches/${String(i).padStart(4, '0')}.patch`, type: 'file', mode: 0o644, data: p.data })),
  ];
  return {
    engine: ctx.engine,
    image: ctx.builderRef,
    runId: ctx.runId,
    stage: `stage2:${recipe.name}`,
    arch: ctx.arch,
    log,
    // USE: the enabled flags; USE_CONFIGURE: the configure arguments they select (recipe "use_configure").
    env: {
      ...buildEnv(ctx),
      PACKAGE: recipe.name,
      USE: recipe.use?.enabled.join(' ') ?? '',
      USE_CONFIGURE: recipe.use?.configure.join(' ') ?? '',
      APPLY_PATCHES: '/osforge/apply-patches',
    },
    onStart: ctx.onContainerStart,
    cmd: ['sh', '-c', 'mkdir -p /out /deps /src && exec sh /recipe/build.sh'],
    inputs: [{ dir: '/', tar: () => packStream(inputs, ctx.innerEpoch) }],
    outputFiles: [{ path: '/out', file: join(work, 'out.tar') }],
    hint: `fix images/packages/${recipe.name}/build.sh; stage2 runs with no network, so it cannot download anything`,
  };
}

/** Starts `recipe`'s container now, so that only its dependencies' outputs remain to go in when they are built. */
export async function holdStage2(ctx: ArchContext, recipe: PackageRecipe): Promise<HeldStage2> {
  const work = await stateTempDir('osforge-stage2');
  try {
    const step = stage2Step(ctx, recipe, openStepLog(ctx.logDir, `${ctx.arch}-stage2-${recipe.name}`, ctx.echo), work);
    return { held: await holdStep(step), step, work };
  } catch (err) {
    await rm(work, { recursive: true, force: true });
    throw err;
  }
}

export async function dropHeld(h: HeldStage2 | undefined): Promise<void> {
  if (!h) return;
  await h.held.discard();
  await rm(h.work, { recursive: true, force: true });
}

export async function stage2Package(
  ctx: ArchContext,
  recipe: PackageRecipe,
  node: StageNode,
  deps: BuiltPackage[],
  compiler: string,
  binaryLookup?: BinaryLookup,
  early?: Promise<HeldStage2 | undefined>,
) {
  const srcs = recipe.sources.map((s) => ctx.sources.get(s)!);
  const key = node.key;
  let fromMirror = false;
  let used = false;
  try {
    const result = await ctx.store.getOrBuild<PackageMeta>(key, async () => {
      const meta = {
        key,
        kind: 'package',
        name: recipe.name,
        version: recipe.version,
        arch: ctx.arch,
        deps: deps.map((d) => d.key),
        sources: srcs.map((s) => ({ file: s.file, sha256: s.sha256 })),
        compiler,
        useFlags: recipe.use?.enabled ?? [],
      };
      // A verified binary is byte-for-byte the output a build would store, so dist/ is identical either way.
      const binary = await binaryLookup?.({ name: recipe.name, version: recipe.version, arch: ctx.arch, key, compiler, useFlags: recipe.use?.enabled ?? [] });
      if (binary) {
        openStepLog(ctx.logDir, `${ctx.arch}-stage2-${recipe.name}`, ctx.echo).write(
          `using verified binary package for ${recipe.name} ${recipe.version} (${ctx.arch}), signed by ${binary.signerKeyId}; build skipped`,
        );
        fromMirror = true;
        // The stage store remembers the origin, so a later cache hit still reports it.
        return ctx.store.put<PackageMeta>({ ...meta, origin: 'mirror', signerKeyId: binary.signerKeyId }, binary.data);
      }
      used = true;
      const h = (await early?.catch(() => undefined)) ?? (await holdStage2(ctx, recipe));
      try {
        // The dependencies merged into one tar (a later one wins a path, as an overlay), streamed from the store.
        await releaseStep(
          h.step,
          h.held,
          deps.length
            ? [
                {
                  dir: '/deps',
                  tar: () =>
                    mergeLayers(
                      deps.map((d) => d.path),
                      ctx.innerEpoch,
                    ),
                },
              ]
            : [],
        );
        const entries = await spoolTar(createReadStream(join(h.work, 'out.tar')), join(h.work, 'spool'), 'out');
        if (entries.length === 0)
          throw stepFailed(`stage2:${recipe.name} (${ctx.arch}) installed nothing into $OUT`, h.step.log, {
            stage: `stage2:${recipe.name}`,
            arch: ctx.arch,
            exitCode: 0,
          });
        return await ctx.store.put<PackageMeta>(meta, chain(packStream(entries, ctx.innerEpoch), gzipStream()));
      } finally {
        await rm(h.work, { recursive: true, force: true });
      }
    });
    return { ...result, fromMirror };
  } finally {
    // Cached, from the mirror, or failed before it was used: the held container goes.
    if (!used) await dropHeld(await early?.catch(() => undefined));
  }
}

// ---- stage3 -----------------------------------------------------------------

export interface Stage3Meta extends StageMeta {
  uname: string;
}

/**
 * Loads the stage2 root filesystem as an image of the target arch and runs it
 * with no network: busybox applets must work, `uname -m` must match, and the
 * stage1 program must run natively (through binfmt on a foreign arch).
 */
export async function stage3(ctx: ArchContext, node: StageNode, packages: readonly { path: string }[], stage1Output: string) {
  const key = node.key;
  return ctx.store.getOrBuild<Stage3Meta>(key, async () => {
    const log = openStepLog(ctx.logDir, `${ctx.arch}-stage3`, ctx.echo);
    const hello = (await readEntries(gunzip(await readFile(stage1Output)))).find((e) => e.path === 'hello')!;
    const work = await stateTempDir('osforge-stage3');
    const ref = `osforge/stage3:${ctx.arch}-${key.slice(0, 12)}`;
    try {
      // The packages and the self-test program, merged as one layer straight from the store.
      const selftest = join(work, 'selftest.tar.gz');
      await writeFile(selftest, gzip(await packEntries([{ path: 'opt/osforge-selftest/hello', type: 'file', mode: 0o755, data: hello.data }], ctx.innerEpoch)));
      const layerPath = join(work, 'layer.tar');
      const layer = await writeHashed(mergeLayers([...packages.map((p) => p.path), selftest], ctx.innerEpoch), layerPath);
      const { stream } = await dockerArchive([{ path: layerPath, digest: layer.sha256 }], ref, { arch: ctx.arch, createdEpoch: ctx.innerEpoch });
      await ctx.engine.loadImage(stream);
      const want = archInfo(ctx.arch).uname;
      const res = await archStep(ctx, 'stage3', log, {
        image: ref,
        cmd: ['/bin/sh', '-c', 'echo "uname=$(uname -m)"; busybox echo applets-ok; ls /bin | wc -l; /opt/osforge-selftest/hello'],
      });
      const uname = res.log.find((l) => l.startsWith('uname='))?.slice(6);
      const problems = [
        uname !== want && `uname -m printed ${JSON.stringify(uname)}, expected ${want}`,
        !res.log.includes('applets-ok') && 'busybox applets did not run',
        !res.log.includes('osforge-stage1-ok') && 'the stage1 toolchain output did not run',
      ].filter(Boolean);
      if (problems.length)
        throw new OsforgeError('CONTAINER_FAILED', `stage3 self-hosting check failed on ${ctx.arch}: ${problems.join('; ')}`, {
          stage: 'stage3',
          arch: ctx.arch,
          logTail: log.lines.slice(-40),
          logPath: log.path,
        });
      return ctx.store.put<Stage3Meta>({ key, kind: 'stage3', arch: ctx.arch, uname: want }, gzip(Buffer.from(res.log.join('\n'))));
    } finally {
      await ctx.engine.removeImage(ref);
      await rm(work, { recursive: true, force: true });
    }
  });
}
