// Bootable images for one arch as dist/ artifacts: kernel, initramfs, ISO,
// raw GPT disk, qcow2 and their boot scripts, read from the image steps'
// store entries (steps/image-step.ts runs them). Pure apart from reading
// those files: nothing here starts a container or holds an image in memory.
import type { Arch } from '../../model/arch.ts';
import { archInfo } from '../../model/arch.ts';
import type { PendingArtifact } from '../dist-writer.ts';
import { out, type StepContext } from './steps.ts';
import { bootFormats, diskFormats } from '../formats.ts';
import { cloudHypervisorScript, cloudHypervisorScriptName, qemuScript, qemuScriptName } from './boot-scripts.ts';
import { imageIds } from './ids.ts';
import type { BuiltGrub, BuiltKernel, Imager } from '../../model/step-outputs.ts';

/** The context image steps read: everything on disk. */
export function stepContext(o: {
  name: string;
  version: string;
  arch: Arch;
  grub: BuiltGrub;
  kernel: BuiltKernel;
  rootfs: { path: string; tarSize: number };
  imager: Pick<Imager, 'files'>;
  outputs: Map<string, string>;
}): StepContext {
  return {
    name: o.name,
    version: o.version,
    arch: o.arch,
    kernel: o.kernel,
    grub: o.grub,
    rootfs: o.rootfs,
    initScript: o.imager.files.init!,
    outputs: o.outputs,
  };
}

/** The boot artifacts of one arch, as files in the image steps' entries, plus their boot scripts. */
/** `profile` names the image set's scripts apart (null: the default set). */
export async function bootArtifacts(c: StepContext, profile: string | null = null): Promise<PendingArtifact[]> {
  const { arch, name, version } = c;
  const k = c.kernel.meta;
  const kernelFacts = { version: k.version, release: k.release, source: k.source, fragments: k.fragments, built: 'from source (stages/kernel.ts)' };
  const g = c.grub.meta;
  const grubFacts = { version: g.version, platforms: g.platforms, source: g.source, built: 'from source (stages/grub.ts)' };
  const artifacts: PendingArtifact[] = [];
  for (const f of Object.values(bootFormats).filter((f) => f.arches.includes(arch))) {
    const [step, output] = f.step;
    artifacts.push({
      path: f.fileName(name, version, arch),
      arch,
      kind: f.kind,
      file: out(c, step, output),
      extra: { ...(await f.extra(c)), kernel: kernelFacts, ...(f.disk ? { grub: grubFacts } : {}) },
    });
  }
  for (const format of diskFormats) {
    const image = bootFormats[format]!.fileName(name, version, arch);
    artifacts.push({
      path: qemuScriptName(arch, format, profile),
      arch,
      kind: 'boot-script',
      mode: 0o755,
      data: Buffer.from(qemuScript(arch, format, image)),
      extra: { boots: image, with: 'qemu' },
    });
  }
  const ch = {
    kernel: bootFormats[archInfo(arch).directBootFormat]!.fileName(name, version, arch),
    initramfs: bootFormats.initramfs!.fileName(name, version, arch),
    raw: bootFormats.raw!.fileName(name, version, arch),
  };
  artifacts.push({
    path: cloudHypervisorScriptName(arch, profile),
    arch,
    kind: 'boot-script',
    mode: 0o755,
    data: Buffer.from(cloudHypervisorScript(arch, ch, imageIds(name, version, arch, 'raw').imageId)),
    extra: { boots: ch.raw, with: 'cloud-hypervisor (direct kernel boot)' },
  });
  return artifacts;
}
