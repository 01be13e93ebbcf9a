// compile(plan) → every stage of a build, resolved before any container
// exists (melange's Compile): each stage kind of the registry (kinds/) is
// expanded once, per arch, or per arch and image set, in registry order.
// Pure: the imager's files come in as data, and no I/O happens until a
// stage's `present` or `run` is called. Nothing here knows a stage kind.
import type { Plan } from '../plan/types.ts';
import { archInfo } from '../model/arch.ts';
import type { StageGraph } from './keys.ts';
import { setArtifactName, setIdSuffix } from '../plan/image-sets.ts';
import type { BuildStage, Ref } from './stage.ts';
import type { Manifest } from '../model/manifest.ts';
import type { FileValue, RootfsValue } from '../model/step-outputs.ts';
import type { PackageValue, Stage1Value } from './values.ts';
import type { ForArch, ForBuild, ForSet, Ship, StageKind } from './kinds/kind.ts';
import { KINDS } from './kinds/registry.ts';

export interface Compiled {
  stages: BuildStage[];
  byId: Map<string, BuildStage>;
  /** The dist stage's output: the manifest it wrote. */
  dist: Ref<Manifest>;
}

export type { FileValue, RootfsValue, PackageValue, Stage1Value };

/** Where a contribution to dist/ lands: per arch (then distOrder, image set, order shipped), the build-wide ones after. */
type Rank = [arch: number, distOrder: number, set: number, seq: number];
const byRank = (a: Rank, b: Rank) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2] || a[3] - b[3];

/**
 * Every stage of a build. Weights: most steps count as one core; the
 * toolchain, kernel and GRUB compiles take the whole budget. `graph` holds the keys.
 */
export function compile(
  plan: Plan,
  graph: StageGraph,
  budget: number,
  imagerFiles: Readonly<Record<string, Buffer>>,
  kinds: readonly StageKind[] = KINDS,
): Compiled {
  // An arch the table does not know fails here, before anything runs, naming the table.
  for (const arch of plan.arches) archInfo(arch);
  const stages: BuildStage[] = [];
  const ships: { rank: Rank; fn: Ship }[] = [];
  let place: [arch: number, distOrder: number, set: number] = [plan.arches.length, 0, -1];
  const root: ForBuild = {
    plan,
    graph,
    budget,
    imagerFiles,
    sde: graph.dist.inputs.find(([k]) => k === 'source-date-epoch')![1],
    add: (ref, spec) => {
      stages.push({ weight: 1, cost: 30, ...spec, id: ref.id });
      return ref;
    },
    ship: (fn) => ships.push({ rank: [...place, ships.length], fn }),
    added: () => stages.map((s) => s.id),
    contributions: () => [...ships].sort((a, b) => byRank(a.rank, b.rank)).map((s) => s.fn),
  };
  const inScope = <S extends StageKind['scope']>(scope: S) => kinds.filter((k): k is Extract<StageKind, { scope: S }> => k.scope === scope);
  // What a kind ships is ranked by where it was expanded (kinds/kind.ts distOrder).
  const expand = <C, R>(k: { distOrder?: number; expand(c: C): R }, c: C, arch: number, set = -1): R => {
    place = [arch, k.distOrder ?? 0, set];
    return k.expand(c);
  };

  for (const k of inScope('build')) expand(k, root, plan.arches.length);
  plan.arches.forEach((arch, a) => {
    const forArch: ForArch = { ...root, arch, nodes: graph.arches.get(arch)! };
    for (const k of inScope('arch')) expand(k, forArch, a);
    plan.imageSets.forEach((set, s) => {
      const forSet: ForSet = { ...forArch, set, sfx: setIdSuffix(set), label: set.profile ? ` (${set.profile})` : '', setName: setArtifactName(plan, set) };
      for (const k of inScope('set')) expand(k, forSet, a, s);
    });
  });
  // The final kind (dist) writes the build's result; the run reads it through this reference.
  const finals = inScope('final').map((k) => expand(k, root, plan.arches.length));
  if (finals.length !== 1) throw new Error(`internal: the registry has ${finals.length} final stage kinds; it needs exactly one (dist)`);

  // Two stages with one key would share a store entry: one would read the other's output.
  const byKey = new Map<string, string>();
  for (const s of stages) {
    const other = byKey.get(s.key);
    if (other) throw new Error(`internal: stages ${other} and ${s.id} have the same key; give them distinguishing inputs`);
    byKey.set(s.key, s.id);
  }
  const byId = new Map(stages.map((s) => [s.id, s]));
  // One id is one stage, so a reference reads the output of the one stage added under it.
  if (byId.size !== stages.length)
    throw new Error(`internal: a stage id is added twice (${stages.map((s) => s.id).filter((id, i, all) => all.indexOf(id) !== i)})`);
  return { stages, byId, dist: finals[0]! };
}
