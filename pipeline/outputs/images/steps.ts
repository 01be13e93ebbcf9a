// The imager steps (prepare, iso, raw, qcow2): which script of
// images/imager/scripts each runs, what it needs, its inputs and environment.
// The artifacts cut from their outputs are entries of outputs/formats.ts.
// Every script runs in the imager image with --network=none.
import type { Arch } from '../../model/arch.ts';
import { archInfo } from '../../model/arch.ts';
import { createReadStream } from 'node:fs';
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
  name: string;
  version: string;
  arch: Arch;
  /** The kernel and GRUB stages' output directories and facts. */
  kernel: { dir: string; meta: KernelMeta };
  grub: { dir: string; meta: GrubMeta };
  rootfs: { path: string; tarSize: number };
  initScript: Buffer;
  outputs: Map<string, string>;
}

export interface ImageStep {
  script: string;
  needs: string[];
  inputs(c: StepContext): StreamEntry[];
  env(c: StepContext): Record<string, string>;
}

const file = (path: string, data: Buffer | string, mode = 0o644): StreamEntry => ({
  path,
  type: 'file',
  mode,
  data: Buffer.isBuffer(data) ? data : Buffer.from(data),
});
const onDisk = (path: string, from: string): StreamEntry => ({ path, type: 'file', mode: 0o644, data: { file: from } });
/** The path of a file an earlier step left in its /out. */
export const out = (c: StepContext, step: string, name: string): string => join(c.outputs.get(step)!, name);
const rootfsTar = (c: StepContext): StreamEntry => ({
  path: 'rootfs.tar',
  type: 'file',
  mode: 0o644,
  data: { size: c.rootfs.tarSize, open: () => chain(createReadStream(c.rootfs.path), createGunzip()) },
});

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
      KREL: c.kernel.meta.release,
      IMAGE_ID: ids.imageId,
      BOOT_TAG: ids.bootTag,
      VOLUME_LABEL: ids.volumeLabel,
      FAT_ID: ids.fatId,
      FS_UUID: ids.fsUuid,
      DISK_GUID: ids.diskGuid,
      ESP_GUID: ids.espGuid,
      ROOT_GUID: ids.rootGuid,
    };
  };
}

export const imageSteps: Record<string, ImageStep> = {
  prepare: {
    script: 'prepare.sh',
    needs: [],
    inputs: (c) => [
      rootfsTar(c),
      onDisk('kernel/vmlinuz', join(c.kernel.dir, KERNEL_FILES.image)),
      file('cfg/init', c.initScript, 0o755),
      ...(archInfo(c.arch).directBootFormat === 'vmlinux' ? [onDisk('kernel/vmlinux', join(c.kernel.dir, KERNEL_FILES.vmlinux))] : []),
    ],
    env: (c) => ({ KREL: c.kernel.meta.release }),
  },
  iso: { script: 'iso.sh', needs: ['prepare'], inputs: diskInputs('iso'), env: idEnv('iso') },
  raw: { script: 'raw.sh', needs: ['prepare'], inputs: diskInputs('raw'), env: idEnv('raw') },
  qcow2: { script: 'qcow2.sh', needs: ['raw'], inputs: (c) => [onDisk('image.raw', out(c, 'raw', 'image.raw'))], env: () => ({}) },
};

/** The image identity facts every bootable image's manifest entry carries. */
export function ids(c: StepContext, format: string): Record<string, unknown> {
  const i = imageIds(c.name, c.version, c.arch, format);
  return {
    imageId: i.imageId,
    kernelCmdline: `buckos.root=${i.imageId}`,
    bootConfig: 'GRUB: default entry boots to a shell; the test entry (osforge.test=1) is chosen when SMBIOS OEM string osforge.test=1 is present',
  };
}

/** Bytes in 4 KiB blocks that are not all zero: what a sparse copy actually stores. Streams the file. */
export async function nonZeroBytes(path: string, block = 4096): Promise<number> {
  let n = 0;
  let carry: Buffer = Buffer.alloc(0);
  const count = (buf: Buffer) => {
    if (buf.some((b) => b !== 0)) n += buf.length;
  };
  for await (const chunk of createReadStream(path, { highWaterMark: block * 64 }) as AsyncIterable<Buffer>) {
    const data = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    const whole = data.length - (data.length % block);
    for (let off = 0; off < whole; off += block) count(data.subarray(off, off + block));
    carry = data.subarray(whole);
  }
  if (carry.length) count(carry);
  return n;
}
