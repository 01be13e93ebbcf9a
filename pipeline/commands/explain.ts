import type { Command } from './types.ts';
import { paths } from '../paths.ts';
import { Engine } from '../engine/docker.ts';
import { StageStore } from '../cache/stage-store.ts';
import { Journal, explain, formatExplanation } from '../cache/journal.ts';
import { validateToolsCache } from '../cache/tools-cache.ts';
import { baseRef } from '../stages/base.ts';
import { distStaleReason } from '../stages/pipeline.ts';
import { distSetup, stateRoot } from '../stages/dist-setup.ts';

export const explainCommand: Command = {
  name: 'explain',
  summary: 'say, for every stage, whether `dist` would hit its cache, and why not',
  help: `usage: osforge explain

Computes every stage's cache key from the plan (nothing is built or run) and
prints "hit" or "miss" for each; for a miss it names each input that changed
since the stage was last built (old -> new), or says "no previous entry".
Image stages are looked up in the Docker engine when one answers.
The plan is read from images/ (or $OSFORGE_IMAGES) and validated first.`,
  options: {},
  async run() {
    const { plan, graph } = await distSetup(() => undefined);
    const roots = stateRoot();
    const store = new StageStore(roots.stages);
    const journal = new Journal(roots.journal);
    const engine = new Engine();
    const engineUp = await engine.ping().then(() => true, () => false);
    const imageExists = async (ref: string) => engineUp && (await engine.inspectImage(ref)) !== null;
    const present = async (id: string, key: string): Promise<boolean> => {
      if (id === 'base/amd64') return imageExists(baseRef(plan.base, 'amd64'));
      if (id === 'buildenv/amd64') return imageExists(baseRef(plan.buildenv, 'amd64'));
      if (id === 'tools') return validateToolsCache(paths.toolsCache(), key).ok;
      if (id === 'builder') return imageExists(`osforge/builder:${key.slice(0, 12)}`);
      if (id === 'dist') return (await distStaleReason({ graph, distDir: paths.dist(), stateRoot: roots })) === null;
      return (await store.get(key)) !== null;
    };
    let misses = 0;
    for (const n of graph.nodes) {
      const e = explain(n, await present(n.id, n.key), journal);
      if (e.status === 'miss') misses++;
      process.stdout.write(formatExplanation(e) + '\n');
    }
    if (!engineUp) process.stdout.write('(no Docker engine answered: image stages are reported as misses)\n');
    process.stdout.write(`${graph.nodes.length - misses} hit, ${misses} miss\n`);
  },
};
