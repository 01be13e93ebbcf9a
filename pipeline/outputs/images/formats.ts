// The boot image formats, one small entry each (LinuxKit's outFuns model):
// which imager script builds it, from what, and what the manifest records.
// Every script runs in the imager image with --network=none.
import type { Arch } from '../../model/arch.ts';
import { ARCH_TABLE, archInfo } from '../../model/arch.ts';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { chain, type StreamEntry } from '../../util/tar-stream.ts';
import { grubConfig } from './grub-config.ts';
import { imageIds } from './ids.ts';
import { GRUB_TAR, KERNEL_FILES, type GrubMeta, type KernelMeta } from '../../model/step-outputs.ts';

/**
 * What every step can draw on, all on disk: the kernel and GRUB stages' outputs, the rootfs
 * (gzipped, with its uncompressed size) and earlier steps' output dirs.
 */
export interface StepContext {
  name: string; version: string; arch: Arch;
  /** The kernel and GRUB stages' output directories and facts. */
  kernel: { dir: string; meta: KernelMeta };
  grub: { dir: string; meta: GrubMeta };
  rootfs: { path: string; tarSize: number }; initScript: Buffer;
  outputs: Map<string, string>;
}

export interface ImageStep {
  script: string;
  needs: string[];
  inputs(c: StepContext): StreamEntry[];
  env(c: StepContext): Record<string, string>;
}

const file = (path: string, data: Buffer | string, mode = 0o644): StreamEntry => ({ path, type: 'file', mode, data: Buffer.isBuffer(data) ? data : Buffer.from(data) });
const onDisk = (path: string, from: string): StreamEntry => ({ path, type: 'file', mode: 0o644, data: { file: from } });
/** The path of a file an earlier step left in its /out. */
export const out = (c: StepContext, step: string, name: string): string => join(c.outputs.get(step)!, name);
const rootfsTar = (c: StepContext): StreamEntry => ({ path: 'rootfs.tar', type: 'file', mode: 0o644, data: { size: c.rootfs.tarSize, open: () => chain(createReadStream(c.rootfs.path), createGunzip()) } });

/** Inputs of a bootable image: rootfs, the GRUB stage's tree, kernel, initramfs and its grub.cfg. */
function diskInputs(format: string) {
  return (c: StepContext): StreamEntry[] => [
    rootfsTar(c),
    onDisk('grub.tar', join(c.grub.dir, GRUB_TAR)),
    onDisk('boot/kernel', out(c, 'prepare', 'kernel')),
    onDisk('boot/initramfs.cpio.gz', out(c, 'prepare', 'initramfs.cpio.gz')),
    file('cfg/grub.cfg', grubConfig({ name: c.name, version: c.version, arch: c.arch, imageId: imageIds(c.name, c.version, c.arch, format).imageId })),
  ];
}

function idEnv(format: string) {
  return (c: StepContext): Record<string, string> => {
    const ids = imageIds(c.name, c.version, c.arch, format);
    return {
      KREL: c.kernel.meta.release, IMAGE_ID: ids.imageId, BOOT_TAG: ids.bootTag, VOLUME_LABEL: ids.volumeLabel, FAT_ID: ids.fatId,
      FS_UUID: ids.fsUuid, DISK_GUID: ids.diskGuid, ESP_GUID: ids.espGuid, ROOT_GUID: ids.rootGuid,
    };
  };
}

export const imageSteps: Record<string, ImageStep> = {
  prepare: {
    script: 'prepare.sh', needs: [],
    inputs: (c) => [
      rootfsTar(c), onDisk('kernel/vmlinuz', join(c.kernel.dir, KERNEL_FILES.image)), file('cfg/init', c.initScript, 0o755),
      ...(archInfo(c.arch).directBootFormat === 'vmlinux' ? [onDisk('kernel/vmlinux', join(c.kernel.dir, KERNEL_FILES.vmlinux))] : []),
    ],
    env: (c) => ({ KREL: c.kernel.meta.release }),
  },
  iso: { script: 'iso.sh', needs: ['prepare'], inputs: diskInputs('iso'), env: idEnv('iso') },
  raw: { script: 'raw.sh', needs: ['prepare'], inputs: diskInputs('raw'), env: idEnv('raw') },
  qcow2: { script: 'qcow2.sh', needs: ['raw'], inputs: (c) => [onDisk('image.raw', out(c, 'raw', 'image.raw'))], env: () => ({}) },
};

export interface BootFormat {
  kind: string;
  arches: Arch[];
  fileName(name: string, version: string, arch: Arch): string;
  /** The step and the file in its /out that is the artifact. */
  from: [step: string, output: string];
  extra(c: StepContext): Promise<Record<string, unknown>>;
}

const ALL = Object.keys(ARCH_TABLE) as Arch[];

export const bootFormats: Record<string, BootFormat> = {
  kernel: {
    kind: 'kernel', arches: ALL, from: ['prepare', 'kernel'],
    fileName: (n, v, a) => `${n}-${v}-${a}-kernel`,
    extra: async (c) => ({ format: archInfo(c.arch).kernelImage.describe }),
  },
  vmlinux: {
    kind: 'kernel-elf', arches: ALL.filter((a) => archInfo(a).directBootFormat === 'vmlinux'), from: ['prepare', 'vmlinux'],
    fileName: (n, v, a) => `${n}-${v}-${a}-vmlinux`,
    extra: async () => ({ format: 'ELF vmlinux (PVH entry) from the kernel build, for Cloud Hypervisor direct boot' }),
  },
  initramfs: {
    kind: 'initramfs', arches: ALL, from: ['prepare', 'initramfs.cpio.gz'],
    fileName: (n, v, a) => `${n}-${v}-${a}-initramfs.cpio.gz`,
    extra: async () => ({ format: 'cpio newc, gzip -n', init: 'busybox (/init finds the root by buckos.root=<image id>, else runs from the initramfs)',
      modules: 'none: the drivers that find the root are built into the kernel' }),
  },
  iso: {
    kind: 'iso', arches: ALL, from: ['iso', 'image.iso'],
    fileName: (n, v, a) => `${n}-${v}-${a}.iso`,
    extra: async (c) => ({ format: 'iso9660 hybrid (Rock Ridge, El Torito, GPT with appended ESP)', root: 'iso9660 (read-only)',
      bootModes: [...(archInfo(c.arch).biosGrubPlatform ? [`bios (El Torito, GRUB ${archInfo(c.arch).biosGrubPlatform})`, 'bios (MBR, hybrid disk)'] : []), 'uefi (El Torito EFI / ESP)'],
      ...ids(c, 'iso') }),
  },
  raw: {
    kind: 'raw', arches: ALL, from: ['raw', 'image.raw'],
    fileName: (n, v, a) => `${n}-${v}-${a}.raw`,
    extra: async (c) => {
      const layout = JSON.parse(await readFile(out(c, 'raw', 'layout.json'), 'utf8')) as { espMiB: number; rootMiB: number; diskMiB: number };
      const i = imageIds(c.name, c.version, c.arch, 'raw');
      return { format: 'raw GPT disk (sparse)', bootModes: ['uefi'], partitionTable: 'gpt', diskGuid: i.diskGuid,
        partitions: [
          { number: 1, name: 'EFI system', filesystem: 'vfat', sizeMiB: layout.espMiB, uuid: i.espGuid, fatVolumeId: i.fatId },
          { number: 2, name: 'buckos-root', filesystem: 'ext4', sizeMiB: layout.rootMiB, uuid: i.rootGuid, fsUuid: i.fsUuid },
        ],
        diskMiB: layout.diskMiB, dataBytes: await nonZeroBytes(out(c, 'raw', 'image.raw')), ...ids(c, 'raw') };
    },
  },
  qcow2: {
    kind: 'qcow2', arches: ALL, from: ['qcow2', 'image.qcow2'],
    fileName: (n, v, a) => `${n}-${v}-${a}.qcow2`,
    extra: async (c) => ({ format: 'qcow2 (zlib-compressed clusters)', convertedFrom: bootFormats.raw!.fileName(c.name, c.version, c.arch),
      virtualSize: (await stat(out(c, 'raw', 'image.raw'))).size, bootModes: ['uefi'], ...ids(c, 'raw') }),
  },
};

function ids(c: StepContext, format: string): Record<string, unknown> {
  const i = imageIds(c.name, c.version, c.arch, format);
  return { imageId: i.imageId, kernelCmdline: `buckos.root=${i.imageId}`, bootConfig: 'GRUB: default entry boots to a shell; the test entry (osforge.test=1) is chosen when SMBIOS OEM string osforge.test=1 is present' };
}

/** Bytes in 4 KiB blocks that are not all zero: what a sparse copy actually stores. Streams the file. */
export async function nonZeroBytes(path: string, block = 4096): Promise<number> {
  let n = 0;
  let carry: Buffer = Buffer.alloc(0);
  const count = (buf: Buffer) => { if (buf.some((b) => b !== 0)) n += buf.length; };
  for await (const chunk of createReadStream(path, { highWaterMark: block * 64 }) as AsyncIterable<Buffer>) {
    let data = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    const whole = data.length - (data.length % block);
    for (let off = 0; off < whole; off += block) count(data.subarray(off, off + block));
    carry = data.subarray(whole);
  }
  if (carry.length) count(carry);
  return n;
}
