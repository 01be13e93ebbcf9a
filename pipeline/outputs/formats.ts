// Every artifact format of dist/, one entry each (LinuxKit's outFuns in
// output.go): its kind, file name, arches, where its bytes come from (the
// rootfs entry, the toolchain, or a file an imager step left), what the
// manifest says about it, whether it is a bootable disk (GRUB facts and a
// QEMU boot script), and what it ships (the SBOM's CONTAINS). The stage
// kinds graph/kinds/tool-formats.ts, rootfs-formats.ts and image-steps.ts turn
// the entries into stages and artifacts, the SBOM reads `contains`: nothing
// else lists formats. Adding a boot format is an
// imager script, an entry here and its boot-test case.
import { readFile, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { ARCHES, archInfo, type Arch } from '../model/arch.ts';
import { chain, gzipStream, packStream, type StreamEntry } from '../util/tar-stream.ts';
import { imageIds } from './images/ids.ts';
import { ids, nonZeroBytes, out, type StepContext } from './images/steps.ts';

export interface ArchOutputInput {
  arch: Arch;
  sourceDateEpoch: number;
  /** The toolchain for `arch` from tools-cache/, data on disk. */
  toolchain: StreamEntry[];
}

/** What an artifact ships, for the SBOM's CONTAINS relationships. */
export interface Contents {
  kernel?: true;
  grub?: true;
  libc?: true;
  packages?: true;
}

interface Common {
  kind: string;
  arches: readonly Arch[];
  fileName(name: string, version: string, arch: Arch): string;
  contains: Contents;
}
/** 'rootfs': the stored rootfs entry is the artifact itself; 'tools': built from the toolchain. */
interface Tarball extends Common {
  from: 'rootfs' | 'tools';
  build(input: ArchOutputInput): Promise<Readable>;
}
/** A file an imager step (images/steps.ts) leaves in its /out. */
interface Boot extends Common {
  from: 'image';
  step: [step: string, output: string];
  extra(c: StepContext): Promise<Record<string, unknown>>;
  /** A bootable disk image: the manifest records GRUB, and a QEMU boot script boots it (its drive type). */
  disk?: 'cdrom' | 'raw' | 'qcow2';
}
export type ArtifactFormat = Tarball | Boot;

const everything: Contents = { kernel: true, grub: true, libc: true, packages: true };
const rawName = (n: string, v: string, a: Arch) => `${n}-${v}-${a}.raw`;

export const formats = {
  'rootfs-tar': {
    kind: 'rootfs',
    from: 'rootfs',
    arches: ARCHES,
    contains: { libc: true, packages: true },
    fileName: (n, v, a) => `${n}-${v}-${a}-rootfs.tar.gz`,
    build: async () => {
      throw new Error('internal: the rootfs artifact is the rootfs stage output');
    },
  },
  'toolchain-tar': {
    kind: 'toolchain',
    from: 'tools',
    arches: ARCHES,
    contains: { libc: true },
    fileName: (n, v, a) => `${n}-${v}-${a}-toolchain.tar.gz`,
    build: async (i) => chain(packStream(i.toolchain, i.sourceDateEpoch), gzipStream()),
  },
  kernel: {
    kind: 'kernel',
    from: 'image',
    arches: ARCHES,
    step: ['prepare', 'kernel'],
    contains: { kernel: true },
    fileName: (n, v, a) => `${n}-${v}-${a}-kernel`,
    extra: async (c) => ({ format: archInfo(c.arch).kernelImage.describe }),
  },
  vmlinux: {
    kind: 'kernel-elf',
    from: 'image',
    arches: ARCHES.filter((a) => archInfo(a).directBootFormat === 'vmlinux'),
    step: ['prepare', 'vmlinux'],
    contains: { kernel: true },
    fileName: (n, v, a) => `${n}-${v}-${a}-vmlinux`,
    extra: async () => ({ format: 'ELF vmlinux (PVH entry) from the kernel build, for Cloud Hypervisor direct boot' }),
  },
  initramfs: {
    kind: 'initramfs',
    from: 'image',
    arches: ARCHES,
    step: ['prepare', 'initramfs.cpio.gz'],
    contains: { libc: true, packages: true },
    fileName: (n, v, a) => `${n}-${v}-${a}-initramfs.cpio.gz`,
    extra: async () => ({
      format: 'cpio newc, gzip -n',
      init: 'busybox (/init finds the root by buckos.root=<image id>, else runs from the initramfs)',
      modules: 'none: the drivers that find the root are built into the kernel',
    }),
  },
  iso: {
    kind: 'iso',
    from: 'image',
    arches: ARCHES,
    step: ['iso', 'image.iso'],
    disk: 'cdrom',
    contains: everything,
    fileName: (n, v, a) => `${n}-${v}-${a}.iso`,
    extra: async (c) => ({
      format: 'iso9660 hybrid (Rock Ridge, El Torito, GPT with appended ESP)',
      root: 'iso9660 (read-only)',
      bootModes: [
        ...(archInfo(c.arch).biosGrubPlatform ? [`bios (El Torito, GRUB ${archInfo(c.arch).biosGrubPlatform})`, 'bios (MBR, hybrid disk)'] : []),
        'uefi (El Torito EFI / ESP)',
      ],
      ...ids(c, 'iso'),
    }),
  },
  raw: {
    kind: 'raw',
    from: 'image',
    arches: ARCHES,
    step: ['raw', 'image.raw'],
    disk: 'raw',
    contains: everything,
    fileName: rawName,
    extra: async (c) => {
      const layout = JSON.parse(await readFile(out(c, 'raw', 'layout.json'), 'utf8')) as { espMiB: number; rootMiB: number; diskMiB: number };
      const i = imageIds(c.name, c.version, c.arch, 'raw');
      return {
        format: 'raw GPT disk (sparse)',
        bootModes: ['uefi'],
        partitionTable: 'gpt',
        diskGuid: i.diskGuid,
        partitions: [
          { number: 1, name: 'EFI system', filesystem: 'vfat', sizeMiB: layout.espMiB, uuid: i.espGuid, fatVolumeId: i.fatId },
          { number: 2, name: 'buckos-root', filesystem: 'ext4', sizeMiB: layout.rootMiB, uuid: i.rootGuid, fsUuid: i.fsUuid },
        ],
        diskMiB: layout.diskMiB,
        dataBytes: await nonZeroBytes(out(c, 'raw', 'image.raw')),
        ...ids(c, 'raw'),
      };
    },
  },
  qcow2: {
    kind: 'qcow2',
    from: 'image',
    arches: ARCHES,
    step: ['qcow2', 'image.qcow2'],
    disk: 'qcow2',
    contains: everything,
    fileName: (n, v, a) => `${n}-${v}-${a}.qcow2`,
    extra: async (c) => ({
      format: 'qcow2 (zlib-compressed clusters)',
      convertedFrom: rawName(c.name, c.version, c.arch),
      virtualSize: (await stat(out(c, 'raw', 'image.raw'))).size,
      bootModes: ['uefi'],
      ...ids(c, 'raw'),
    }),
  },
} as const satisfies Record<string, ArtifactFormat>;

export type FormatName = keyof typeof formats;
/** The bootable disk formats (an entry with `disk`), e.g. 'iso' | 'raw' | 'qcow2'. */
export type DiskFormat = { [K in FormatName]: (typeof formats)[K] extends { disk: string } ? K : never }[FormatName];

const entries = Object.entries(formats) as [FormatName, ArtifactFormat][];
const pick = <T extends ArtifactFormat>(keep: (f: ArtifactFormat) => f is T): Record<string, T> =>
  Object.fromEntries(entries.filter(([, f]) => keep(f))) as Record<string, T>;

/** The tarballs: one stage per arch (and image set) each. */
export const outputFormats: Readonly<Record<string, Tarball>> = pick((f): f is Tarball => f.from !== 'image');
/** The boot artifacts cut from the imager steps' outputs. */
export const bootFormats: Readonly<Record<string, Boot>> = pick((f): f is Boot => f.from === 'image');
/** The bootable disks, in table order: each gets a QEMU boot script and GRUB facts. */
export const diskFormats = entries.filter(([, f]) => f.from === 'image' && f.disk).map(([n]) => n) as DiskFormat[];

/** The QEMU drive type of a disk format. */
export function diskDrive(format: DiskFormat): 'cdrom' | 'raw' | 'qcow2' {
  return formats[format].disk;
}

/** What an artifact of `kind` ships; kinds without an entry (oss-source, kernel .config, ...) contain none. */
export function contentsOf(kind: string): Contents | undefined {
  return entries.find(([, f]) => f.kind === kind)?.[1].contains;
}
