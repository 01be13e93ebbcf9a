// make bench: one cold and one warm `dist` in this process, with fresh
// tools-cache/, stage cache and dist dirs, so the ratio compares like with
// like. "In containers" sums the time spent in image builds and container
// runs as seen by the engine wrapper; the rest is orchestration.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine, type RunSpec, type BuildSpec } from '../../pipeline/engine/docker.ts';
import { loadPlan } from '../../pipeline/plan/load.ts';
import { paths, repoRoot } from '../../pipeline/paths.ts';
import { buildIdentity } from '../../pipeline/util/git.ts';
import { runDist } from '../../pipeline/stages/pipeline.ts';

class TimedEngine extends Engine {
  containerMs = 0;
  override async run(spec: RunSpec) {
    const t = performance.now();
    try { return await super.run(spec); } finally { this.containerMs += performance.now() - t; }
  }
  override async buildImage(spec: BuildSpec) {
    const t = performance.now();
    try { return await super.buildImage(spec); } finally { this.containerMs += performance.now() - t; }
  }
}

const work = await mkdtemp(join(tmpdir(), 'osforge-bench-'));
const plan = loadPlan(paths.images);
const identity = buildIdentity(repoRoot);
const sourcesDir = paths.sources(); // sources are inputs, not build work: keep them

async function once(label: string) {
  const engine = new TimedEngine();
  const t = performance.now();
  await runDist({
    plan, identity, engine, runId: `bench-${label}`, plain: true, verbose: false,
    distDir: join(work, 'dist'), toolsCacheRoot: join(work, 'tools-cache'),
    stateRoot: { sources: sourcesDir, stages: join(work, 'stages'), logs: join(work, 'logs') },
  });
  const wall = (performance.now() - t) / 1000;
  return { label, wall, inContainers: engine.containerMs / 1000 };
}

try {
  const cold = await once('cold');
  const warm = await once('warm');
  const rows = [cold, warm];
  console.log('\n| run  | wall (s) | in containers (s) | orchestration (s) | overhead |');
  console.log('|------|---------:|------------------:|------------------:|---------:|');
  for (const r of rows) {
    const orch = r.wall - r.inContainers;
    console.log(`| ${r.label.padEnd(4)} | ${r.wall.toFixed(1).padStart(8)} | ${r.inContainers.toFixed(1).padStart(17)} | ${orch.toFixed(1).padStart(17)} | ${((orch / r.wall) * 100).toFixed(1).padStart(7)}% |`);
  }
  console.log(`\ncold/warm ratio: ${(cold.wall / warm.wall).toFixed(1)}x`);
  console.log(`peak RSS of the orchestrator: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
} finally {
  await rm(work, { recursive: true, force: true });
}
