// The shape of dist/manifest.json. Later stages (signing, SBOM, provenance,
// binary packages) read this instead of re-deriving build facts. A leaf
// (model/): outputs/ writes it, sign/ and binpkg/ read it.
import type { Arch } from './arch.ts';

export interface ManifestArtifact {
  /** File name relative to dist/. */
  path: string;
  arch: Arch | 'any';
  /** rootfs | toolchain | oss-source | ... (one per output format). */
  kind: string;
  size: number;
  sha256: string;
  /** Format-specific details (kernel version, partition table, boot modes, ...). */
  [detail: string]: unknown;
}

export interface ManifestSource {
  name: string;
  version: string;
  file: string;
  sha256: string;
  /** Where it may be fetched from, in order. */
  urls: string[];
  license?: string;
  /** For a source that pins an upstream signature: 'verified' by the fingerprint, or 'disabled' (BUCKOS_VERIFY_SIGNATURES=0). */
  signature?: { status: 'verified' | 'disabled'; file: string; fingerprint: string };
}

export interface ManifestPackage {
  /** The instance id (plan/resolve.ts), when it is not the name: name:slot, or <id>+<profile>. */
  id?: string;
  /** The slot, when not the default "0". */
  slot?: string;
  name: string;
  version: string;
  arch: Arch;
  license?: string;
  /** Stage cache key: sha256 over recipe, sources and dependency keys. */
  key: string;
  deps: string[];
  sources: { file: string; sha256: string }[];
  /** sha256 of the package's output tar.gz in the stage store. */
  outputSha256: string;
  /** The effective USE flags, for a recipe that declares any (plan/use.ts). */
  use?: { iuse: string[]; enabled: string[] };
}

/**
 * Where one stage2 package of a run came from. Kept in the run's report.json,
 * not in the manifest: dist/ must be byte-identical whether a package was
 * built or taken from a signed binary mirror (CI compares the two), so a
 * per-run fact like this cannot live inside dist/.
 */
export interface PackageOrigin {
  arch: string;
  name: string;
  version: string;
  origin: 'built' | 'mirror';
  /** Key id (sha256 of the signer's public key DER, shortened) when origin is "mirror". */
  signerKeyId?: string;
  /** Whether this run reused the stage cache (the origin is the cached entry's). */
  cached: boolean;
}

/** The kernel built for one arch (stages/kernel.ts), from a pinned source and the config fragments. */
export interface ManifestKernel {
  arch: Arch;
  /** Upstream version: the release up to its local suffix ("6.12.107" of "6.12.107-buckos"). */
  version: string;
  /** `uname -r` of the built kernel. */
  release: string;
  license: string;
  source: { name: string; file: string; sha256: string };
  /** The fragments merged into .config, in merge order (paths under images/kernel/config/). */
  fragments: { path: string; sha256: string }[];
  /** dist/ files: the final .config and System.map. */
  config: { path: string; sha256: string };
  systemMap: { path: string; sha256: string };
  /** The stage key. */
  key: string;
}

/** GRUB built from source for the platforms one arch's images boot with. */
export interface ManifestGrub {
  arch: Arch;
  version: string;
  license: string;
  source: { name: string; file: string; sha256: string };
  /** GRUB platforms built (i386-pc, x86_64-efi, arm64-efi). */
  platforms: string[];
  /** sha256 of the stage's normalised tar of grub-mkimage and lib/grub/<platform>/ (the image steps' input). */
  treeSha256: string;
  key: string;
}

export interface ManifestImage {
  ref: string;
  id: string;
  inputHash: string;
}

export interface Manifest {
  name: string;
  version: string;
  commit: string;
  dirty: boolean;
  sourceDateEpoch: number;
  artifacts: ManifestArtifact[];
  images: { base: Record<string, ManifestImage>; buildenv: ManifestImage; tools: ManifestImage; builder: ManifestImage };
  buck2: { version: string; sha256: string } | null;
  toolchains: Record<string, { triple: string; libc: string; libcVersion: string; compiler: string; cflags: string[] }>;
  packages: ManifestPackage[];
  /** The images dist/ holds: the default set (profile null) and/or profiles, each with its package instance ids. */
  imageSets?: { profile: string | null; name: string; packages: string[] }[];
  /** Per arch. Every boot image (kernel, initramfs, iso, raw, qcow2) of an arch ships its kernel. */
  kernels?: ManifestKernel[];
  /** Per arch. iso, raw and qcow2 images of an arch ship its GRUB. */
  grub?: ManifestGrub[];
  sources: ManifestSource[];
  /**
   * The tools cache key. Whether this run hit the cache is a fact about the
   * run, not the release, so it is in the run's report.json and output, not
   * here: a warm rebuild must produce the same manifest as a cold one.
   */
  toolsCache: { key: string };
}
