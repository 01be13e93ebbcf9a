import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm, readdir, utimes, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StageStore } from '../../../pipeline/cache/stage-store.ts';
import { parseSize } from '../../../pipeline/commands/cache.ts';

test('gc evicts least recently used entries down to the bound, and dead temp dirs', async () => {
  const root = await mkdtemp(join(tmpdir(), 'osforge-gc-'));
  const store = new StageStore(root);
  for (const [i, key] of ['old', 'mid', 'new'].entries()) {
    await store.put({ key, kind: 't' }, Buffer.alloc(1000, i));
    const t = new Date(Date.UTC(2020, 0, 1 + i));
    await utimes(join(root, key, 'meta.json'), t, t);
  }
  await store.get('old'); // a hit refreshes "old", so "mid" is now the least recently used
  await mkdir(join(root, 'x.tmp-999999999-abc'));
  const r = await store.gc(2500);
  assert.equal(r.removed.sort(), ['mid', 'x.tmp-999999999-abc']);
  assert.equal((await readdir(root)).sort(), ['new', 'old']);
  await rm(root, { recursive: true });
});

test('parseSize understands suffixes and rejects junk', () => {
  assert.is(parseSize('2G'), 2 * 1024 ** 3);
  assert.is(parseSize('500MiB'), 500 * 1024 ** 2);
  assert.is(parseSize('123'), 123);
  assert.throws(() => parseSize('lots'), /not a size/);
});

test.run();
