// Shared set-up for integration tests: the real engine, the real base
// images (resolved the way `dist` does) and a run label for cleanup.
import { loadPlan } from '../../pipeline/plan/load.ts';
import { paths } from '../../pipeline/paths.ts';
import { resolveBase, type ResolvedBase } from '../../pipeline/steps/base.ts';
import type { Arch } from '../../pipeline/plan/types.ts';
import { join } from 'node:path';
import { StageStore } from '../../pipeline/cache/stage-store.ts';
import { grubInputs } from '../../pipeline/graph/keys.ts';
import { fetchSources } from '../../pipeline/steps/fetch.ts';
import { buildGrub, grubKey } from '../../pipeline/steps/grub.ts';
import { GRUB_SOURCE, type BuiltGrub } from '../../pipeline/model/step-outputs.ts';
import { openStepLog } from '../../pipeline/steps/step-log.ts';
import { connectEngine } from '../../pipeline/engine/connect.ts';

export const engine = connectEngine();
export const plan = loadPlan(paths.images);
export const runId = `test-${process.pid}`;

const bases = new Map<Arch, Promise<ResolvedBase>>();
export function base(arch: Arch): Promise<ResolvedBase> {
  if (!bases.has(arch))
    bases.set(
      arch,
      engine.ping().then(() => resolveBase(engine, plan.base, arch, () => undefined)),
    );
  return bases.get(arch)!;
}

/**
 * The GRUB stage entry `dist` uses for `arch`, from the machine's stage store
 * (built there once, under the plan's own key, when missing): image steps
 * need a real grub-mkimage, and building GRUB per test would take minutes.
 */
export async function grubFor(arch: Arch): Promise<BuiltGrub> {
  const inputs = grubInputs(plan, arch);
  const b = await base('amd64');
  const log = openStepLog(join(paths.logs(), 'tests'), 'fetch-grub');
  const fetched = (await fetchSources({ engine, baseRef: b.ref, specs: [plan.sources[GRUB_SOURCE]!], cacheRoot: paths.sources(), runId, log })).get(
    GRUB_SOURCE,
  )!;
  const image = await resolveBase(engine, plan.kernelBuild!, 'amd64', () => undefined);
  const r = await buildGrub({
    ...inputs,
    engine,
    store: new StageStore(paths.stages()),
    key: grubKey(inputs),
    imageRef: image.ref,
    fetched,
    runId,
    logDir: join(paths.logs(), 'tests'),
    jobs: 2,
  });
  return { dir: r.path, meta: r.meta };
}
