import type { Arch } from '../model/arch.ts';

// The arch vocabulary lives in model/arch.ts (the only list); re-exported for the plan's readers.
export { ARCHES, type Arch } from '../model/arch.ts';

export interface DebianLocation {
  package: string;
  version: string;
  file: string;
  /** Set only when Debian's file differs from upstream (a +dfsg repack). */
  sha256?: string;
  /** A suite other than the base image's (e.g. a newer kernel from trixie); its deb-src line is added on the base's mirror. */
  suite?: string;
}

export interface SourceSpec {
  name: string;
  version: string;
  file: string;
  sha256: string;
  license?: string;
  urls: string[];
  debian?: DebianLocation;
  /** An upstream detached signature, checked with the pinned key (stages/signature.ts). */
  signature?: SignaturePin;
  /** The CPE the SBOM gives what is built from it (sign/cpe.ts); none for our own packages. */
  cpe?: CpeProduct;
}

/** An NVD CPE 2.3 product: `cpe:2.3:<part>:<vendor>:<product>:<version>:*:*:*:*:*:*:*`. */
export interface CpeProduct {
  part: 'a' | 'o';
  vendor: string;
  product: string;
}

export interface SignaturePin {
  /** The signature's file name (Debian's `<orig>.asc`, or upstream's). */
  file: string;
  urls: string[];
  /** images/-relative path of the signer's armoured public key. */
  key: string;
  fingerprint: string;
  keyArmored: Buffer;
}

export interface PackageRecipe {
  /**
   * The instance's id, unique in the plan: the name, or name:slot for a
   * slotted version (plan/resolve.ts), plus "+<profile>" when a profile
   * builds the package differently from the set before it. Stage ids use it.
   */
  id: string;
  name: string;
  version: string;
  /** "0" unless the recipe declares one. */
  slot: string;
  license?: string;
  sources: string[];
  /** Instance ids of the resolved dependencies. */
  deps: string[];
  /** Recipe files (build.sh and data) as path → content; part of the cache key. */
  files: Record<string, Buffer>;
  /** USE flags (plan/use.ts), when the recipe declares any: its iuse, the effective flags and the configure arguments they select. */
  use?: { iuse: string[]; enabled: string[]; configure: string[] };
  /** Patches in application order (plan/patches.ts): package, USE flag, user. */
  patches: { name: string; data: Buffer }[];
}

export interface ImageSet {
  /** null: buckos.json's "packages" (artifacts named <name>-<version>-...); else the profile (<name>-<profile>-<version>-...). */
  profile: string | null;
  /** Instance ids of the set's packages and everything they depend on, in dependency order. */
  packages: string[];
}

export interface BaseSpec {
  /** Image name: "base", "buildenv" or "kernel-build". */
  name: string;
  suite: string;
  variant: string;
  include: string[];
  /** Exact `package=version` pins from images/lock.json, per arch; used instead of `include` when present. */
  pins: Partial<Record<Arch, string[]>>;
  sourceDateEpoch: number;
  /** Pinned `name@sha256:` references to try pulling, per arch. */
  pull: Partial<Record<Arch, string>>;
}

export interface Buck2Spec {
  version: string;
  asset: string;
  url: string;
  sha256: string | null;
}

export interface Plan {
  name: string;
  version: string;
  arches: Arch[];
  base: BaseSpec;
  /** The builder's root filesystem: base plus the build toolchain packages. */
  buildenv: BaseSpec;
  /** The kernel build image's root (images/kernel/kernel.json), when the kernel is built from source. */
  kernelBuild?: BaseSpec;
  sources: Record<string, SourceSpec>;
  toolchainSource: string;
  /** Every package instance of every image set, in dependency order (deps first). */
  packages: PackageRecipe[];
  /** The images to make: buckos.json's default set and/or profiles (plan/profiles.ts). */
  imageSets: ImageSet[];
  buck2: Buck2Spec;
  /** Files that define the tools and builder images: path → content. */
  imageFiles: { tools: Record<string, Buffer>; builder: Record<string, Buffer>; kernelConfig: Record<string, Buffer>; grub: Record<string, Buffer> };
}
