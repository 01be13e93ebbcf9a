// Builds the bootable images from an existing dist/ (its rootfs tarballs) into
// a separate directory, the way assembleDist will once buildBootArtifacts is
// wired in: `tsx test/boot/build-images.ts [distDir] [outDir]`.
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DockerEngine } from '../../pipeline/engine/docker.ts';
import { paths } from '../../pipeline/paths.ts';
import { buildBootArtifacts } from '../../pipeline/outputs/images/index.ts';
import { describe, writeDist } from '../../pipeline/outputs/dist-writer.ts';
import type { Manifest } from '../../pipeline/outputs/manifest-types.ts';
import { gunzip, readEntries } from '../../pipeline/util/tar.ts';
import type { Arch } from '../../pipeline/plan/types.ts';

const distDir = resolve(process.argv[2] ?? paths.dist());
const outDir = resolve(process.argv[3] ?? `${distDir}.boot`);
const manifest = JSON.parse(await readFile(join(distDir, 'manifest.json'), 'utf8')) as Manifest;
const baseRef = process.env.OSFORGE_BASE_REF ?? manifest.images.base.amd64!.ref;
const engine = new DockerEngine();
const runId = `boot-images-${Date.now()}`;
const artifacts = [];
const started = Date.now();
for (const arch of ['amd64', 'arm64'] as Arch[]) {
  const rootfs = await readEntries(gunzip(await readFile(join(distDir, `${manifest.name}-${manifest.version}-${arch}-rootfs.tar.gz`))));
  artifacts.push(...await buildBootArtifacts({
    engine, baseRef, arch, name: manifest.name, version: manifest.version, sourceDateEpoch: manifest.sourceDateEpoch, rootfs, runId,
    logDir: join(paths.logs(), runId), sourcesCacheRoot: paths.sources(), log: (l) => console.log(l),
  }));
}
const described = await Promise.all(artifacts.map(describe));
await writeDist(outDir, artifacts, { ...manifest, artifacts: described });
console.log(`${artifacts.length} boot artifacts in ${outDir} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
await engine.removeByLabel(`osforge.run=${runId}`);
