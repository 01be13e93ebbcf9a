// Bootable images for one arch: kernel, initramfs, ISO, raw GPT disk, qcow2
// and their boot scripts. Each imager step (formats.ts) is a stage of its
// own whose /out is a directory entry in the stage store. Kernel and GRUB
// come from their own stages (built from source); every assembly step runs
// in the imager with no network. Nothing here holds an image in memory.
import { rm } from 'node:fs/promises';
import type { Engine } from '../../engine/engine.ts';
import type { Arch } from '../../plan/types.ts';
import { archInfo } from '../../model/arch.ts';
import type { StageStore, StageMeta, StageEntry } from '../../cache/stage-store.ts';
import { openStepLog } from '../../stages/step-log.ts';
import { stateTempDir } from '../../stages/temp.ts';
import type { PendingArtifact } from '../dist-writer.ts';
import { bootFormats, imageSteps, out, type StepContext } from './formats.ts';
import { ensureImager, imagerStepKey, runImagerStep, type Imager } from './imager.ts';
import { keyOf } from '../../util/hash.ts';
import { cloudHypervisorScript, cloudHypervisorScriptName, qemuScript, qemuScriptName, type DiskFormat } from './boot-scripts.ts';
import { imageIds } from './ids.ts';
import type { KernelMeta } from '../../stages/kernel.ts';
import type { GrubMeta } from '../../stages/grub.ts';

/** A kernel stage's output directory (stages/kernel.ts KERNEL_FILES) and what it recorded. */
export interface BuiltKernel { dir: string; meta: KernelMeta }
/** A GRUB stage's output directory (its one file, stages/grub.ts GRUB_TAR) and what it recorded. */
export interface BuiltGrub { dir: string; meta: GrubMeta }

/** The context image steps read: everything on disk. */
export function stepContext(o: { name: string; version: string; arch: Arch; grub: BuiltGrub; kernel: BuiltKernel; rootfs: { path: string; tarSize: number }; imager: Imager; outputs: Map<string, string> }): StepContext {
  return {
    name: o.name, version: o.version, arch: o.arch, kernel: o.kernel, grub: o.grub, rootfs: o.rootfs, initScript: o.imager.files.init!, outputs: o.outputs,
  };
}

export interface ImageStepMeta extends StageMeta { arch: Arch; step: string }

/** Runs one imager step into a stage store directory entry (or takes it from the store). */
export async function imageStep(o: {
  store: StageStore; key: string; engine: Engine; imager: Imager; step: string; ctx: StepContext; runId: string; logDir: string; sourceDateEpoch: number;
}): Promise<StageEntry<ImageStepMeta> & { hit: boolean }> {
  const spec = imageSteps[o.step]!;
  const arch = o.ctx.arch;
  return o.store.getOrBuild<ImageStepMeta>(o.key, () => o.store.putDir<ImageStepMeta>({ key: o.key, kind: 'image-step', arch, step: o.step }, async (outDir) => {
    const work = await stateTempDir(`osforge-image-${o.step}`);
    try {
      await runImagerStep({
        engine: o.engine, imager: o.imager, arch, runId: o.runId, log: openStepLog(o.logDir, `${arch}-images-${o.step}`), script: spec.script,
        env: spec.env(o.ctx), inputs: spec.inputs(o.ctx), sourceDateEpoch: o.sourceDateEpoch, what: o.step, outDir, workDir: work,
      });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }));
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
  for (const [format, f] of Object.entries(bootFormats).filter(([, f]) => f.arches.includes(arch))) {
    const [step, output] = f.from;
    artifacts.push({
      path: f.fileName(name, version, arch), arch, kind: f.kind, file: out(c, step, output),
      extra: { ...(await f.extra(c)), kernel: kernelFacts, ...(['iso', 'raw', 'qcow2'].includes(format) ? { grub: grubFacts } : {}) },
    });
  }
  for (const format of ['iso', 'raw', 'qcow2'] as DiskFormat[]) {
    const image = bootFormats[format]!.fileName(name, version, arch);
    artifacts.push({ path: qemuScriptName(arch, format, profile), arch, kind: 'boot-script', mode: 0o755, data: Buffer.from(qemuScript(arch, format, image)), extra: { boots: image, with: 'qemu' } });
  }
  const ch = {
    kernel: bootFormats[archInfo(arch).directBootFormat]!.fileName(name, version, arch),
    initramfs: bootFormats.initramfs!.fileName(name, version, arch),
    raw: bootFormats.raw!.fileName(name, version, arch),
  };
  artifacts.push({
    path: cloudHypervisorScriptName(arch, profile), arch, kind: 'boot-script', mode: 0o755,
    data: Buffer.from(cloudHypervisorScript(arch, ch, imageIds(name, version, arch, 'raw').imageId)), extra: { boots: ch.raw, with: 'cloud-hypervisor (direct kernel boot)' },
  });
  return artifacts;
}


/**
 * The boot artifacts of one arch from a stored rootfs, outside a dist run
 * (integration tests): the same steps the compiled graph runs, in order.
 */
export async function buildBootArtifacts(o: {
  engine: Engine; store: StageStore; baseRef: string; arch: Arch; name: string; version: string; sourceDateEpoch: number;
  rootfs: { path: string; tarSize: number; sha256: string }; kernel: BuiltKernel; grub: BuiltGrub; runId: string; logDir: string;
}): Promise<PendingArtifact[]> {
  const imager = await ensureImager(o.engine, o.baseRef, o.sourceDateEpoch, () => undefined);
  const ctx = stepContext({ name: o.name, version: o.version, arch: o.arch, grub: o.grub, kernel: o.kernel, rootfs: o.rootfs, imager, outputs: new Map() });
  for (const step of Object.keys(imageSteps)) {
    const key = keyOf(['image-step/standalone', imagerStepKey(imager), step, o.arch, o.name, o.version, String(o.sourceDateEpoch), o.rootfs.sha256, o.grub.meta.key, o.kernel.meta.key]);
    ctx.outputs.set(step, (await imageStep({ store: o.store, key, engine: o.engine, imager, step, ctx, runId: o.runId, logDir: o.logDir, sourceDateEpoch: o.sourceDateEpoch })).path);
  }
  return bootArtifacts(ctx);
}
