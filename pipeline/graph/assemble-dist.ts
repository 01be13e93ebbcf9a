// The dist stage's work: runs the stage kinds' contributions (every artifact
// is already a file in the stage store; kinds/*.ts say which, and what the
// manifest records of them), writes manifest.json and publishes dist/
// atomically. The no-op check lives here too: dist/ is current when it
// was written for this dist key and its files are unchanged.
import type { StageGraph } from './keys.ts';
import { classifyDist, readStamp, refreshedStamp, restat, saveStamp, stampPath, writeStamp, type DistIdentity, type DistState } from '../cache/dist-stamp.ts';
import { refreshRecordedIdentity } from '../outputs/dist-identity.ts';
import type { BuildIdentity } from '../util/git.ts';
import { setArtifactName } from '../plan/image-sets.ts';
import { describe, writeDist } from '../outputs/dist-writer.ts';
import type { Manifest } from '../model/manifest.ts';
import type { Outputs, StageEnv } from './stage.ts';
import type { DistParts, Ship } from './kinds/kind.ts';

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

/**
 * Runs every kind's contribution (in manifest order, as compile.ts sorted
 * them) into one manifest, then writes dist/ and its stamp. The fields that
 * are plan facts (name, version, identity, Buck2, image sets) are set here.
 */
export async function assembleDist(env: StageEnv, graph: StageGraph, contributions: readonly Ship[], deps: Outputs): Promise<Manifest> {
  const { plan, identity } = env;
  const parts: DistParts = { artifacts: [], images: {}, toolchains: {}, packages: [], kernels: [], grub: [] };
  for (const ship of contributions) await ship(env, deps, parts);
  const { artifacts } = parts;
  const { base, buildenv, tools, builder } = parts.images;
  if (!base || !buildenv || !tools || !builder || !parts.sources || !parts.toolsCache) {
    throw new Error("internal: no stage kind shipped manifest.json's images, sources or toolsCache");
  }
  const manifest: Manifest = {
    name: plan.name,
    version: plan.version,
    commit: identity.commit,
    dirty: identity.dirty,
    sourceDateEpoch: identity.sourceDateEpoch,
    artifacts: await Promise.all(artifacts.map(describe)),
    images: { base, buildenv, tools, builder },
    buck2: env.buck2 ? { version: env.buck2.version, sha256: env.buck2.sha256 } : null,
    toolchains: parts.toolchains,
    packages: parts.packages,
    imageSets: plan.imageSets.map((set) => ({ profile: set.profile, name: setArtifactName(plan, set), packages: set.packages })),
    kernels: parts.kernels,
    grub: parts.grub,
    sources: parts.sources,
    toolsCache: parts.toolsCache,
  };
  env.progress(graph.dist.id, `writing dist/: ${artifacts.length} artifacts`);
  await writeDist(env.distDir, artifacts, manifest);
  await writeStamp(stampPath(env.stateRoot.stamps, env.distDir), distIdentity(graph, identity), env.distDir);
  return manifest;
}
