// The buildenv image (amd64): the base plus the build toolchain's packages,
// with its root layer kept on disk for the builder image. Its key is the
// image's input hash (the tools and builder keys are built on it); its named
// inputs say which package pin changed. It ships its ref, id and input hash.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { baseRef, resolveBase, type ResolvedBase } from '../../steps/base.ts';
import { ref } from '../stage.ts';
import { result, type ForBuild, type StageKind } from './kind.ts';

export const buildenvOut = (c: ForBuild) => ref<ResolvedBase>(c.graph.buildenv.id);

export const buildenv: StageKind = {
  name: 'buildenv',
  scope: 'build',
  expand(c) {
    const { plan, graph } = c;
    const n = graph.buildenv;
    c.add(buildenvOut(c), {
      key: n.key,
      inputs: n.inputs,
      deps: [],
      title: 'Buildenv image',
      cost: 180,
      present: async (p) => existsSync(join(p.stateRoot.layers, `${n.inputs[0]![1]}.tar`)) && p.imageExists(baseRef(plan.buildenv, 'amd64')),
      run: async (env) => {
        const b = await resolveBase(env.engine, plan.buildenv, 'amd64', (l) => env.progress(n.id, l), { layerDir: env.stateRoot.layers });
        return result(b, b.how === 'local', `Buildenv image ${b.ref} (${b.how}${plan.buildenv.pins.amd64 ? ', locked' : ', UNLOCKED: run osforge lock'})`);
      },
    });
    c.ship(async (_env, deps, parts) => {
      const b = deps.get(buildenvOut(c));
      parts.images.buildenv = { ref: b.ref, id: b.id, inputHash: b.inputHash };
    });
  },
};
