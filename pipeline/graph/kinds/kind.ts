// What a stage kind is: one module under graph/kinds/ per kind, holding its
// ids and typed references, its named inputs (graph/keys.ts computes the keys
// every kind shares), its weight, cost and placement, its run, and what it
// contributes to dist/ (artifacts and manifest entries). registry.ts lists the
// kinds in build order; compile.ts expands each over the plan: once per build,
// per arch, or per arch and image set. A kind module imports only the kinds
// before it (their refs), never compile.ts or the registry.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Arch, ImageSet, Plan } from '../../plan/types.ts';
import type { ArchNodes, StageGraph } from '../keys.ts';
import type { PendingArtifact } from '../../outputs/dist-writer.ts';
import type { Manifest, ManifestGrub, ManifestKernel, ManifestPackage } from '../../model/manifest.ts';
import type { BuildStage, Outputs, Ref, StageEnv, StageResult } from '../stage.ts';

/** A stage as a kind describes it: weight 1 and cost 30 unless it says otherwise; its run returns a V. */
export type StageSpec<V> = Omit<BuildStage, 'id' | 'weight' | 'cost' | 'run'> &
  Partial<Pick<BuildStage, 'weight' | 'cost'>> & { run(env: StageEnv, deps: Outputs): Promise<StageResult<V>> };

/** dist/'s parts, filled by the kinds' contributions (ForBuild.ship), in manifest order; graph/assemble-dist.ts writes them. */
export interface DistParts {
  artifacts: PendingArtifact[];
  images: Partial<Manifest['images']>;
  toolchains: Manifest['toolchains'];
  packages: ManifestPackage[];
  kernels: ManifestKernel[];
  grub: ManifestGrub[];
  sources?: Manifest['sources'];
  toolsCache?: Manifest['toolsCache'];
}
/** A contribution to dist/: reads finished stages (the dist stage waits for all of them) and adds to `parts`. */
export type Ship = (env: StageEnv, deps: Outputs, parts: DistParts) => Promise<void>;

/** What every kind sees: the plan, the keys, the job budget, the imager's files (data), and the two ways to add. */
export interface ForBuild {
  plan: Plan;
  graph: StageGraph;
  budget: number;
  imagerFiles: Readonly<Record<string, Buffer>>;
  /** The dist key's source-date-epoch (what the keys of the stages that embed it hash). */
  sde: string;
  /** Adds the stage under `ref`; its run must return that ref's V. */
  add<V>(ref: Ref<V>, spec: StageSpec<V>): Ref<V>;
  /** Adds a contribution to dist/ (kinds run theirs in manifest order: per arch, then the build-wide ones). */
  ship(fn: Ship): void;
  /** The ids of every stage added so far. */
  added(): readonly string[];
  /** Every contribution to dist/ shipped so far, in manifest order (the dist kind runs them). */
  contributions(): readonly Ship[];
}
export interface ForArch extends ForBuild {
  arch: Arch;
  nodes: ArchNodes;
}
export interface ForSet extends ForArch {
  set: ImageSet;
  /** The set's id suffix (plan/image-sets.ts setIdSuffix): '' for the default set. */
  sfx: string;
  /** ' (profile)' for a profile's set, else ''. */
  label: string;
  /** The set's artifact name (plan/image-sets.ts setArtifactName). */
  setName: string;
}

interface KindCommon {
  /** Its name, as the README and the registry test say it. */
  name: string;
  /**
   * Where its contributions land in an arch's part of manifest.json's
   * artifacts, lowest first (default 0; then registry order, then image
   * set). Set only where build order and manifest order differ.
   */
  distOrder?: number;
}
/**
 * 'build': once; 'arch': per arch; 'set': per arch and image set; 'final':
 * once, after every other stage, returning the reference to the manifest it
 * writes (the build's result, which the run hands back).
 */
export type StageKind =
  | (KindCommon & { scope: 'build'; expand(c: ForBuild): void })
  | (KindCommon & { scope: 'arch'; expand(c: ForArch): void })
  | (KindCommon & { scope: 'set'; expand(c: ForSet): void })
  | (KindCommon & { scope: 'final'; expand(c: ForBuild): Ref<Manifest> });

export const result = <V>(value: V, hit: boolean, title: string, bytes?: number): StageResult<V> => ({ value, hit, title, bytes });
export const cached = (hit: boolean) => (hit ? ' [cached]' : '');
/** The --verbose --plain echo of an arch's container logs, prefixed with the arch. */
export const archEcho = (env: StageEnv, arch: Arch) => env.echo && ((l: string) => env.echo!(`[${arch}] ${l}`));

/** Bytes of a stored output: a file, or every file under a directory entry. */
export async function sizeOf(path: string): Promise<number> {
  const st = await stat(path);
  if (!st.isDirectory()) return st.size;
  let n = 0;
  for (const e of await readdir(path)) n += await sizeOf(join(path, e));
  return n;
}
