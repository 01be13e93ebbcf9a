import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeLitter } from '../../../pipeline/cache/litter.ts';

const t = suite('litter of dead runs');
let root: string;
t.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'osforge-litter-'));
});
t.after(async () => {
  await rm(root, { recursive: true, force: true });
});

t('removes temp dirs of dead runs and keeps entries, locks, dist/ and the temp dirs of live processes', async () => {
  const state = join(root, 'state');
  // Dead pids near the top of the pid range (low numbers may be kernel threads); a live one (our parent) is kept.
  const [d1, d2, d3, d4, d5, d6] = [4194301, 4194302, 4194303, 4194299, 4194298, 4194297];
  const live = [join(state, 'tmp', `osforge-base-p${process.ppid}-abc`, 'layer.tar'), join(state, 'stages', `k.tmp-${process.ppid}-zz`, 'output.tar.gz')];
  const keep = [
    ...live,
    join(state, 'stages', 'abc', 'meta.json'),
    join(root, 'dist', 'SHA256SUMS'),
    join(root, '.osforge-tmp', 'dist.lock'),
    join(root, 'tools-cache', 'toolchain', 'index.json'),
    join(state, 'sources', 'm', 'musl.tar.gz'),
  ];
  const litter = [
    join(state, 'tmp', 'osforge-base-x', 'layer.tar'),
    join(state, 'tmp', `osforge-stage2-p${d1}-q`, 'out.tar'),
    join(state, 'stages', `abc.tmp-${d2}-xy`, 'output.tar.gz'),
    join(state, 'sources', 'm', `musl.tar.gz.tmp-${d3}`),
    join(state, 'stages', `k1.tmp-${d4}-r`, 'out', 'image.raw'),
    join(root, '.osforge-tmp', `dist.tmp-${d5}`, 'a.iso'),
    join(root, `.dist.tmp-${d6}`, 'big.raw'),
    join(root, 'tools-cache', 'toolchain.tmp-4194296', 'index.json'),
  ];
  for (const f of [...keep, ...litter]) {
    await mkdir(join(f, '..'), { recursive: true });
    await writeFile(f, 'x');
  }
  const removed = removeLitter({
    stateDir: state,
    caches: [join(state, 'stages'), join(state, 'sources')],
    toolsCache: join(root, 'tools-cache'),
    distDir: join(root, 'dist'),
    distTmpRoot: join(root, '.osforge-tmp'),
  });
  for (const f of keep) assert.ok(existsSync(f), `kept ${f}`);
  for (const f of litter) assert.not.ok(existsSync(f), `removed ${f}`);
  assert.is(removed.length, litter.length);
});

t.run();
