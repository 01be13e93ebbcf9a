// Every stage's cache key, computed from the plan alone (no I/O, no Docker):
// a sha256 over NUL-separated, *named* inputs (coolports' pkghash over the
// full dependency graph). Names let `osforge explain` say which input changed.
import { sha256 } from '../util/hash.ts';
import { node, sourcePin, type Inputs, type StageNode } from '../model/stage-key.ts';

export { node, sourcePin, type Inputs, type StageNode };
import type { Arch, Plan } from '../plan/types.ts';
import { baseInputHash, includeFor } from '../steps/base.ts';
import { HELLO_C, STAGE1_SCRIPT } from '../steps/stage1-program.ts';
import { kernelKey } from '../steps/kernel.ts';
import { GRUB_SOURCE, KERNEL_SOURCE } from '../model/step-outputs.ts';
import { fragmentsFor, type Fragment } from '../steps/kernel-config.ts';
import { APPLY_PATCHES_SCRIPT } from '../plan/patches.ts';
import { grubKey, type GrubInputs } from '../steps/grub.ts';
import { OsforgeError } from '../errors.ts';

/** `packages` is keyed by instance id (PackageRecipe.id). */
export interface ArchNodes {
  stage1: StageNode;
  packages: Map<string, StageNode>;
  stage3: StageNode;
  kernel: StageNode;
  grub: StageNode;
}

export interface StageGraph {
  base: StageNode;
  buildenv: StageNode;
  tools: StageNode;
  builder: StageNode;
  /** The kernel build image (images/kernel/kernel.json). */
  kernelBuild: StageNode;
  arches: Map<Arch, ArchNodes>;
  dist: StageNode;
  /** All nodes in build order. */
  nodes: StageNode[];
}

export interface GraphOptions {
  buck2Sha256: string | null;
  sourceDateEpoch: number;
  formats: string[];
  /** Hash of osforge's own code that shapes dist/ (so a changed writer is not a no-op). */
  pipelineHash: string;
  /** false under BUCKOS_VERIFY_SIGNATURES=0: the manifest records it, so it is part of the dist key. */
  verifySignatures?: boolean;
}

function fileInputs(prefix: string, files: Record<string, Buffer>): Inputs {
  return Object.entries(files)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([p, c]) => [`${prefix}${p}`, sha256(c)]);
}

export function stageGraph(plan: Plan, opts: GraphOptions): StageGraph {
  // The base and buildenv keys are over their one image input hash (manifest.json records it, and the tools and
  // builder keys are built on the buildenv's); their named inputs sit beside it, for explain only.
  const base = beside(node('base/amd64', [['rootfs-input', baseInputHash(plan.base, 'amd64')]]), baseNamedInputs(plan.base, 'amd64'));
  const buildenv = beside(node('buildenv/amd64', [['rootfs-input', baseInputHash(plan.buildenv, 'amd64')]]), baseNamedInputs(plan.buildenv, 'amd64'));
  const musl = plan.sources[plan.toolchainSource]!;
  const tools = node('tools', [['buildenv', buildenv.key], [`source:${musl.name}`, sourcePin(musl)], ...fileInputs('file:', plan.imageFiles.tools)]);
  const builder = node('builder', [
    ['buildenv', buildenv.key],
    ['tools', tools.key],
    ['buck2', opts.buck2Sha256 ?? 'none'],
    ...fileInputs('file:', plan.imageFiles.builder),
  ]);
  const kb = kernelInputs(plan);
  // Named beside the one hash, so explain says which package pin or setting changed (the image's own key stays baseInputHash).
  const kernelBuild = node('kernel-build/amd64', [['rootfs-input', kb.imageKey], ...baseNamedInputs(plan.kernelBuild!, 'amd64')]);
  const nodes: StageNode[] = [base, buildenv, tools, builder, kernelBuild];
  const arches = new Map<Arch, ArchNodes>();
  for (const arch of plan.arches) {
    // The first input is the kernel's store entry key (kernelKey); the rest name what it is made of, so explain can say which fragment changed.
    const kernel = node(`kernel/${arch}`, [
      ['kernel', kernelKey({ ...kb, arch })],
      [`source:${KERNEL_SOURCE}`, `${kb.source.file}:${kb.source.sha256}`],
      ...fragmentsFor(kb.fragments, arch).map((f): [string, string] => [`fragment:${f.path}`, sha256(f.text)]),
      ['build-image', kb.imageKey],
      ['source-date-epoch', String(kb.sourceDateEpoch)],
    ]);
    nodes.push(kernel);
    // As the kernel: the entry key (grubKey) first, then what it is made of.
    const gi = grubInputs(plan, arch);
    const grub = node(`grub/${arch}`, [
      ['grub', grubKey(gi)],
      [`source:${GRUB_SOURCE}`, `${gi.source.file}:${gi.source.sha256}`],
      ['script:images/grub/build.sh', sha256(gi.script)],
      ['build-image', gi.imageKey],
      ['source-date-epoch', String(gi.sourceDateEpoch)],
    ]);
    nodes.push(grub);
    const stage1 = node(`stage1/${arch}`, [
      ['arch', arch],
      ['builder', builder.key],
      ['program', sha256(HELLO_C)],
      ['script', sha256(STAGE1_SCRIPT)],
      ['musl', musl.version],
    ]);
    nodes.push(stage1);
    const packages = new Map<string, StageNode>();
    for (const recipe of plan.packages) {
      const inputs: Inputs = [
        ['arch', arch],
        ['version', recipe.version],
        ['builder', builder.key],
        ['distro-version', plan.version],
        ...fileInputs('file:', recipe.files),
        ...recipe.sources.map((s): [string, string] => [`source:${s}`, sourcePin(plan.sources[s]!)]),
        ...recipe.deps.map((d): [string, string] => [`dep:${d}`, packages.get(d)!.key]),
        // Only for a slotted instance, so an unslotted recipe keeps its key.
        ...(recipe.slot !== '0' ? [['slot', recipe.slot] as [string, string]] : []),
        // Only for recipes with flags, so a recipe without any keeps its key.
        ...(recipe.use ? [['use', recipe.use.enabled.join(' ') || '(none)'] as [string, string]] : []),
        // Each patch by name and content, in order; the applying script only where there are patches.
        ...recipe.patches.map((p, i): [string, string] => [`patch:${i}:${p.name}`, sha256(p.data)]),
        ...(recipe.patches.length ? [['patch-script', sha256(APPLY_PATCHES_SCRIPT)] as [string, string]] : []),
      ];
      const n = node(`stage2/${arch}/${recipe.id}`, inputs);
      packages.set(recipe.id, n);
      nodes.push(n);
    }
    const stage3 = node(`stage3/${arch}`, [['stage1', stage1.key], ...[...packages].map(([name, n]): [string, string] => [`package:${name}`, n.key])]);
    nodes.push(stage3);
    arches.set(arch, { stage1, packages, stage3, kernel, grub });
  }
  const dist = node('dist', [
    // Not the commit: a commit that touches no build input changes only what dist/ records (outputs/dist-identity.ts).
    ['name', plan.name],
    ['version', plan.version],
    ['source-date-epoch', String(opts.sourceDateEpoch)],
    ['formats', opts.formats.join(',')],
    ['pipeline', opts.pipelineHash],
    ['tools', tools.key],
    ['builder', builder.key],
    ...[...arches].map(([arch, a]): [string, string] => [`stage3:${arch}`, a.stage3.key]),
    ...[...arches].map(([arch, a]): [string, string] => [`kernel:${arch}`, a.kernel.key]),
    ...[...arches].map(([arch, a]): [string, string] => [`grub:${arch}`, a.grub.key]),
    ...Object.values(plan.sources).map((s): [string, string] => [`source:${s.name}`, sourcePin(s)]),
    ...(opts.verifySignatures === false ? [['signatures', 'disabled'] as [string, string]] : []),
    // Which images dist/ holds; only named when profiles are in play, so the default dist key stays put.
    ...(plan.imageSets.some((s) => s.profile !== null)
      ? [['image-sets', plan.imageSets.map((s) => `${s.profile ?? '(default)'}=${s.packages.join(',')}`).join(' ')] as [string, string]]
      : []),
  ]);
  nodes.push(dist);
  return { base, buildenv, tools, builder, kernelBuild, arches, dist, nodes };
}

/**
 * `n` with `named` inputs recorded beside its own, its key unchanged: the
 * journal keeps them and explain names the one that changed, while the key
 * stays what the stage's output (and what records it) was made under.
 */
function beside(n: StageNode, named: Inputs): StageNode {
  return { ...n, inputs: [...n.inputs, ...named] };
}

/** A Debian root's inputs by name (baseInputHash hashes the same facts into one value). */
function baseNamedInputs(spec: Plan['base'], arch: Arch): Inputs {
  return [['suite', spec.suite], ['variant', spec.variant], ...includeFor(spec, arch).map((p): [string, string] => [`include:${p.split('=')[0]}`, p])];
}

/** What every arch's kernel key shares: the source pin, the fragments, the build image and the (plan's fixed) epoch. */
export function kernelInputs(plan: Plan) {
  const source = plan.sources[KERNEL_SOURCE];
  if (!plan.kernelBuild || !source) {
    throw new OsforgeError(
      'CONFIG_INVALID',
      `images/: the kernel is built from source and needs ${plan.kernelBuild ? '' : 'images/kernel/kernel.json (the kernel build image)'}${!plan.kernelBuild && !source ? ' and ' : ''}${source ? '' : `a "${KERNEL_SOURCE}" entry in images/sources.json`}`,
      {
        hint: 'restore them from git (git checkout -- images/kernel images/sources.json)',
      },
    );
  }
  const fragments: Fragment[] = Object.entries(plan.imageFiles.kernelConfig).map(([path, data]) => ({ path, text: data.toString('utf8') }));
  const imageKey = baseInputHash(plan.kernelBuild, 'amd64');
  return {
    source: { file: source.file, sha256: source.sha256 },
    fragments,
    imageKey,
    image: { key: imageKey, arch: 'amd64' as Arch },
    sourceDateEpoch: plan.base.sourceDateEpoch,
  };
}

/** What the GRUB stage of `arch` is built from: the pin, images/grub/build.sh, the kernel build image (it builds GRUB too) and the epoch. */
export function grubInputs(plan: Plan, arch: Arch): GrubInputs {
  const source = plan.sources[GRUB_SOURCE];
  const script = plan.imageFiles.grub['build.sh'];
  if (!source || !script || !plan.kernelBuild) {
    throw new OsforgeError(
      'CONFIG_INVALID',
      `images/: GRUB is built from source and needs ${[
        source ? '' : `a "${GRUB_SOURCE}" entry in images/sources.json`,
        script ? '' : 'images/grub/build.sh',
        plan.kernelBuild ? '' : 'images/kernel/kernel.json (the build image)',
      ]
        .filter(Boolean)
        .join(', ')}`,
      { hint: 'restore them from git (git checkout -- images/grub images/sources.json images/kernel)' },
    );
  }
  return {
    arch,
    source: { file: source.file, sha256: source.sha256, version: source.version },
    script,
    imageKey: baseInputHash(plan.kernelBuild, 'amd64'),
    sourceDateEpoch: plan.base.sourceDateEpoch,
  };
}
