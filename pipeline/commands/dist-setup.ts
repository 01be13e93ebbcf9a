// What `dist` and `explain` share: the plan, the build identity, Buck2 and
// the stage graph, all without starting a container.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPlan, readTree } from '../plan/load.ts';
import { paths, repoRoot, stateDir } from '../paths.ts';
import { buildIdentity, type BuildIdentity } from '../util/git.ts';
import { provisionBuck2, type Buck2 } from '../stages/buck2.ts';
import { stageGraph, type StageGraph } from '../plan/graph.ts';
import { outputFormats } from '../outputs/formats.ts';
import type { Plan } from '../plan/types.ts';
import { keyOf, sha256 } from '../util/hash.ts';

export interface DistSetup { plan: Plan; identity: BuildIdentity; buck2: Buck2 | null; graph: StageGraph }

/**
 * Hash of osforge's own code and the image-assembly definitions that shape
 * dist/ beyond the stage graph: a changed writer must not look like a no-op.
 */
function pipelineHash(): string {
  const tree = { ...prefixed('pipeline', readTree(join(repoRoot, 'pipeline'))), ...prefixed('images/imager', readTree(join(paths.images, 'imager'))) };
  const kernelPins = join(paths.images, 'kernel.json');
  if (existsSync(kernelPins)) tree['images/kernel.json'] = readFileSync(kernelPins);
  return keyOf(Object.entries(tree).sort(([a], [b]) => (a < b ? -1 : 1)).map(([p, c]) => `${p}:${sha256(c)}`));
}

function prefixed(prefix: string, tree: Record<string, Buffer>): Record<string, Buffer> {
  return Object.fromEntries(Object.entries(tree).map(([p, c]) => [`${prefix}/${p}`, c]));
}

export async function distSetup(log: (line: string) => void): Promise<DistSetup> {
  // First, before Buck2, git or any engine: a broken plan fails here with the file and field named.
  const plan = loadPlan(paths.images);
  const identity = buildIdentity(repoRoot);
  const buck2 = await provisionBuck2(plan.buck2, paths.toolsCache(), log);
  const graph = stageGraph(plan, {
    buck2Sha256: buck2?.sha256 ?? null, commit: identity.commit, dirty: identity.dirty, sourceDateEpoch: identity.sourceDateEpoch,
    formats: Object.keys(outputFormats), pipelineHash: pipelineHash(),
  });
  return { plan, identity, buck2, graph };
}

export function stateRoot() {
  return {
    sources: paths.sources(), stages: paths.stages(), logs: paths.logs(),
    journal: join(stateDir(), 'journal'), stamps: join(stateDir(), 'dist-stamps'), layers: join(stateDir(), 'layers'), images: join(stateDir(), 'images'),
  };
}
