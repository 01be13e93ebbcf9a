// buildBootArtifacts against the real Docker engine with the rootfs from the
// current dist/ (skipped when there is none): every artifact is produced, the
// raw image is sparse, and two builds from empty image caches are bit-for-bit
// identical (amd64 only, to keep the suite short).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../../../../pipeline/engine/docker.ts';
import { paths } from '../../../../pipeline/paths.ts';
import { buildBootArtifacts } from '../../../../pipeline/outputs/images/index.ts';
import { describe } from '../../../../pipeline/outputs/dist-writer.ts';
import type { Manifest } from '../../../../pipeline/outputs/manifest-types.ts';
import { gunzip, readEntries } from '../../../../pipeline/util/tar.ts';

const dist = paths.dist();
const manifestPath = join(dist, 'manifest.json');
const engine = new Engine();
const runId = `it-images-${process.pid}`;
const work: string[] = [];

async function build(imagesCacheRoot: string) {
  const m = JSON.parse(await readFile(manifestPath, 'utf8')) as Manifest;
  const rootfs = await readEntries(gunzip(await readFile(join(dist, `${m.name}-${m.version}-amd64-rootfs.tar.gz`))));
  const logDir = join(imagesCacheRoot, 'logs');
  return buildBootArtifacts({
    engine, baseRef: m.images.base.amd64!.ref, arch: 'amd64', name: m.name, version: m.version, sourceDateEpoch: m.sourceDateEpoch,
    rootfs, runId, logDir, sourcesCacheRoot: paths.sources(), imagesCacheRoot, log: () => undefined,
  });
}

test.after(async () => {
  await engine.removeByLabel(`osforge.run=${runId}`).catch(() => 0);
  for (const d of work) await rm(d, { recursive: true, force: true });
});

test('two builds from empty caches give identical boot artifacts; raw is sparse', async () => {
  if (!existsSync(manifestPath)) { console.log('  (skipped: no dist/, run make dist)'); return; }
  const a = await mkdtemp(join(tmpdir(), 'osforge-img-a-'));
  const b = await mkdtemp(join(tmpdir(), 'osforge-img-b-'));
  work.push(a, b);
  const first = await Promise.all((await build(a)).map(describe));
  const second = await Promise.all((await build(b)).map(describe));
  const names = first.map((x) => x.path).sort();
  for (const want of ['buckos-0.1.0-amd64.iso', 'buckos-0.1.0-amd64.raw', 'buckos-0.1.0-amd64.qcow2', 'buckos-0.1.0-amd64-kernel',
    'buckos-0.1.0-amd64-initramfs.cpio.gz', 'run-qemu-amd64-iso.sh', 'run-cloud-hypervisor-amd64.sh'].map((n) => n.replace('0.1.0', first[0]!.path.split('-')[1]!))) {
    assert.ok(names.includes(want), `missing ${want}`);
  }
  assert.equal(second.map((x) => [x.path, x.sha256]), first.map((x) => [x.path, x.sha256]));
  const raw = (await build(a)).find((x) => x.kind === 'raw')!;
  const st = await stat(raw.file!);
  assert.ok(st.blocks * 512 < st.size, 'raw image in the cache is not sparse');
  const rawMeta = first.find((x) => x.kind === 'raw')!;
  assert.is(rawMeta.partitionTable, 'gpt');
  assert.match(String((rawMeta.kernel as { debSha256: string }).debSha256), /^[0-9a-f]{64}$/);
});

test.run();
