// The dist stage: waits for every other stage (the self-hosting checks gate
// publishing), runs every kind's contribution in manifest order and writes
// dist/ (graph/assemble-dist.ts). Named inputs: graph/keys.ts's dist node.
// Present when dist/ was written for this key (or only its commit differs).
import type { Manifest } from '../../model/manifest.ts';
import { assembleDist, distState } from '../assemble-dist.ts';
import { ref } from '../stage.ts';
import { result, type ForBuild, type StageKind } from './kind.ts';

export const distOut = (c: ForBuild) => ref<Manifest>(c.graph.dist.id);

export const dist: StageKind = {
  name: 'dist',
  scope: 'final',
  expand(c) {
    const { graph } = c;
    return c.add(distOut(c), {
      key: graph.dist.key,
      inputs: graph.dist.inputs,
      deps: [...c.added()],
      title: 'Write dist/',
      cost: 10,
      // A dist/ that only records another commit counts: `dist` would refresh two files, not rebuild.
      present: async (p) => (await distState({ graph, identity: p.identity, distDir: p.distDir, stateRoot: p.stateRoot })).kind !== 'stale',
      run: async (env, deps) => {
        const manifest = await assembleDist(env, graph, c.contributions(), deps);
        return result(
          manifest,
          false,
          `Write dist/: ${manifest.artifacts.length} artifacts in ${env.distDir}`,
          manifest.artifacts.reduce((n, a) => n + a.size, 0),
        );
      },
    });
  },
};
