// What `dist` and `explain` share: the plan, the build identity, Buck2 and
// the stage graph, all without starting a container. Not in commands/: it
// shapes the dist key, so it is a build input (plan/build-inputs.ts).
import { join } from 'node:path';
import { loadPlan, type PlanOptions } from '../plan/load.ts';
import { paths, repoRoot, stateDir } from '../paths.ts';
import { buildIdentity, type BuildIdentity } from '../util/git.ts';
import { provisionBuck2, type Buck2 } from '../steps/buck2.ts';
import { signaturesEnabled } from '../steps/signature.ts';
import { stageGraph, type StageGraph } from '../graph/keys.ts';
import { BUILD_INPUT_PATHSPECS, buildInputsHash } from '../plan/build-inputs.ts';
import { outputFormats } from '../outputs/formats.ts';
import type { Plan } from '../plan/types.ts';
import { settings } from '../settings.ts';

export interface DistSetup {
  plan: Plan;
  identity: BuildIdentity;
  buck2: Buck2 | null;
  graph: StageGraph;
}

export async function distSetup(log: (line: string) => void, options: PlanOptions = {}): Promise<DistSetup> {
  // First, before Buck2, git or any engine: a broken plan fails here with the file and field named.
  const plan = loadPlan(paths.images, { ...(settings().patches ? { patchesDir: settings().patches } : {}), ...options });
  const identity = buildIdentity(repoRoot, BUILD_INPUT_PATHSPECS);
  const buck2 = await provisionBuck2(plan.buck2, paths.toolsCache(), log);
  const graph = stageGraph(plan, {
    buck2Sha256: buck2?.sha256 ?? null,
    sourceDateEpoch: identity.sourceDateEpoch,
    formats: Object.keys(outputFormats),
    // osforge's own code and the image definitions (a changed writer must not look like a no-op), never its docs, tests or help.
    pipelineHash: buildInputsHash(repoRoot, { imagesDir: paths.images }),
    verifySignatures: signaturesEnabled(),
  });
  return { plan, identity, buck2, graph };
}

export function stateRoot() {
  return {
    sources: paths.sources(),
    stages: paths.stages(),
    logs: paths.logs(),
    journal: join(stateDir(), 'journal'),
    stamps: join(stateDir(), 'dist-stamps'),
    layers: join(stateDir(), 'layers'),
  };
}
