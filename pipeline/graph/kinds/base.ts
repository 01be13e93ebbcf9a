// The base image (Debian, amd64): what the fetch step and the imager start
// from. Its key is the image's input hash; its named inputs (graph/keys.ts)
// say which suite, variant or package pin changed. It ships its ref, id and
// input hash in manifest.json's images.
import { baseRef, resolveBase, type ResolvedBase } from '../../steps/base.ts';
import { ref } from '../stage.ts';
import { result, type ForBuild, type StageKind } from './kind.ts';

export const baseOut = (c: ForBuild) => ref<ResolvedBase>(c.graph.base.id);

export const base: StageKind = {
  name: 'base',
  scope: 'build',
  expand(c) {
    const { plan, graph } = c;
    c.add(baseOut(c), {
      key: graph.base.key,
      inputs: graph.base.inputs,
      deps: [],
      title: 'Base image',
      cost: 120,
      present: (p) => p.imageExists(baseRef(plan.base, 'amd64')),
      run: async (env) => {
        const b = await resolveBase(env.engine, plan.base, 'amd64', (l) => env.progress(graph.base.id, l));
        return result(b, b.how === 'local', `Base image ${b.ref} (${b.how})`);
      },
    });
    c.ship(async (_env, deps, parts) => {
      const b = deps.get(baseOut(c));
      parts.images.base = { amd64: { ref: b.ref, id: b.id, inputHash: b.inputHash } };
    });
  },
};
