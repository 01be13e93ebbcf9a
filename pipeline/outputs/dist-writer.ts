// Writes dist/ atomically: everything goes into a temp dir in .osforge-tmp/
// beside dist/ (same filesystem, gitignored, emptied by the next run) which
// replaces dist/ only when complete and fsynced, so a failed or killed run
// leaves the old dist/ and a power loss never leaves a half-written one.
import { existsSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { chmod, mkdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { sha256, sha256File } from '../util/hash.ts';
import { fsyncParent, fsyncTree, mapDiskFull } from '../util/durable.ts';
import type { Manifest, ManifestArtifact } from '../model/manifest.ts';

/**
 * An artifact to publish: in memory (`data`) or, for large images, a file on
 * disk (`file`) that is copied sparsely so raw disk images keep their holes.
 */
export type PendingArtifact = {
  path: string;
  arch: ManifestArtifact['arch'];
  kind: string;
  extra?: Record<string, unknown>;
  /** File mode in dist/ (default 0644); scripts are 0755. */ mode?: number;
} & (
  | { data: Buffer; file?: undefined; sha256?: undefined }
  | { file: string; data?: undefined; /** Known when the file was hashed as it was written (a stage store entry). */ sha256?: string }
);

export async function describe(a: PendingArtifact): Promise<ManifestArtifact> {
  const size = a.data ? a.data.length : (await stat(a.file!)).size;
  const digest = a.data ? sha256(a.data) : (a.sha256 ?? (await sha256File(a.file!)));
  return { path: a.path, arch: a.arch, kind: a.kind, size, sha256: digest, ...(a.extra ?? {}) };
}

const execFileP = promisify(execFile);

/** SHA256SUMS lines in `sha256sum -c` format, sorted by file name (byte order). */
export function sha256sums(files: { path: string; sha256: string }[]): string {
  return [...files]
    .sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)))
    .map((f) => `${f.sha256}  ${f.path}\n`)
    .join('');
}

export function manifestJson(m: Manifest): string {
  return JSON.stringify(m, null, 2) + '\n';
}

/** Where a run keeps dist/'s temp dirs: beside dist/, so the final rename stays on one filesystem. */
export function distTmpRoot(distDir: string): string {
  return join(dirname(distDir), '.osforge-tmp');
}

export async function writeDist(distDir: string, artifacts: PendingArtifact[], manifest: Manifest): Promise<void> {
  artifacts = artifacts.map((a) => {
    const known = manifest.artifacts.find((m) => m.path === a.path);
    return a.file && known ? { ...a, sha256: known.sha256 } : a;
  });
  const needed = (await Promise.all(artifacts.map(async (a) => (a.data ? a.data.length : (await stat(a.file!)).size)))).reduce((n, x) => n + x, 0);
  return mapDiskFull(distDir, needed, () => writeDistIn(distDir, artifacts, manifest));
}

/**
 * Builds a new dist/ in a temp dir (`fill` writes into it), fsyncs it and
 * swaps it in by rename; a failure anywhere leaves the old dist/ untouched.
 */
export async function replaceDist(distDir: string, fill: (tmp: string) => Promise<void>): Promise<void> {
  const tmpRoot = distTmpRoot(distDir);
  await mkdir(tmpRoot, { recursive: true });
  const tmp = join(tmpRoot, `${basename(distDir)}.tmp-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp);
  try {
    await fill(tmp);
    fsyncTree(tmp);
    const old = join(tmpRoot, `${basename(distDir)}.old-${process.pid}`);
    if (existsSync(distDir)) await rename(distDir, old);
    await rename(tmp, distDir);
    fsyncParent(distDir);
    await rm(old, { recursive: true, force: true });
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  } finally {
    // Leave no empty .osforge-tmp/ behind (it still holds the run's locks while osforge dist runs).
    await rmdir(tmpRoot).catch(() => undefined);
  }
}

function writeDistIn(distDir: string, artifacts: PendingArtifact[], manifest: Manifest): Promise<void> {
  return replaceDist(distDir, async (tmp) => {
    const manifestText = manifestJson(manifest);
    const sums: { path: string; sha256: string }[] = [];
    for (const a of artifacts) {
      const { sha256: digest } = await describe(a);
      if (a.data) await writeFile(join(tmp, a.path), a.data);
      else await execFileP('cp', ['--sparse=always', a.file!, join(tmp, a.path)]);
      await chmod(join(tmp, a.path), a.mode ?? 0o644);
      await writeFile(join(tmp, `${a.path}.sha256`), `${digest}  ${a.path}\n`);
      sums.push({ path: a.path, sha256: digest });
    }
    await writeFile(join(tmp, 'manifest.json'), manifestText);
    sums.push({ path: 'manifest.json', sha256: sha256(manifestText) });
    await writeFile(join(tmp, 'SHA256SUMS'), sha256sums(sums));
  });
}
