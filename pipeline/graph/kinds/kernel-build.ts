// The kernel build image (amd64, images/kernel/kernel.json): bootstrapped
// like the buildenv but a root of its own, so the buildenv and builder keys
// stay put when the kernel's build tools change. The kernel and GRUB build in
// it. Its named inputs say which package pin changed. Ships nothing itself.
import { baseRef, resolveBase, type ResolvedBase } from '../../steps/base.ts';
import { ref } from '../stage.ts';
import { result, type ForBuild, type StageKind } from './kind.ts';

export const kernelBuildOut = (c: ForBuild) => ref<ResolvedBase>(c.graph.kernelBuild.id);

export const kernelBuild: StageKind = {
  name: 'kernel-build',
  scope: 'build',
  expand(c) {
    const { plan, graph } = c;
    const n = graph.kernelBuild;
    // graph/keys.ts has already failed, naming the file, when the plan has no kernel build image.
    const spec = plan.kernelBuild!;
    c.add(kernelBuildOut(c), {
      key: n.key,
      inputs: n.inputs,
      deps: [],
      title: 'Kernel build image',
      cost: 180,
      present: (p) => p.imageExists(baseRef(spec, 'amd64')),
      run: async (env) => {
        const b = await resolveBase(env.engine, spec, 'amd64', (l) => env.progress(n.id, l));
        return result(b, b.how === 'local', `Kernel build image ${b.ref} (${b.how}${spec.pins.amd64 ? ', locked' : ', UNLOCKED: run osforge lock'})`);
      },
    });
  },
};
