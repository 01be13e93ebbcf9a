// The kernel (per arch): Linux built in the kernel build image from the
// config fragments (make -j, so it weighs the whole budget). Its store entry
// is under kernelKey() itself, the node's first input, as the standalone
// kernel build uses; the other named inputs say which fragment, pin or image
// changed (graph/keys.ts). Ships the .config and System.map artifacts and the
// arch's kernel record in manifest.json.
import { join } from 'node:path';
import { buildKernel } from '../../steps/kernel.ts';
import { KERNEL_FILES, KERNEL_SOURCE, type BuiltKernel } from '../../model/step-outputs.ts';
import type { ManifestKernel } from '../../model/manifest.ts';
import type { PendingArtifact } from '../../outputs/dist-writer.ts';
import type { Plan } from '../../plan/types.ts';
import { sha256, sha256File } from '../../util/hash.ts';
import { kernelInputs } from '../keys.ts';
import { ref } from '../stage.ts';
import { archEcho, cached, result, sizeOf, type ForArch, type StageKind } from './kind.ts';
import { kernelBuildOut } from './kernel-build.ts';
import { fetched, sourcesOut } from './sources.ts';

export const kernelOut = (c: ForArch) => ref<BuiltKernel>(c.nodes.kernel.id);

/** The kernel's .config and System.map as dist/ files, and its manifest record. */
async function kernelRecord(plan: Plan, arch: ManifestKernel['arch'], kernel: BuiltKernel, artifacts: PendingArtifact[]): Promise<ManifestKernel> {
  const m = kernel.meta;
  const file = async (suffix: string, name: string, kind: string) => {
    const dist = { path: `${plan.name}-${plan.version}-${arch}-kernel.${suffix}`, sha256: await sha256File(join(kernel.dir, name)) };
    artifacts.push({ ...dist, arch, kind, file: join(kernel.dir, name), extra: { release: m.release } });
    return dist;
  };
  const spec = plan.sources[KERNEL_SOURCE]!;
  // The stage key covers the fragments' text, so the plan's copies are the ones it was built from.
  const fragments = m.fragments.map((path) => ({ path, sha256: sha256(plan.imageFiles.kernelConfig[path]!) }));
  return {
    arch,
    version: m.version,
    release: m.release,
    license: spec.license ?? 'GPL-2.0-only',
    source: { name: KERNEL_SOURCE, file: m.source.file, sha256: m.source.sha256 },
    fragments,
    config: await file('config', KERNEL_FILES.config, 'kernel-config'),
    systemMap: await file('System.map', KERNEL_FILES.systemMap, 'kernel-system-map'),
    key: m.key,
  };
}

export const kernel: StageKind = {
  name: 'kernel',
  scope: 'arch',
  expand(c) {
    const { plan, arch, budget } = c;
    const n = c.nodes.kernel;
    const kb = kernelInputs(plan);
    const entry = n.inputs[0]![1];
    c.add(kernelOut(c), {
      key: n.key,
      inputs: n.inputs,
      deps: [c.graph.kernelBuild.id, sourcesOut.id],
      title: `kernel ${arch}`,
      weight: budget,
      cost: 400,
      storeKey: entry,
      present: async (p) => p.store.has(entry),
      run: async (env, deps) => {
        const image = deps.get(kernelBuildOut(c));
        const r = await buildKernel({
          engine: env.engine,
          store: env.store,
          arch,
          key: entry,
          source: fetched(deps).get(KERNEL_SOURCE)!,
          fragments: kb.fragments,
          image: { ref: image.ref, key: kb.imageKey, arch: 'amd64' },
          sourceDateEpoch: kb.sourceDateEpoch,
          runId: env.runId,
          logDir: env.logDir,
          jobs: budget,
          echo: archEcho(env, arch),
        });
        return result({ dir: r.path, meta: r.meta } satisfies BuiltKernel, r.hit, `kernel ${arch}: ${r.meta.release}${cached(r.hit)}`, await sizeOf(r.path));
      },
    });
    c.ship(async (_env, deps, parts) => {
      parts.kernels.push(await kernelRecord(plan, arch, deps.get(kernelOut(c)), parts.artifacts));
    });
  },
};
