// The dist stage: collects the finished stages' files (every artifact is
// already a file in the stage store), writes manifest.json and publishes
// dist/ atomically. The no-op check lives here too: dist/ is current when it
// was written for this dist key and its files are unchanged.
import type { StageGraph } from './keys.ts';
import { classifyDist, readStamp, refreshedStamp, restat, saveStamp, stampPath, writeStamp, type DistIdentity, type DistState } from '../cache/dist-stamp.ts';
import { refreshRecordedIdentity } from '../outputs/dist-identity.ts';
import type { BuildIdentity } from '../util/git.ts';
import { outputFormats } from '../outputs/formats.ts';
import { setArtifactName, setIdSuffix } from '../plan/image-sets.ts';
import { imageSteps } from '../outputs/images/steps.ts';
import { bootArtifacts, stepContext } from '../outputs/images/index.ts';
import { GRUB_SOURCE, GRUB_TAR, KERNEL_FILES, KERNEL_SOURCE, type BuiltGrub, type BuiltKernel } from '../model/step-outputs.ts';
import { sha256, sha256File } from '../util/hash.ts';
import { join } from 'node:path';
import { describe, writeDist, type PendingArtifact } from '../outputs/dist-writer.ts';
import type { Manifest, ManifestGrub, ManifestKernel, ManifestPackage } from '../model/manifest.ts';
import type { Outputs, StageEnv } from './stage.ts';
import type { DistRefs } from './values.ts';

/**
 * The warm no-op check: 'current' when dist/ was written for this dist key
 * and commit and is unchanged; 'identity-only' when only the recorded commit
 * differs (a commit that touched no build input).
 */
export async function distState(opts: { graph: StageGraph; identity: BuildIdentity; distDir: string; stateRoot: { stamps: string } }): Promise<DistState> {
  return classifyDist(readStamp(stampPath(opts.stateRoot.stamps, opts.distDir)), distIdentity(opts.graph, opts.identity), opts.distDir);
}

function distIdentity(graph: StageGraph, identity: BuildIdentity): DistIdentity {
  return { key: graph.dist.key, commit: identity.commit, dirty: identity.dirty };
}

/** Rewrites only what records the commit (manifest.json, SHA256SUMS), then the stamp; returns the user's line. */
export async function refreshDistIdentity(opts: {
  graph: StageGraph;
  identity: BuildIdentity;
  distDir: string;
  stateRoot: { stamps: string };
}): Promise<string> {
  const path = stampPath(opts.stateRoot.stamps, opts.distDir);
  const r = await refreshRecordedIdentity(opts.distDir, { commit: opts.identity.commit, dirty: opts.identity.dirty });
  await saveStamp(path, await restat(refreshedStamp(readStamp(path)!, distIdentity(opts.graph, opts.identity), r.rewritten), opts.distDir));
  return r.message;
}

/** The kernel's .config and System.map as dist/ files, and its manifest record. */
async function kernelRecord(plan: StageEnv['plan'], arch: ManifestKernel['arch'], kernel: BuiltKernel, artifacts: PendingArtifact[]): Promise<ManifestKernel> {
  const m = kernel.meta;
  const file = async (suffix: string, name: string, kind: string) => {
    const dist = { path: `${plan.name}-${plan.version}-${arch}-kernel.${suffix}`, sha256: await sha256File(join(kernel.dir, name)) };
    artifacts.push({ ...dist, arch, kind, file: join(kernel.dir, name), extra: { release: m.release } });
    return dist;
  };
  const spec = plan.sources[KERNEL_SOURCE]!;
  // The stage key covers the fragments' text, so the plan's copies are the ones it was built from.
  const fragments = m.fragments.map((path) => ({ path, sha256: sha256(plan.imageFiles.kernelConfig[path]!) }));
  return {
    arch,
    version: m.version,
    release: m.release,
    license: spec.license ?? 'GPL-2.0-only',
    source: { name: KERNEL_SOURCE, file: m.source.file, sha256: m.source.sha256 },
    fragments,
    config: await file('config', KERNEL_FILES.config, 'kernel-config'),
    systemMap: await file('System.map', KERNEL_FILES.systemMap, 'kernel-system-map'),
    key: m.key,
  };
}

async function grubRecord(plan: StageEnv['plan'], arch: ManifestGrub['arch'], grub: BuiltGrub): Promise<ManifestGrub> {
  const m = grub.meta;
  return {
    arch,
    version: m.version,
    license: plan.sources[GRUB_SOURCE]!.license ?? 'GPL-3.0-or-later',
    source: { name: GRUB_SOURCE, file: m.source.file, sha256: m.source.sha256 },
    platforms: m.platforms,
    treeSha256: m.files![GRUB_TAR]!,
    key: m.key,
  };
}

export async function assembleDist(env: StageEnv, graph: StageGraph, refs: DistRefs, deps: Outputs): Promise<Manifest> {
  const { plan, identity } = env;
  const artifacts: PendingArtifact[] = [];
  const packages: ManifestPackage[] = [];
  const toolchains: Manifest['toolchains'] = {};
  const kernels: ManifestKernel[] = [];
  const grubs: ManifestGrub[] = [];
  for (const arch of plan.arches) {
    const a = refs.arches.get(arch)!;
    for (const [format, f] of Object.entries(outputFormats).filter(([, f]) => f.from === 'tools')) {
      const file = deps.get(a.toolFormats.get(format)!);
      artifacts.push({ path: f.fileName(plan.name, plan.version, arch), arch, kind: f.kind, file: file.path, sha256: file.sha256 });
    }
    const kernel = deps.get(a.kernel);
    kernels.push(await kernelRecord(plan, arch, kernel, artifacts));
    const grub = deps.get(a.grub);
    grubs.push(await grubRecord(plan, arch, grub));
    for (const set of plan.imageSets) {
      const setRefs = a.sets.get(setIdSuffix(set))!;
      const name = setArtifactName(plan, set);
      // A profile's artifacts say which profile they are (the SBOM's CONTAINS reads it).
      const tag = (a: PendingArtifact): PendingArtifact => (set.profile ? { ...a, extra: { ...(a.extra ?? {}), profile: set.profile } } : a);
      for (const [format, f] of Object.entries(outputFormats).filter(([, f]) => f.from === 'rootfs')) {
        const file = deps.get(setRefs.formats.get(format)!);
        artifacts.push(tag({ path: f.fileName(name, plan.version, arch), arch, kind: f.kind, file: file.path, sha256: file.sha256 }));
      }
      const ctx = stepContext({
        name,
        version: plan.version,
        arch,
        grub,
        kernel,
        rootfs: deps.get(setRefs.rootfs),
        imager: deps.get(refs.imager),
        outputs: new Map(Object.keys(imageSteps).map((s) => [s, deps.get(setRefs.steps.get(s)!)])),
      });
      artifacts.push(...(await bootArtifacts(ctx, set.profile)).map(tag));
    }
    const s1 = deps.get(a.stage1).meta;
    toolchains[arch] = { triple: s1.triple, libc: 'musl', libcVersion: s1.libcVersion, compiler: s1.compiler, cflags: s1.cflags };
    for (const recipe of plan.packages) {
      const p = deps.get(a.packages.get(recipe.id)!).meta;
      packages.push({
        ...(recipe.id !== recipe.name ? { id: recipe.id } : {}),
        ...(recipe.slot !== '0' ? { slot: recipe.slot } : {}),
        name: p.name,
        version: p.version,
        arch,
        license: recipe.license,
        key: p.key,
        deps: recipe.deps,
        sources: p.sources,
        outputSha256: p.outputSha256!,
        ...(recipe.use ? { use: { iuse: recipe.use.iuse, enabled: recipe.use.enabled } } : {}),
      });
    }
  }
  const oss = deps.get(refs.oss);
  artifacts.push({ path: 'oss_source.tgz', arch: 'any', kind: 'oss-source', file: oss.path, sha256: oss.sha256 });
  const used = [...deps.get(refs.sources).values()];
  const base = deps.get(refs.base);
  const buildenv = deps.get(refs.buildenv);
  const tools = deps.get(refs.tools);
  const builder = deps.get(refs.builder);
  const manifest: Manifest = {
    name: plan.name,
    version: plan.version,
    commit: identity.commit,
    dirty: identity.dirty,
    sourceDateEpoch: identity.sourceDateEpoch,
    artifacts: await Promise.all(artifacts.map(describe)),
    images: {
      base: { amd64: { ref: base.ref, id: base.id, inputHash: base.inputHash } },
      buildenv: { ref: buildenv.ref, id: buildenv.id, inputHash: buildenv.inputHash },
      tools: { ref: tools.ref, id: tools.id, inputHash: tools.key },
      builder: { ref: builder.ref, id: builder.id, inputHash: builder.key },
    },
    buck2: env.buck2 ? { version: env.buck2.version, sha256: env.buck2.sha256 } : null,
    toolchains,
    packages,
    imageSets: plan.imageSets.map((set) => ({ profile: set.profile, name: setArtifactName(plan, set), packages: set.packages })),
    kernels,
    grub: grubs,
    sources: used.map((s) => {
      const spec = plan.sources[s.name]!;
      return {
        name: s.name,
        version: spec.version,
        file: s.file,
        sha256: s.sha256,
        urls: spec.urls,
        license: spec.license,
        ...(s.signature ? { signature: s.signature } : {}),
      };
    }),
    toolsCache: { key: tools.key },
  };
  env.progress(graph.dist.id, `writing dist/: ${artifacts.length} artifacts`);
  await writeDist(env.distDir, artifacts, manifest);
  await writeStamp(stampPath(env.stateRoot.stamps, env.distDir), distIdentity(graph, identity), env.distDir);
  return manifest;
}
