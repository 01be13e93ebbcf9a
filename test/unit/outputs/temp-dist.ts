// A small dist/ written by the real writer (two artifacts, manifest.json,
// SHA256SUMS, sidecars), optionally with the files `osforge sign` adds, for
// the identity-refresh and dist-stamp tests.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, writeDist, type PendingArtifact } from '../../../pipeline/outputs/dist-writer.ts';
import type { Manifest } from '../../../pipeline/model/manifest.ts';
import { makeManifest } from '../sign/fixture-manifest.ts';

export const artifacts: PendingArtifact[] = [
  { path: 'buckos-0.2.0-amd64-rootfs.tar.gz', arch: 'amd64', kind: 'rootfs', data: Buffer.from('rootfs bytes') },
  { path: 'oss_source.tgz', arch: 'any', kind: 'oss-source', data: Buffer.from('sources') },
];

/** What `osforge sign` leaves beside the build's files (contents are stand-ins). */
export const signingFiles = [
  'buckos-0.2.0-amd64-rootfs.tar.gz.sig',
  'sbom.spdx.json',
  'sbom.spdx.json.sig',
  'provenance.intoto.jsonl',
  'manifest.json.sig',
  'manifest.json.sigstore.json',
  'SHA256SUMS.sig',
  'SHA256SUMS.sigstore.json',
  'RELEASE_NOTES.md',
  'RELEASE_NOTES.md.sig',
];

export async function manifestFor(commit: string, dirty = false): Promise<Manifest> {
  return { ...makeManifest(commit, await Promise.all(artifacts.map(describe))), dirty };
}

export async function tempDist(commit: string, opts: { signed?: boolean; dirty?: boolean } = {}) {
  const root = await mkdtemp(join(tmpdir(), 'osforge-dist-'));
  const dist = join(root, 'dist');
  await writeDist(dist, artifacts, await manifestFor(commit, opts.dirty));
  if (opts.signed) for (const f of signingFiles) await writeFile(join(dist, f), `stand-in for ${f}\n`);
  return { root, dist, remove: () => rm(root, { recursive: true, force: true }) };
}
