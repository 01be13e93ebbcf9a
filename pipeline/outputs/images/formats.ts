// The boot image formats, one small entry each (LinuxKit's outFuns model):
// which imager script builds it, from what, and what the manifest records.
// Every script runs in the imager image with --network=none.
import type { Arch } from '../../plan/types.ts';
import { ARCH_TABLE, archInfo } from '../../plan/arch.ts';
import type { TarEntry } from '../../util/tar.ts';
import { grubConfig } from './grub-config.ts';
import { imageIds } from './ids.ts';
import type { BootPins } from './pins.ts';

/** What every step can draw on: the pins, the .debs, the rootfs and earlier steps' outputs. */
export interface StepContext {
  name: string; version: string; arch: Arch; pins: BootPins;
  kernelDeb: Buffer; grubDebs: { file: string; data: Buffer }[]; rootfsTar: Buffer; initScript: Buffer;
  outputs: Map<string, Map<string, Buffer>>;
}

export interface ImageStep {
  script: string;
  needs: string[];
  inputs(c: StepContext): TarEntry[];
  env(c: StepContext): Record<string, string>;
}

const file = (path: string, data: Buffer | string, mode = 0o644): TarEntry => ({ path, type: 'file', mode, data: Buffer.isBuffer(data) ? data : Buffer.from(data) });
const out = (c: StepContext, step: string, name: string): Buffer => c.outputs.get(step)!.get(name)!;

/** Inputs of a bootable image: rootfs, GRUB .debs, kernel, initramfs and its grub.cfg. */
function diskInputs(format: string) {
  return (c: StepContext): TarEntry[] => [
    file('rootfs.tar', c.rootfsTar),
    ...c.grubDebs.map((d) => file(`debs/${d.file}`, d.data)),
    file('boot/kernel', out(c, 'prepare', 'kernel')),
    file('boot/initramfs.cpio.gz', out(c, 'prepare', 'initramfs.cpio.gz')),
    file('cfg/grub.cfg', grubConfig({ name: c.name, version: c.version, arch: c.arch, imageId: imageIds(c.name, c.version, c.arch, format).imageId })),
  ];
}

function idEnv(format: string) {
  return (c: StepContext): Record<string, string> => {
    const ids = imageIds(c.name, c.version, c.arch, format);
    return {
      IMAGE_ID: ids.imageId, BOOT_TAG: ids.bootTag, VOLUME_LABEL: ids.volumeLabel, FAT_ID: ids.fatId,
      FS_UUID: ids.fsUuid, DISK_GUID: ids.diskGuid, ESP_GUID: ids.espGuid, ROOT_GUID: ids.rootGuid,
    };
  };
}

export const imageSteps: Record<string, ImageStep> = {
  prepare: {
    script: 'prepare.sh', needs: [],
    inputs: (c) => [file('rootfs.tar', c.rootfsTar), file('debs/linux-image.deb', c.kernelDeb), file('cfg/init', c.initScript, 0o755), file('cfg/modules.txt', c.pins.modules.join('\n') + '\n')],
    env: (c) => ({ KREL: c.pins.kernel.release }),
  },
  iso: { script: 'iso.sh', needs: ['prepare'], inputs: diskInputs('iso'), env: idEnv('iso') },
  raw: { script: 'raw.sh', needs: ['prepare'], inputs: diskInputs('raw'), env: idEnv('raw') },
  qcow2: { script: 'qcow2.sh', needs: ['raw'], inputs: (c) => [file('image.raw', out(c, 'raw', 'image.raw'))], env: () => ({}) },
};

export interface BootFormat {
  kind: string;
  arches: Arch[];
  fileName(name: string, version: string, arch: Arch): string;
  /** The step and the file in its /out that is the artifact. */
  from: [step: string, output: string];
  extra(c: StepContext): Record<string, unknown>;
}

const ALL = Object.keys(ARCH_TABLE) as Arch[];

export const bootFormats: Record<string, BootFormat> = {
  kernel: {
    kind: 'kernel', arches: ALL, from: ['prepare', 'kernel'],
    fileName: (n, v, a) => `${n}-${v}-${a}-kernel`,
    extra: (c) => ({ format: archInfo(c.arch).kernelImage.describe }),
  },
  vmlinux: {
    kind: 'kernel-elf', arches: ALL.filter((a) => archInfo(a).directBootFormat === 'vmlinux'), from: ['prepare', 'vmlinux'],
    fileName: (n, v, a) => `${n}-${v}-${a}-vmlinux`,
    extra: () => ({ format: 'ELF vmlinux (PVH entry), the bzImage payload decompressed, for Cloud Hypervisor direct boot' }),
  },
  initramfs: {
    kind: 'initramfs', arches: ALL, from: ['prepare', 'initramfs.cpio.gz'],
    fileName: (n, v, a) => `${n}-${v}-${a}-initramfs.cpio.gz`,
    extra: (c) => ({ format: 'cpio newc, gzip -n', init: 'busybox (/init finds the root by buckos.root=<image id>, else runs from the initramfs)',
      modules: out(c, 'prepare', 'modules.txt').toString().trim().split('\n') }),
  },
  iso: {
    kind: 'iso', arches: ALL, from: ['iso', 'image.iso'],
    fileName: (n, v, a) => `${n}-${v}-${a}.iso`,
    extra: (c) => ({ format: 'iso9660 hybrid (Rock Ridge, El Torito, GPT with appended ESP)', root: 'iso9660 (read-only)',
      bootModes: [...(archInfo(c.arch).biosGrubPlatform ? [`bios (El Torito, GRUB ${archInfo(c.arch).biosGrubPlatform})`, 'bios (MBR, hybrid disk)'] : []), 'uefi (El Torito EFI / ESP)'],
      ...ids(c, 'iso') }),
  },
  raw: {
    kind: 'raw', arches: ALL, from: ['raw', 'image.raw'],
    fileName: (n, v, a) => `${n}-${v}-${a}.raw`,
    extra: (c) => {
      const layout = JSON.parse(out(c, 'raw', 'layout.json').toString()) as { espMiB: number; rootMiB: number; diskMiB: number };
      const i = imageIds(c.name, c.version, c.arch, 'raw');
      return { format: 'raw GPT disk (sparse)', bootModes: ['uefi'], partitionTable: 'gpt', diskGuid: i.diskGuid,
        partitions: [
          { number: 1, name: 'EFI system', filesystem: 'vfat', sizeMiB: layout.espMiB, uuid: i.espGuid, fatVolumeId: i.fatId },
          { number: 2, name: 'buckos-root', filesystem: 'ext4', sizeMiB: layout.rootMiB, uuid: i.rootGuid, fsUuid: i.fsUuid },
        ],
        diskMiB: layout.diskMiB, dataBytes: nonZeroBytes(out(c, 'raw', 'image.raw')), ...ids(c, 'raw') };
    },
  },
  qcow2: {
    kind: 'qcow2', arches: ALL, from: ['qcow2', 'image.qcow2'],
    fileName: (n, v, a) => `${n}-${v}-${a}.qcow2`,
    extra: (c) => ({ format: 'qcow2 (zlib-compressed clusters)', convertedFrom: bootFormats.raw!.fileName(c.name, c.version, c.arch),
      virtualSize: out(c, 'raw', 'image.raw').length, bootModes: ['uefi'], ...ids(c, 'raw') }),
  },
};

function ids(c: StepContext, format: string): Record<string, unknown> {
  const i = imageIds(c.name, c.version, c.arch, format);
  return { imageId: i.imageId, kernelCmdline: `buckos.root=${i.imageId}`, bootConfig: 'GRUB: default entry boots to a shell; the test entry (osforge.test=1) is chosen when SMBIOS OEM string osforge.test=1 is present' };
}

/** Bytes in 4 KiB blocks that are not all zero: what a sparse copy actually stores. */
export function nonZeroBytes(data: Buffer, block = 4096): number {
  let n = 0;
  for (let off = 0; off < data.length; off += block) {
    const end = Math.min(off + block, data.length);
    for (let i = off; i < end; i++) if (data[i] !== 0) { n += end - off; break; }
  }
  return n;
}
