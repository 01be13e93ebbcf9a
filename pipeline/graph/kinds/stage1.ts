// stage1 (per arch): the seed toolchain check in the builder image, a hello
// program compiled and run for the arch. Runs on the arch's builder
// (placement). Ships the arch's toolchain record in manifest.json.
import type { ArchContext } from '../../steps/bootstrap.ts';
import { stage1 as runStage1 } from '../../steps/bootstrap.ts';
import { ref, type Outputs, type StageEnv } from '../stage.ts';
import type { Stage1Value } from '../values.ts';
import { archEcho, cached, result, type ForArch, type StageKind } from './kind.ts';
import { builderImage, builderOut } from './builder.ts';
import { fetched, sourcesOut } from './sources.ts';

export const stage1Out = (c: ForArch) => ref<Stage1Value>(c.nodes.stage1.id);

/** What a stage1/2/3 step of this arch needs (steps/bootstrap.ts), for the stage `id`. */
export const bootstrapContext = (c: ForArch, env: StageEnv, deps: Outputs, id: string): ArchContext => ({
  engine: env.engine,
  plan: c.plan,
  arch: c.arch,
  builderRef: deps.get(builderOut(c)).ref,
  sources: fetched(deps),
  store: env.store,
  runId: env.runId,
  logDir: env.logDir,
  innerEpoch: c.plan.base.sourceDateEpoch,
  jobs: c.budget,
  echo: archEcho(env, c.arch),
  onContainerStart: () => env.containerStarted(id),
});

export const stage1: StageKind = {
  name: 'stage1',
  scope: 'arch',
  expand(c) {
    const { arch } = c;
    const n = c.nodes.stage1;
    c.add(stage1Out(c), {
      key: n.key,
      inputs: n.inputs,
      deps: [c.graph.builder.id, sourcesOut.id],
      title: `stage1 ${arch}: seed toolchain`,
      cost: 30,
      placement: arch,
      storeKey: n.key,
      present: async (p) => p.store.has(n.key),
      remoteImage: builderImage(c),
      run: async (env, deps) => {
        const r = await runStage1(bootstrapContext(c, env, deps, n.id), n);
        return result(
          { meta: r.meta, path: r.path } satisfies Stage1Value,
          r.hit,
          `stage1 ${arch}: ${r.meta.triple} (${r.meta.compiler}, musl ${r.meta.libcVersion})${cached(r.hit)}`,
        );
      },
    });
    c.ship(async (_env, deps, parts) => {
      const s1 = deps.get(stage1Out(c)).meta;
      parts.toolchains[arch] = { triple: s1.triple, libc: 'musl', libcVersion: s1.libcVersion, compiler: s1.compiler, cflags: s1.cflags };
    });
  },
};
