// What stages hand their dependents, and the typed references to them that
// compile.ts hands the run and dist/'s assembly: a module of its own so
// compile.ts and assemble-dist.ts share the types without importing each other.
import type { PackageMeta, Stage1Meta } from '../steps/bootstrap.ts';
import type { ResolvedBase } from '../steps/base.ts';
import type { FetchedSource } from '../steps/fetch.ts';
import type { ToolsResult } from '../steps/tools.ts';
import type { BuilderResult } from '../steps/builder.ts';
import type { BuiltGrub, BuiltKernel, FileValue, Imager, RootfsValue } from '../model/step-outputs.ts';
import type { Ref } from './stage.ts';

export interface PackageValue {
  meta: PackageMeta;
  path: string;
  key: string;
}
export interface Stage1Value {
  meta: Stage1Meta;
  path: string;
}

/** Per image set of one arch: its rootfs, the formats made from it, and the image steps' output dirs. */
export interface SetRefs {
  rootfs: Ref<RootfsValue>;
  formats: Map<string, Ref<FileValue>>;
  steps: Map<string, Ref<string>>;
}
export interface ArchRefs {
  stage1: Ref<Stage1Value>;
  kernel: Ref<BuiltKernel>;
  grub: Ref<BuiltGrub>;
  /** By recipe instance id. */
  packages: Map<string, Ref<PackageValue>>;
  /** The formats made from the toolchain. */
  toolFormats: Map<string, Ref<FileValue>>;
  /** By image set id suffix (plan/image-sets.ts setIdSuffix). */
  sets: Map<string, SetRefs>;
}
export interface DistRefs {
  base: Ref<ResolvedBase>;
  buildenv: Ref<ResolvedBase>;
  tools: Ref<ToolsResult>;
  builder: Ref<BuilderResult>;
  sources: Ref<Map<string, FetchedSource>>;
  imager: Ref<Imager>;
  oss: Ref<FileValue>;
  arches: Map<string, ArchRefs>;
}
