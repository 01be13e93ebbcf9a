import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm, writeFile, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTools } from '../../../pipeline/stages/tools.ts';
import { toolchainDir } from '../../../pipeline/cache/tools-cache.ts';
import { readEntries } from '../../../pipeline/util/tar.ts';
import { sha256 } from '../../../pipeline/util/hash.ts';
import type { Plan } from '../../../pipeline/plan/types.ts';
import { engine, base, plan } from '../fixtures.ts';

// A tiny tools image with the real image's interface: it "compiles" by
// copying the seed source into /opt/osforge and says so in its build log.
const dockerfile = `ARG BUILDENV
FROM \${BUILDENV} AS build
COPY sources/ /src/
ARG MUSL_FILE
RUN mkdir -p /opt/osforge/amd64/bin && cp /src/\${MUSL_FILE} /opt/osforge/amd64/seed && ln -s ../seed /opt/osforge/amd64/bin/seed-link && echo COMPILING-TOOLS
FROM scratch
COPY --from=build /opt/osforge /opt/osforge
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
  fixturePlan = { ...plan, imageFiles: { tools: { Dockerfile: Buffer.from(dockerfile) }, builder: {} } };
});
t.after(async () => { await rm(work, { recursive: true, force: true }); });

async function ensure(env: { skip: boolean; ciRestored: boolean }) {
  const b = await base('amd64');
  const log: string[] = [];
  const r = await ensureTools({
    engine, plan: fixturePlan, key: sha256(`${b.inputHash}\0${seed.sha256}\0${dockerfile}`), buildenvRef: b.ref, musl: seed, cacheRoot: join(work, 'tools-cache'),
    sourceDateEpoch: 0, env, log: (l) => log.push(l),
  });
  return { r, log: log.join('\n') };
}

const normal = { skip: false, ciRestored: false };

t('miss: compiles, then writes tools-cache/', async () => {
  const { r, log } = await ensure(normal);
  assert.is(r.hit, false);
  assert.match(r.reason, /index\.json does not exist/);
  assert.match(log, /COMPILING-TOOLS/);
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

t('a corrupted cache file is a miss with the reason, then a rebuild', async () => {
  await writeFile(join(toolchainDir(join(work, 'tools-cache')), 'root/opt/osforge/amd64/seed'), 'corrupted');
  const { r, log } = await ensure(normal);
  assert.is(r.hit, false);
  assert.match(r.reason, /hash mismatch for .*seed: expected [0-9a-f]{64}, actual [0-9a-f]{64}/);
  assert.match(log, /COMPILING-TOOLS/);
  assert.is((await ensure(normal)).r.hit, true);
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
