// The contract between a step and what reads its output: the files a kernel
// or GRUB stage leaves in its store entry, what it records about them, and
// the sources.json names they are built from. A leaf (model/): steps/ write
// these, outputs/ and graph/ read them, and neither needs the other's code.
import type { Arch } from './arch.ts';

/** What a stage store entry records (meta.json); the store checks outputSha256/files on every read. */
export interface StageMeta {
  key: string;
  kind: string;
  /** sha256 of output.tar.gz, for file entries. */
  outputSha256?: string;
  /** sha256 of every file under out/, for directory entries. */
  files?: Record<string, string>;
  [field: string]: unknown;
}

/** A verified entry: `path` is output.tar.gz, or the out/ directory. */
export interface StageEntry<M extends StageMeta> {
  meta: M;
  path: string;
}

/** The sources.json entry the kernel is built from. */
export const KERNEL_SOURCE = 'linux';
/** The sources.json entry GRUB is built from. */
export const GRUB_SOURCE = 'grub';

/** What the kernel stage writes under its out/ directory. */
export const KERNEL_FILES = { image: 'vmlinuz', vmlinux: 'vmlinux', config: 'config', systemMap: 'System.map', release: 'release' } as const;
/** The one file of a GRUB stage entry: a normalised tar of bin/grub-mkimage and lib/grub/<platform>/. */
export const GRUB_TAR = 'grub.tar';

export interface KernelMeta extends StageMeta {
  arch: Arch;
  version: string;
  release: string;
  source: { file: string; sha256: string };
  fragments: string[];
}
export interface GrubMeta extends StageMeta {
  arch: Arch;
  version: string;
  platforms: string[];
  source: { file: string; sha256: string };
}

/** A kernel stage's output directory (KERNEL_FILES) and what it recorded. */
export interface BuiltKernel {
  dir: string;
  meta: KernelMeta;
}
/** A GRUB stage's output directory (its one file, GRUB_TAR) and what it recorded. */
export interface BuiltGrub {
  dir: string;
  meta: GrubMeta;
}

/** A stored rootfs: the gzipped tar (it is the rootfs artifact) and its uncompressed size. */
export interface RootfsValue {
  path: string;
  tarSize: number;
  key: string;
}
/** One stored file (a format stage's output, oss_source.tgz) and its digest. */
export interface FileValue {
  path: string;
  sha256: string;
}

/** The imager image and the files of images/imager/ it was built with (the image steps' scripts come from them). */
export interface Imager {
  ref: string;
  id: string;
  key: string;
  files: Record<string, Buffer>;
}
