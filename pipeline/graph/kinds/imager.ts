// The imager image: the base plus images/imager/Dockerfile, in which every
// image step (kinds/image-steps.ts) runs. Named inputs: the base key and the
// Dockerfile. Its files come in as data (ForBuild.imagerFiles). Ships nothing
// itself; the image steps' artifacts come from its output.
import { node, type StageNode } from '../keys.ts';
import { baseRef } from '../../steps/base.ts';
import { ensureImager } from '../../steps/imager.ts';
import type { Imager } from '../../model/step-outputs.ts';
import { keyOf, sha256 } from '../../util/hash.ts';
import { ref } from '../stage.ts';
import { result, type ForBuild, type StageKind } from './kind.ts';
import { baseOut } from './base.ts';

export const imagerOut = ref<Imager>('imager');

export const imagerNode = (c: ForBuild): StageNode =>
  node(imagerOut.id, [
    ['base', c.graph.base.key],
    ['dockerfile', sha256(c.imagerFiles.Dockerfile ?? '')],
  ]);

/** One key over the imager's scripts (everything but the Dockerfile), for the image steps. */
export const imagerScriptsKey = (c: ForBuild): string =>
  keyOf(
    Object.entries(c.imagerFiles)
      .filter(([p]) => p !== 'Dockerfile')
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([p, data]) => `${p}:${sha256(data)}`),
  );

export const imager: StageKind = {
  name: 'imager',
  scope: 'build',
  expand(c) {
    const { plan } = c;
    const n = imagerNode(c);
    c.add(imagerOut, {
      ...n,
      deps: [c.graph.base.id],
      title: 'Imager image',
      cost: 60,
      // The imager's tag is derived from the base image's ID, known only from the engine.
      present: async (p) => p.imageExists(baseRef(plan.base, 'amd64')),
      run: async (env, deps) => {
        const before = Date.now();
        const im = await ensureImager(env.engine, deps.get(baseOut(c)).ref, Number(c.sde), (l) => env.progress(n.id, l));
        return result(im, Date.now() - before < 2000, `Imager image ${im.ref}`);
      },
    });
  },
};
