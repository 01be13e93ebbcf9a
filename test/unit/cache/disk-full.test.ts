// A full filesystem (a real 1 MiB tmpfs; needs root, as the suite does) is a
// DISK_FULL error naming the path and the bytes, and leaves every existing
// entry intact.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StageStore, readOutput } from '../../../pipeline/cache/stage-store.ts';

const t = suite('disk full');
let dir: string;
t.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'osforge-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir]);
});
t.after(async () => {
  execFileSync('umount', [dir]);
  await rm(dir, { recursive: true, force: true });
});

t('a stage output that does not fit fails with DISK_FULL, path and bytes; the previous entry stays valid', async () => {
  const store = new StageStore(join(dir, 'stages'));
  const small = Buffer.alloc(64 * 1024, 1);
  await store.put({ key: 'k1', kind: 'test' }, small);
  await store.put({ key: 'k2', kind: 'test' }, Buffer.alloc(4 * 1024 * 1024, 2)).then(
    () => assert.unreachable('must not fit'),
    (err: Error & { code: string }) => {
      assert.is(err.code, 'DISK_FULL');
      assert.match(err.message, new RegExp(`no space left on the filesystem of ${dir}/stages: needs \\d+ bytes, \\d+ bytes free`));
      assert.ok(Number(/needs (\d+) bytes/.exec(err.message)![1]) >= 4 * 1024 * 1024);
    },
  );
  assert.equal(await readOutput((await store.get('k1'))!), small);
  assert.equal((await readdir(join(dir, 'stages'))).sort(), ['k1'], 'no half-written entry or temp dir');
});

t.run();
