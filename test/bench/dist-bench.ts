// make bench: one process runs a cold dist, a warm no-op, and a rebuild
// after changing one package (zlib's recipe), with fresh tools-cache/, stage
// cache and dist dirs, so the ratios compare like with like. "In containers"
// sums image builds and container runs as timed by the engine wrapper; the
// rest is orchestration. The Debian roots (base, buildenv and kernel build
// images, made by mmdebstrap) and downloaded sources are kept: they are
// inputs, not build work; everything else (tools, stages, kernels, boot
// images, dist) starts empty. The cold run also reports the kernel and GRUB
// stages per arch.
import Docker from 'dockerode';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerEngine, type RunSpec, type BuildSpec } from '../../pipeline/engine/docker.ts';
import { paths } from '../../pipeline/paths.ts';
import { runDist } from '../../pipeline/graph/run.ts';
import { stageGraph } from '../../pipeline/graph/keys.ts';
import { distSetup, stateRoot } from '../../pipeline/app/dist-setup.ts';
import type { Plan } from '../../pipeline/plan/types.ts';
import { outputFormats } from '../../pipeline/outputs/formats.ts';
import { fsyncStats } from '../../pipeline/util/durable.ts';

// Both arches run containers at once, so "time in containers" is the wall
// time during which at least one container or image build was running.
class TimedEngine extends DockerEngine {
  containerMs = 0;
  containers = 0;
  private active = 0;
  private since = 0;
  private async timed<T>(work: () => Promise<T>): Promise<T> {
    if (this.active++ === 0) this.since = performance.now();
    try {
      return await work();
    } finally {
      if (--this.active === 0) this.containerMs += performance.now() - this.since;
    }
  }
  override async run(spec: RunSpec) {
    this.containers++;
    return this.timed(() => super.run(spec));
  }
  // Held steps (stage2) are timed from go(), when their command starts, as run() is from its start.
  override async prepare(spec: RunSpec) {
    const held = await super.prepare(spec);
    return {
      ...held,
      go: (late: Parameters<typeof held.go>[0], onStart?: () => void) => {
        this.containers++;
        return this.timed(() => held.go(late, onStart));
      },
    };
  }
  override async buildImage(spec: BuildSpec) {
    return this.timed(() => super.buildImage(spec));
  }
}

const work = await mkdtemp(join(tmpdir(), 'osforge-bench-'));
const setup = await distSetup(() => undefined);

async function once(label: string, plan: Plan) {
  const graph = stageGraph(plan, {
    buck2Sha256: setup.buck2?.sha256 ?? null,
    sourceDateEpoch: setup.identity.sourceDateEpoch,
    formats: Object.keys(outputFormats),
    pipelineHash: setup.graph.dist.inputs.find(([n]) => n === 'pipeline')![1],
  });
  const engine = new TimedEngine(new Docker());
  const fsyncBefore = fsyncStats.ms;
  const t = performance.now();
  const r = await runDist({
    plan,
    identity: setup.identity,
    graph,
    buck2: setup.buck2,
    engine,
    runId: `bench-${label}`,
    mode: 'plain',
    verbose: false,
    distDir: join(work, 'dist'),
    toolsCacheRoot: join(work, 'tools-cache'),
    stateRoot: {
      sources: paths.sources(),
      stages: join(work, 'stages'),
      logs: join(work, 'logs'),
      journal: join(work, 'journal'),
      stamps: join(work, 'stamps'),
      layers: stateRoot().layers,
    },
  });
  const wall = (performance.now() - t) / 1000;
  const rebuilt = r.explanations.filter((e) => e.status === 'miss').map((e) => e.id);
  return {
    label,
    wall,
    inContainers: engine.containerMs / 1000,
    containers: engine.containers,
    rebuilt,
    fsync: (fsyncStats.ms - fsyncBefore) / 1000,
    logDir: r.logDir,
  };
}

/**
 * A compile stage (kernel, grub) per arch from the cold run's logs: the
 * compile's wall time (the stage logs "built in N s") and the CPU time of the
 * build container's processes (the build script ends with `times`).
 */
function compileTimes(logDir: string, stage: 'kernel' | 'grub', arches: readonly string[]): { arch: string; wall: number; cpu: number }[] {
  return arches.map((arch) => {
    const text = readFileSync(join(logDir, `${arch}-${stage}.log`), 'utf8');
    const wall = Number(/(?:kernel|GRUB) \S+ built in (\d+) s/.exec(text)?.[1] ?? NaN);
    const secs = (m: string, s: string) => Number(m) * 60 + Number(s);
    const times = [...text.matchAll(/^(?:\S+ )?(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/gm)].at(-1);
    return { arch, wall, cpu: times ? secs(times[1]!, times[2]!) + secs(times[3]!, times[4]!) : NaN };
  });
}

try {
  const cold = await once('cold', setup.plan);
  const warm = await once('warm no-op', setup.plan);
  const zlib = setup.plan.packages.find((p) => p.name === 'zlib')!;
  const changed: Plan = {
    ...setup.plan,
    packages: setup.plan.packages.map((p) =>
      p === zlib ? { ...p, files: { ...p.files, 'build.sh': Buffer.concat([p.files['build.sh']!, Buffer.from(`# bench change ${Date.now()}\n`)]) } } : p,
    ),
  };
  const oneChange = await once('zlib changed', changed);
  const rows = [cold, warm, oneChange];
  console.log('\n| run          | wall (s) | in containers (s) | orchestration (s) | overhead | containers | stages rebuilt');
  console.log('|--------------|---------:|------------------:|------------------:|---------:|-----------:|---------------');
  for (const r of rows) {
    const orch = r.wall - r.inContainers;
    console.log(
      `| ${r.label.padEnd(12)} | ${r.wall.toFixed(1).padStart(8)} | ${r.inContainers.toFixed(1).padStart(17)} | ${orch.toFixed(1).padStart(17)} | ${((orch / r.wall) * 100).toFixed(1).padStart(7)}% | ${String(r.containers).padStart(10)} | ${r.rebuilt.length} (${r.rebuilt.join(' ')})`,
    );
  }
  console.log(`\ncold / warm no-op: ${(cold.wall / warm.wall).toFixed(0)}x    cold / zlib change: ${(cold.wall / oneChange.wall).toFixed(1)}x`);
  console.log(
    `durability (fsync after every rename) on the cold run: ${cold.fsync.toFixed(2)} s = ${((cold.fsync / cold.wall) * 100).toFixed(2)}% of wall (target < 2%)`,
  );
  console.log(`peak RSS of the orchestrator: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
  const budgetS = 360;
  console.log(`\nkernel stage, cold, ${cpus().length} cores (issue 13 budget: ${budgetS} s per arch)`);
  console.log('| arch  | compile wall (s) | CPU (s) | wall / budget');
  console.log('|-------|-----------------:|--------:|--------------');
  for (const k of compileTimes(cold.logDir, 'kernel', setup.plan.arches)) {
    console.log(`| ${k.arch.padEnd(5)} | ${String(k.wall).padStart(16)} | ${k.cpu.toFixed(0).padStart(7)} | ${(k.wall / budgetS).toFixed(2)}`);
  }
  console.log(`\nGRUB stage, cold (the arch's platforms: amd64 x86_64-efi + i386-pc, arm64 arm64-efi)`);
  console.log('| arch  | compile wall (s) | CPU (s)');
  console.log('|-------|-----------------:|--------:');
  for (const g of compileTimes(cold.logDir, 'grub', setup.plan.arches))
    console.log(`| ${g.arch.padEnd(5)} | ${String(g.wall).padStart(16)} | ${g.cpu.toFixed(0).padStart(7)}`);
} finally {
  await rm(work, { recursive: true, force: true });
}
