import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm, writeFile, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTools } from '../../../pipeline/steps/tools.ts';
import { StageStore } from '../../../pipeline/cache/stage-store.ts';
import { toolchainDir } from '../../../pipeline/cache/tools-cache.ts';
import { readEntries } from '../../../pipeline/util/tar.ts';
import { sha256 } from '../../../pipeline/util/hash.ts';
import type { Plan } from '../../../pipeline/plan/types.ts';
import { engine, base, plan } from '../fixtures.ts';

// A tiny build-musl.sh with the real one's interface (<arch> <triple> <tarball>):
// it "compiles" by copying the seed source into /opt/osforge/<arch> and says so.
const script = `#!/bin/sh
set -eu
mkdir -p /opt/osforge/$1/bin && cp "$3" /opt/osforge/$1/seed && ln -s ../seed /opt/osforge/$1/bin/seed-link && echo COMPILING-TOOLS-$1
`;

const t = suite('tools cache (real Docker)');
let work: string;
let fixturePlan: Plan;
let seed: { name: string; file: string; sha256: string; path: string; from: string };

t.before(async () => {
  work = await mkdtemp(join(tmpdir(), 'osforge-tools-'));
  const data = `seed ${process.pid} ${Date.now()}\n`;
  await writeFile(join(work, 'seed.txt'), data);
  seed = { name: 'musl', file: 'seed.txt', sha256: sha256(data), path: join(work, 'seed.txt'), from: 'test' };
  fixturePlan = { ...plan, imageFiles: { ...plan.imageFiles, tools: { 'build-musl.sh': Buffer.from(script) }, builder: {} } };
});
t.after(async () => { await rm(work, { recursive: true, force: true }); });

async function ensure(env: { skip: boolean; ciRestored: boolean }) {
  const b = await base('amd64');
  const log: string[] = [];
  const r = await ensureTools({
    engine, plan: fixturePlan, key: sha256(`${b.inputHash}\0${seed.sha256}\0${script}`), buildenvRef: b.ref, musl: seed, cacheRoot: join(work, 'tools-cache'),
    sourceDateEpoch: 0, env, log: (l) => log.push(l), store: new StageStore(join(work, 'stages')), runId: `tools-test-${process.pid}`, logDir: join(work, 'logs'),
  });
  return { r, log: log.join('\n') };
}

const normal = { skip: false, ciRestored: false };

t('miss: compiles, then writes tools-cache/', async () => {
  const { r, log } = await ensure(normal);
  assert.is(r.hit, false);
  assert.match(r.reason, /index\.json does not exist/);
  assert.match(log, /COMPILING-TOOLS-amd64/);
  assert.match(log, /COMPILING-TOOLS-arm64/);
});

t('hit: recreates the image from tools-cache/ without compiling', async () => {
  const first = await ensure(normal);
  await engine.docker.getImage(first.r.ref).remove({ force: true });
  const { r, log } = await ensure(normal);
  assert.is(r.hit, true);
  assert.not.match(log, /COMPILING-TOOLS/);
  const files = await readEntries(await engine.exportPath(r.ref, '/opt/osforge'));
  const seedFile = files.find((f) => f.path === 'osforge/amd64/seed');
  assert.ok(seedFile, 'recreated image has the cached file');
  assert.is(sha256(seedFile!.data!), seed.sha256);
  assert.is(files.find((f) => f.path === 'osforge/amd64/bin/seed-link')!.linkname, '../seed');
});

t('a corrupted cache file is a miss with the reason, then rebuilt from the finished steps', async () => {
  await writeFile(join(toolchainDir(join(work, 'tools-cache')), 'root/opt/osforge/amd64/seed'), 'corrupted');
  const { r, log } = await ensure(normal);
  assert.is(r.hit, false);
  assert.match(r.reason, /hash mismatch for .*seed: expected [0-9a-f]{64}, actual [0-9a-f]{64}/);
  assert.not.match(log, /COMPILING-TOOLS/);
  assert.match(log, /musl for amd64: finished step [0-9a-f]{12} from an earlier run/);
  assert.is((await ensure(normal)).r.hit, true);
});

t('a lost step is compiled again, a finished one is not (a kill loses only the step in flight)', async () => {
  await rm(toolchainDir(join(work, 'tools-cache')), { recursive: true, force: true });
  const store = new StageStore(join(work, 'stages'));
  const { readdir } = await import('node:fs/promises');
  // Drop the arm64 step as if the run had been killed while compiling it.
  for (const k of await readdir(store.root)) {
    const meta = JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(join(store.root, k, 'meta.json'), 'utf8'))) as { arch?: string };
    if (meta.arch === 'arm64') await rm(join(store.root, k), { recursive: true });
  }
  const { r, log } = await ensure(normal);
  assert.is(r.hit, false);
  assert.not.match(log, /COMPILING-TOOLS-amd64/);
  assert.match(log, /COMPILING-TOOLS-arm64/);
});

t('TOOLS_CACHE_HIT=true is not trusted when the cache does not validate', async () => {
  await unlink(join(toolchainDir(join(work, 'tools-cache')), 'root/opt/osforge/amd64/seed'));
  const { r } = await ensure({ skip: false, ciRestored: true });
  assert.is(r.hit, false);
  assert.match(r.reason, /TOOLS_CACHE_HIT=true but the restored cache is invalid: missing file/);
});

t('SKIP_TOOLS_CACHE=1 compiles even with a valid cache', async () => {
  assert.is((await ensure(normal)).r.hit, true);
  const { r, log } = await ensure({ skip: true, ciRestored: false });
  assert.is(r.hit, false);
  assert.match(r.reason, /SKIP_TOOLS_CACHE=1/);
  assert.match(log, /COMPILING-TOOLS/);
});

t.run();
