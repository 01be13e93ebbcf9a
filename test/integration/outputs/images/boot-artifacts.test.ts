// The boot image steps against the real Docker engine with a small rootfs
// made here (this test does not boot it; make boot-test does): every
// artifact is produced, the raw image is sparse in the stage store, and two
// builds from empty stores are bit-for-bit identical (amd64 only, to keep
// the suite short).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBootArtifacts } from '../../../../pipeline/steps/image-step.ts';
import { describe } from '../../../../pipeline/outputs/dist-writer.ts';
import { StageStore } from '../../../../pipeline/cache/stage-store.ts';
import { gzip, packEntries, type TarEntry } from '../../../../pipeline/util/tar.ts';
import { sha256 } from '../../../../pipeline/util/hash.ts';
import { base, grubFor } from '../../fixtures.ts';
import { connectEngine } from '../../../../pipeline/engine/connect.ts';

const engine = connectEngine();
const runId = `it-images-${process.pid}`;
const work: string[] = [];
const name = 'buckos';
const version = '0.0.0-test';

const rootfs: TarEntry[] = [
  { path: 'bin/busybox', type: 'file', mode: 0o755, data: Buffer.from('#!/bin/sh\necho not a real busybox\n') },
  { path: 'sbin/init', type: 'symlink', mode: 0o777, linkname: '../bin/busybox' },
  { path: 'etc/os-release', type: 'file', mode: 0o644, data: Buffer.from(`VERSION_ID=${version}\nBUCKOS_ARCH=amd64\n`) },
];

async function build(root: string) {
  const b = await base('amd64');
  const tar = await packEntries(rootfs, 1700000000);
  const path = join(root, 'rootfs.tar.gz');
  await writeFile(path, gzip(tar));
  // Not a bootable kernel: these steps only place it (make boot-test boots the real one).
  const kernelDir = join(root, 'kernel');
  await mkdir(kernelDir, { recursive: true });
  await writeFile(join(kernelDir, 'vmlinuz'), 'not a real kernel\n');
  await writeFile(join(kernelDir, 'vmlinux'), '\x7fELF not a real vmlinux\n');
  const kernel = {
    dir: kernelDir,
    meta: {
      key: 'k'.repeat(64),
      kind: 'kernel',
      arch: 'amd64' as const,
      version: '6.12.0',
      release: '6.12.0-test',
      source: { file: 'linux.tar.xz', sha256: 'a'.repeat(64) },
      fragments: ['base.config'],
    },
  };
  return buildBootArtifacts({
    kernel,
    grub: await grubFor('amd64'),
    engine,
    store: new StageStore(join(root, 'stages')),
    baseRef: b.ref,
    arch: 'amd64',
    name,
    version,
    sourceDateEpoch: 1700000000,
    rootfs: { path, tarSize: tar.length, sha256: sha256(tar) },
    runId,
    logDir: join(root, 'logs'),
  });
}

test.after(async () => {
  await engine.removeByLabel(`osforge.run=${runId}`).catch(() => 0);
  for (const d of work) await rm(d, { recursive: true, force: true });
});

test('two builds from empty caches give identical boot artifacts; raw is sparse', async () => {
  const a = await mkdtemp(join(tmpdir(), 'osforge-img-a-'));
  const b = await mkdtemp(join(tmpdir(), 'osforge-img-b-'));
  work.push(a, b);
  const first = await Promise.all((await build(a)).map(describe));
  const second = await Promise.all((await build(b)).map(describe));
  const names = first.map((x) => x.path).sort();
  for (const want of [
    'buckos-0.1.0-amd64.iso',
    'buckos-0.1.0-amd64.raw',
    'buckos-0.1.0-amd64.qcow2',
    'buckos-0.1.0-amd64-kernel',
    'buckos-0.1.0-amd64-initramfs.cpio.gz',
    'run-qemu-amd64-iso.sh',
    'run-cloud-hypervisor-amd64.sh',
  ].map((n) => n.replace('0.1.0', version))) {
    assert.ok(names.includes(want), `missing ${want}`);
  }
  assert.equal(
    second.map((x) => [x.path, x.sha256]),
    first.map((x) => [x.path, x.sha256]),
  );
  const raw = (await build(a)).find((x) => x.kind === 'raw')!;
  const st = await stat(raw.file!);
  assert.ok(st.blocks * 512 < st.size, 'raw image in the stage store is not sparse');
  const rawMeta = first.find((x) => x.kind === 'raw')!;
  assert.is(rawMeta.partitionTable, 'gpt');
  assert.is((rawMeta.kernel as { release: string }).release, '6.12.0-test');
});

test.run();
