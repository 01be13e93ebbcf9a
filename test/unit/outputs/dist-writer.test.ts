import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm, readFile, readdir, mkdir, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256sums, writeDist } from '../../../pipeline/outputs/dist-writer.ts';
import type { Manifest } from '../../../pipeline/model/manifest.ts';

const manifest = { name: 'buckos', version: '0', artifacts: [] } as unknown as Manifest;

test('SHA256SUMS is sorted bytewise in sha256sum -c format', () => {
  assert.is(
    sha256sums([
      { path: 'b', sha256: '2' },
      { path: 'B', sha256: '1' },
      { path: 'a', sha256: '3' },
    ]),
    '1  B\n3  a\n2  b\n',
  );
});

test('writeDist writes artifacts, .sha256 files and SHA256SUMS that sha256sum accepts', async () => {
  const root = await mkdtemp(join(tmpdir(), 'osforge-dw-'));
  const dist = join(root, 'dist');
  await writeDist(dist, [{ path: 'x.tar.gz', arch: 'amd64', kind: 'rootfs', data: Buffer.from('xx') }], manifest);
  assert.equal((await readdir(dist)).sort(), ['SHA256SUMS', 'manifest.json', 'x.tar.gz', 'x.tar.gz.sha256']);
  execFileSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: dist });
  execFileSync('sha256sum', ['-c', 'x.tar.gz.sha256'], { cwd: dist });
  await rm(root, { recursive: true });
});

test('a failed write leaves the previous dist/ intact and no temp dir behind', async () => {
  const root = await mkdtemp(join(tmpdir(), 'osforge-dw-'));
  const dist = join(root, 'dist');
  await mkdir(dist);
  await writeFile(join(dist, 'old.txt'), 'previous release');
  // A path with a missing subdirectory makes the artifact write fail half-way.
  await writeDist(
    dist,
    [
      { path: 'ok', arch: 'any', kind: 'k', data: Buffer.from('1') },
      { path: 'no/such/dir', arch: 'any', kind: 'k', data: Buffer.from('2') },
    ],
    manifest,
  ).then(
    () => assert.unreachable('should fail'),
    (err: Error) => assert.match(err.message, /ENOENT/),
  );
  assert.is(await readFile(join(dist, 'old.txt'), 'utf8'), 'previous release');
  assert.equal(await readdir(root), ['dist']);
  await rm(root, { recursive: true });
});

test.run();
