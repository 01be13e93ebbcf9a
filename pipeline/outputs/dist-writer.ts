// Writes dist/ atomically: everything goes into a sibling temp dir which
// replaces dist/ only when complete, so a failed run leaves the old dist/.
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { sha256 } from '../util/hash.ts';
import type { Manifest, ManifestArtifact } from './manifest-types.ts';

export interface PendingArtifact { path: string; arch: ManifestArtifact['arch']; kind: string; data: Buffer }

export function describe(a: PendingArtifact): ManifestArtifact {
  return { path: a.path, arch: a.arch, kind: a.kind, size: a.data.length, sha256: sha256(a.data) };
}

/** SHA256SUMS lines in `sha256sum -c` format, sorted by file name (byte order). */
export function sha256sums(files: { path: string; sha256: string }[]): string {
  return [...files].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path))).map((f) => `${f.sha256}  ${f.path}\n`).join('');
}

export function manifestJson(m: Manifest): string {
  return JSON.stringify(m, null, 2) + '\n';
}

export async function writeDist(distDir: string, artifacts: PendingArtifact[], manifest: Manifest): Promise<void> {
  const parent = dirname(distDir);
  await mkdir(parent, { recursive: true });
  const tmp = join(parent, `.${basename(distDir)}.tmp-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp);
  try {
    const manifestText = manifestJson(manifest);
    const sums: { path: string; sha256: string }[] = [];
    for (const a of artifacts) {
      const digest = sha256(a.data);
      await writeFile(join(tmp, a.path), a.data);
      await writeFile(join(tmp, `${a.path}.sha256`), `${digest}  ${a.path}\n`);
      sums.push({ path: a.path, sha256: digest });
    }
    await writeFile(join(tmp, 'manifest.json'), manifestText);
    sums.push({ path: 'manifest.json', sha256: sha256(manifestText) });
    await writeFile(join(tmp, 'SHA256SUMS'), sha256sums(sums));
    const old = join(parent, `.${basename(distDir)}.old-${process.pid}`);
    if (existsSync(distDir)) await rename(distDir, old);
    await rename(tmp, distDir);
    await rm(old, { recursive: true, force: true });
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}
