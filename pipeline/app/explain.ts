// The composition root of `osforge explain`: the plan, its compiled stages,
// and for each whether its output exists (store, engine images, caches on
// disk), with the journal's reason for a miss. Nothing is built or started;
// the command prints what this returns.
import { cpus } from 'node:os';
import { paths } from '../paths.ts';
import { connectEngine } from '../engine/connect.ts';
import { StageStore } from '../cache/stage-store.ts';
import { Journal, explain, type Explanation } from '../cache/journal.ts';
import { compile } from '../graph/compile.ts';
import { imagerFiles } from '../steps/imager.ts';
import type { PresenceEnv } from '../graph/stage.ts';
import { distSetup, stateRoot } from './dist-setup.ts';

export interface ExplainResult {
  explanations: Explanation[];
  engineUp: boolean;
}

export async function explainDist(o: { use?: string[]; profiles?: string[] }): Promise<ExplainResult> {
  const { plan, graph, identity } = await distSetup(() => undefined, { use: o.use, profiles: o.profiles });
  const roots = stateRoot();
  const journal = new Journal(roots.journal);
  const engine = connectEngine();
  const engineUp = await engine.ping().then(
    () => true,
    () => false,
  );
  const presence: PresenceEnv = {
    plan,
    identity,
    store: new StageStore(roots.stages),
    distDir: paths.dist(),
    toolsCacheRoot: paths.toolsCache(),
    stateRoot: roots,
    imageExists: async (ref) => engineUp && (await engine.inspectImage(ref)) !== null,
  };
  // The same stages `dist` would run, each asked whether its output exists: nothing is built or started.
  const { stages } = compile(plan, graph, cpus().length, imagerFiles());
  const explanations: Explanation[] = [];
  for (const s of stages) explanations.push(explain(s, await s.present(presence), journal));
  return { explanations, engineUp };
}
