// Shared set-up for integration tests: the real engine, the real base
// images (resolved the way `dist` does) and a run label for cleanup.
import { DockerEngine } from '../../pipeline/engine/docker.ts';
import { loadPlan } from '../../pipeline/plan/load.ts';
import { paths } from '../../pipeline/paths.ts';
import { resolveBase, type ResolvedBase } from '../../pipeline/stages/base.ts';
import type { Arch } from '../../pipeline/plan/types.ts';

export const engine = new DockerEngine();
export const plan = loadPlan(paths.images);
export const runId = `test-${process.pid}`;

const bases = new Map<Arch, Promise<ResolvedBase>>();
export function base(arch: Arch): Promise<ResolvedBase> {
  if (!bases.has(arch)) bases.set(arch, engine.ping().then(() => resolveBase(engine, plan.base, arch, () => undefined)));
  return bases.get(arch)!;
}
