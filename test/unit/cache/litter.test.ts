import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeLitter } from '../../../pipeline/cache/litter.ts';

const t = suite('litter of dead runs');
let root: string;
t.before(async () => { root = await mkdtemp(join(tmpdir(), 'osforge-litter-')); });
t.after(async () => { await rm(root, { recursive: true, force: true }); });

t('removes temp dirs of dead runs and keeps entries, locks and dist/', async () => {
  const state = join(root, 'state');
  const keep = [join(state, 'stages', 'abc', 'meta.json'), join(root, 'dist', 'SHA256SUMS'), join(root, '.osforge-tmp', 'dist.lock'), join(root, 'tools-cache', 'toolchain', 'index.json'), join(state, 'sources', 'm', 'musl.tar.gz')];
  const litter = [join(state, 'tmp', 'osforge-base-x', 'layer.tar'), join(state, 'stages', 'abc.tmp-123-xy', 'output.tar.gz'), join(state, 'sources', 'm', 'musl.tar.gz.tmp-77'),
    join(state, 'images', 'amd64', 'k1.tmp-55', 'done'), join(root, '.osforge-tmp', 'dist.tmp-9', 'a.iso'), join(root, '.dist.tmp-4242', 'big.raw'), join(root, 'tools-cache', 'toolchain.tmp-8', 'index.json')];
  for (const f of [...keep, ...litter]) { await mkdir(join(f, '..'), { recursive: true }); await writeFile(f, 'x'); }
  const removed = removeLitter({
    stateDir: state, caches: [join(state, 'stages'), join(state, 'sources'), join(state, 'images')],
    toolsCache: join(root, 'tools-cache'), distDir: join(root, 'dist'), distTmpRoot: join(root, '.osforge-tmp'),
  });
  for (const f of keep) assert.ok(existsSync(f), `kept ${f}`);
  for (const f of litter) assert.not.ok(existsSync(f), `removed ${f}`);
  assert.is(removed.length, litter.length);
});

t.run();
