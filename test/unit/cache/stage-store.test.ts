import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StageStore, readOutput } from '../../../pipeline/cache/stage-store.ts';

test('put then get returns the entry; corrupt output is evicted with a message', async () => {
  const root = await mkdtemp(join(tmpdir(), 'osforge-ss-'));
  const messages: string[] = [];
  const store = new StageStore(root, (m) => messages.push(m));
  await store.put({ key: 'k', kind: 'package' }, Buffer.from('data'));
  assert.is((await readOutput((await store.get('k'))!)).toString(), 'data');
  await writeFile(join(root, 'k', 'output.tar.gz'), 'garbage');
  assert.is(await store.get('k'), null);
  assert.match(messages.join('\n'), /corrupt .*evicting/);
  assert.equal(await readdir(root), []);
  await rm(root, { recursive: true });
});

test('getOrBuild builds once for concurrent callers and hits afterwards', async () => {
  const root = await mkdtemp(join(tmpdir(), 'osforge-ss-'));
  const store = new StageStore(root);
  let builds = 0;
  const build = async () => {
    builds++;
    return store.put({ key: 'x', kind: 't' }, Buffer.from('out'));
  };
  const [a, b] = await Promise.all([store.getOrBuild('x', build), store.getOrBuild('x', build)]);
  assert.is(builds, 1);
  assert.is(a.hit, false);
  assert.is((await readOutput(b)).toString(), 'out');
  assert.is((await store.getOrBuild('x', build)).hit, true);
  assert.is(builds, 1);
  await rm(root, { recursive: true });
});

test.run();
