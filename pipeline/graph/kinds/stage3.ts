// stage3 (per arch): the self-hosting check, every package's rootfs booted
// in the builder image with the stage1 toolchain. It gates publishing (dist
// waits for every stage) and ships nothing itself. Named inputs: the stage1
// key and every package's (graph/keys.ts).
import { stage3 as runStage3 } from '../../steps/bootstrap.ts';
import { ref } from '../stage.ts';
import type { Stage3Meta } from '../../steps/bootstrap.ts';
import { cached, result, type ForArch, type StageKind } from './kind.ts';
import { builderImage } from './builder.ts';
import { sourcesOut } from './sources.ts';
import { bootstrapContext, stage1Out } from './stage1.ts';
import { packagesOf } from './stage2.ts';

export const stage3Out = (c: ForArch) => ref<Stage3Meta>(c.nodes.stage3.id);

export const stage3: StageKind = {
  name: 'stage3',
  scope: 'arch',
  expand(c) {
    const { plan, arch, nodes } = c;
    const n = nodes.stage3;
    c.add(stage3Out(c), {
      key: n.key,
      inputs: n.inputs,
      deps: [nodes.stage1.id, c.graph.builder.id, sourcesOut.id, ...plan.packages.map((p) => nodes.packages.get(p.id)!.id)],
      title: `stage3 ${arch}: self-hosting check`,
      cost: 20,
      placement: arch,
      storeKey: n.key,
      present: async (p) => p.store.has(n.key),
      remoteImage: builderImage(c),
      run: async (env, deps) => {
        const r = await runStage3(bootstrapContext(c, env, deps, n.id), n, packagesOf(c, deps), deps.get(stage1Out(c)).path);
        return result(r.meta, r.hit, `stage3 ${arch}: ${r.meta.uname} rootfs runs${cached(r.hit)}`);
      },
    });
  },
};
