// Every stage kind, in build order: the build-wide kinds, then those made
// per arch, then per arch and image set, then dist. compile.ts expands them
// in this order (so it is also the stages' order: the scheduler's tie-break,
// the progress view and --explain). Adding a stage kind is one module under
// graph/kinds/, one line here and its step in steps/.
import type { StageKind } from './kind.ts';
import { base } from './base.ts';
import { buildenv } from './buildenv.ts';
import { kernelBuild } from './kernel-build.ts';
import { sources } from './sources.ts';
import { tools } from './tools.ts';
import { builder } from './builder.ts';
import { imager } from './imager.ts';
import { ossSource } from './oss-source.ts';
import { stage1 } from './stage1.ts';
import { stage2 } from './stage2.ts';
import { stage3 } from './stage3.ts';
import { kernel } from './kernel.ts';
import { grub } from './grub.ts';
import { toolFormat } from './tool-formats.ts';
import { rootfs } from './rootfs.ts';
import { rootfsFormat } from './rootfs-formats.ts';
import { imageStepsKind } from './image-steps.ts';
import { dist } from './dist.ts';

export const KINDS: readonly StageKind[] = [
  base,
  buildenv,
  kernelBuild,
  sources,
  tools,
  builder,
  imager,
  ossSource,
  stage1,
  stage2,
  stage3,
  kernel,
  grub,
  toolFormat,
  rootfs,
  rootfsFormat,
  imageStepsKind,
  dist,
];
