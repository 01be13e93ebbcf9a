// One imager step (outputs/images/steps.ts names them) as a stage store
// directory entry: its scripts and inputs go in under /in, its /out is the
// entry. Kernel and GRUB come from their own stages (built from source);
// every step runs in the imager with no network.
import { rm } from 'node:fs/promises';
import type { Engine } from '../engine/engine.ts';
import type { Arch } from '../model/arch.ts';
import type { StageStore, StageMeta, StageEntry } from '../cache/stage-store.ts';
import type { BuiltGrub, BuiltKernel } from '../model/step-outputs.ts';
import type { PendingArtifact } from '../outputs/dist-writer.ts';
import { imageSteps, type StepContext } from '../outputs/images/steps.ts';
import { bootArtifacts, stepContext } from '../outputs/images/index.ts';
import { keyOf } from '../util/hash.ts';
import { openStepLog } from './step-log.ts';
import { stateTempDir } from './temp.ts';
import type { Imager } from '../model/step-outputs.ts';
import { ensureImager, imagerStepKey, runImagerStep } from './imager.ts';

export interface ImageStepMeta extends StageMeta {
  arch: Arch;
  step: string;
}

/** Runs one imager step into a stage store directory entry (or takes it from the store). */
export async function imageStep(o: {
  store: StageStore;
  key: string;
  engine: Engine;
  imager: Imager;
  step: string;
  ctx: StepContext;
  runId: string;
  logDir: string;
  sourceDateEpoch: number;
}): Promise<StageEntry<ImageStepMeta> & { hit: boolean }> {
  const spec = imageSteps[o.step]!;
  const arch = o.ctx.arch;
  return o.store.getOrBuild<ImageStepMeta>(o.key, () =>
    o.store.putDir<ImageStepMeta>({ key: o.key, kind: 'image-step', arch, step: o.step }, async (outDir) => {
      const work = await stateTempDir(`osforge-image-${o.step}`);
      try {
        await runImagerStep({
          engine: o.engine,
          imager: o.imager,
          arch,
          runId: o.runId,
          log: openStepLog(o.logDir, `${arch}-images-${o.step}`),
          script: spec.script,
          env: spec.env(o.ctx),
          inputs: spec.inputs(o.ctx),
          sourceDateEpoch: o.sourceDateEpoch,
          what: o.step,
          outDir,
          workDir: work,
        });
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    }),
  );
}

/**
 * The boot artifacts of one arch from a stored rootfs, outside a dist run
 * (integration tests): the same steps the compiled graph runs, in order.
 */
export async function buildBootArtifacts(o: {
  engine: Engine;
  store: StageStore;
  baseRef: string;
  arch: Arch;
  name: string;
  version: string;
  sourceDateEpoch: number;
  rootfs: { path: string; tarSize: number; sha256: string };
  kernel: BuiltKernel;
  grub: BuiltGrub;
  runId: string;
  logDir: string;
}): Promise<PendingArtifact[]> {
  const imager = await ensureImager(o.engine, o.baseRef, o.sourceDateEpoch, () => undefined);
  const ctx = stepContext({ name: o.name, version: o.version, arch: o.arch, grub: o.grub, kernel: o.kernel, rootfs: o.rootfs, imager, outputs: new Map() });
  for (const step of Object.keys(imageSteps)) {
    const key = keyOf([
      'image-step/standalone',
      imagerStepKey(imager),
      step,
      o.arch,
      o.name,
      o.version,
      String(o.sourceDateEpoch),
      o.rootfs.sha256,
      o.grub.meta.key,
      o.kernel.meta.key,
    ]);
    ctx.outputs.set(
      step,
      (await imageStep({ store: o.store, key, engine: o.engine, imager, step, ctx, runId: o.runId, logDir: o.logDir, sourceDateEpoch: o.sourceDateEpoch }))
        .path,
    );
  }
  return bootArtifacts(ctx);
}
