// GRUB (per arch): built in the kernel build image with make -j like the
// kernel. Its store entry is under grubKey(), the node's first input; the
// other named inputs say whether the pin, images/grub/build.sh or the image
// changed (graph/keys.ts). Ships the arch's GRUB record in manifest.json.
import { buildGrub } from '../../steps/grub.ts';
import { GRUB_SOURCE, GRUB_TAR, type BuiltGrub } from '../../model/step-outputs.ts';
import { grubInputs } from '../keys.ts';
import { ref } from '../stage.ts';
import { archEcho, cached, result, sizeOf, type ForArch, type StageKind } from './kind.ts';
import { kernelBuildOut } from './kernel-build.ts';
import { fetched, sourcesOut } from './sources.ts';

export const grubOut = (c: ForArch) => ref<BuiltGrub>(c.nodes.grub.id);

export const grub: StageKind = {
  name: 'grub',
  scope: 'arch',
  expand(c) {
    const { plan, arch, budget } = c;
    const n = c.nodes.grub;
    const gi = grubInputs(plan, arch);
    const entry = n.inputs[0]![1];
    c.add(grubOut(c), {
      key: n.key,
      inputs: n.inputs,
      deps: [c.graph.kernelBuild.id, sourcesOut.id],
      title: `GRUB ${arch}`,
      weight: budget,
      cost: 200,
      storeKey: entry,
      present: async (p) => p.store.has(entry),
      run: async (env, deps) => {
        const r = await buildGrub({
          ...gi,
          engine: env.engine,
          store: env.store,
          key: entry,
          imageRef: deps.get(kernelBuildOut(c)).ref,
          fetched: fetched(deps).get(GRUB_SOURCE)!,
          runId: env.runId,
          logDir: env.logDir,
          jobs: budget,
          echo: archEcho(env, arch),
        });
        return result(
          { dir: r.path, meta: r.meta } satisfies BuiltGrub,
          r.hit,
          `GRUB ${arch}: ${r.meta.version} (${r.meta.platforms.join(', ')})${cached(r.hit)}`,
          await sizeOf(r.path),
        );
      },
    });
    c.ship(async (_env, deps, parts) => {
      const m = deps.get(grubOut(c)).meta;
      parts.grub.push({
        arch,
        version: m.version,
        license: plan.sources[GRUB_SOURCE]!.license ?? 'GPL-3.0-or-later',
        source: { name: GRUB_SOURCE, file: m.source.file, sha256: m.source.sha256 },
        platforms: m.platforms,
        treeSha256: m.files![GRUB_TAR]!,
        key: m.key,
      });
    });
  },
};
