// The builder image: the buildenv's layer, the toolchains from tools-cache/
// and Buck2, one image every stage1/2/3 container runs in (a builder host is
// sent it before such a stage runs there: BuildStage.remoteImage). Ships its
// ref, id and key in manifest.json's images.
import { ensureBuilder, type BuilderResult } from '../../steps/builder.ts';
import { ref, type Outputs } from '../stage.ts';
import { cached, result, type ForBuild, type StageKind } from './kind.ts';
import { buildenvOut } from './buildenv.ts';

export const builderOut = (c: ForBuild) => ref<BuilderResult>(c.graph.builder.id);
/** For a stage that runs in the builder image: the image a builder host needs, once it is built. */
export const builderImage = (c: ForBuild) => (done: Outputs) => done.maybe(builderOut(c))?.ref;

export const builder: StageKind = {
  name: 'builder',
  scope: 'build',
  expand(c) {
    const { plan, graph } = c;
    const n = graph.builder;
    c.add(builderOut(c), {
      key: n.key,
      inputs: n.inputs,
      deps: [graph.buildenv.id, graph.tools.id],
      title: 'Builder image',
      cost: 20,
      present: (p) => p.imageExists(`osforge/builder:${n.key.slice(0, 12)}`),
      run: async (env, deps) => {
        const b = await ensureBuilder({
          engine: env.engine,
          key: n.key,
          buildenvLayer: deps.get(buildenvOut(c)).layer!,
          toolsCacheRoot: env.toolsCacheRoot,
          buck2: env.buck2,
          sourceDateEpoch: plan.base.sourceDateEpoch,
        });
        return result(b, !b.built, `Builder image ${b.ref}${cached(!b.built)}`);
      },
    });
    c.ship(async (_env, deps, parts) => {
      const b = deps.get(builderOut(c));
      parts.images.builder = { ref: b.ref, id: b.id, inputHash: b.key };
    });
  },
};
