import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, mkdtemp, readFile, rm, writeFile, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTools, toolsCacheTrust } from '../../../pipeline/steps/tools.ts';
import { StageStore } from '../../../pipeline/cache/stage-store.ts';
import { toolchainDir } from '../../../pipeline/cache/tools-cache.ts';
import { readEntries } from '../../../pipeline/util/tar.ts';
import { sha256 } from '../../../pipeline/util/hash.ts';
import type { Plan } from '../../../pipeline/plan/types.ts';
import { writeKeyPair } from '../../../pipeline/crypto/keyfile.ts';
import { generateKeyPair } from '../../../pipeline/crypto/keys.ts';
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
t.after(async () => {
  await rm(work, { recursive: true, force: true });
});

/** `stages`: the machine's state dir (another one plays another machine); `keyEnv`: the OSFORGE_TOOLS_CACHE_* variables it runs with. */
async function ensure(env: { skip: boolean; ciRestored: boolean }, stages = join(work, 'stages'), keyEnv: NodeJS.ProcessEnv = {}) {
  const b = await base('amd64');
  const log: string[] = [];
  const store = new StageStore(stages);
  const r = await ensureTools({
    engine,
    plan: fixturePlan,
    key: sha256(`${b.inputHash}\0${seed.sha256}\0${script}`),
    buildenvRef: b.ref,
    musl: seed,
    cacheRoot: join(work, 'tools-cache'),
    sourceDateEpoch: 0,
    env,
    log: (l) => log.push(l),
    store,
    runId: `tools-test-${process.pid}`,
    logDir: join(work, 'logs'),
    trust: await toolsCacheTrust(store, { sign: true }, { COSIGN_PASSWORD: 'test-password', ...keyEnv }),
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

/** A self-consistent forgery, as an attacker writing tools-cache/ (a poisoned CI cache) makes it: a new compiler file and its hash in index.json. */
async function forgeCompiler(): Promise<string> {
  const dir = toolchainDir(join(work, 'tools-cache'));
  const evil = `evil compiler ${process.pid}\n`;
  await writeFile(join(dir, 'root/opt/osforge/amd64/seed'), evil);
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { files: { path: string; sha256?: string }[] };
  index.files.find((f) => f.path === 'opt/osforge/amd64/seed')!.sha256 = sha256(evil);
  await writeFile(join(dir, 'index.json'), JSON.stringify(index, null, 1) + '\n');
  return evil;
}

async function imageSeed(ref: string): Promise<string> {
  const files = await readEntries(await engine.exportPath(ref, '/opt/osforge'));
  return files.find((f) => f.path === 'osforge/amd64/seed')!.data!.toString();
}

t('forgery: a restored tools-cache/ with a changed compiler and a recomputed index is refused with a warning and rebuilt', async () => {
  assert.is((await ensure(normal)).r.hit, true, 'the genuine cache this machine wrote is a hit');
  const evil = await forgeCompiler();
  const { r, log } = await ensure({ skip: false, ciRestored: true });
  assert.is(r.hit, false);
  assert.match(r.reason, /TOOLS_CACHE_HIT=true but the restored cache is invalid: .*index\.json is not trusted: it differs from the index this machine wrote/);
  assert.match(log, /^warning: tools cache refused: .*; rebuilding it$/m);
  assert.not.equal(await imageSeed(r.ref), evil, 'the tools image does not carry the forged compiler');
  const data = await readFile(join(toolchainDir(join(work, 'tools-cache')), 'root/opt/osforge/amd64/seed'), 'utf8');
  assert.is(sha256(data), seed.sha256, 'tools-cache/ is rewritten with the genuine file');
  assert.is((await ensure(normal)).r.hit, true, 'and the rebuilt cache is a hit again');
});

t('signed: a cache signed on another machine is a hit only with the right public key', async () => {
  const keys = join(work, 'keys');
  await mkdir(keys, { recursive: true });
  const cacheKey = await writeKeyPair({ prefix: join(keys, 'tools'), password: 'test-password', force: false, keyPair: generateKeyPair() });
  const other = await writeKeyPair({ prefix: join(keys, 'other'), password: 'test-password', force: false, keyPair: generateKeyPair() });
  // "CI" compiles with the signing key set: index.json.sig is written.
  const signer = await ensure({ skip: true, ciRestored: false }, join(work, 'stages'), { OSFORGE_TOOLS_CACHE_KEY: cacheKey.privatePath });
  assert.match(signer.log, /index\.json signed/);
  // A machine with an empty state dir restores it: unsigned trust fails, the wrong key fails, the right key hits.
  const noKey = await ensure({ skip: false, ciRestored: true }, join(work, 'stages-b'));
  assert.is(noKey.r.hit, false);
  assert.match(noKey.r.reason, /was not written by this machine, and OSFORGE_TOOLS_CACHE_PUBKEY is not set/);
  // That miss rewrote the cache unsigned; sign it again on the first machine.
  await ensure({ skip: true, ciRestored: false }, join(work, 'stages'), { OSFORGE_TOOLS_CACHE_KEY: cacheKey.privatePath });
  const wrong = await ensure({ skip: false, ciRestored: true }, join(work, 'stages-c'), { OSFORGE_TOOLS_CACHE_PUBKEY: other.publicPath });
  assert.is(wrong.r.hit, false);
  assert.match(wrong.r.reason, /index\.json\.sig does not verify with OSFORGE_TOOLS_CACHE_PUBKEY/);
  await ensure({ skip: true, ciRestored: false }, join(work, 'stages'), { OSFORGE_TOOLS_CACHE_KEY: cacheKey.privatePath });
  const right = await ensure({ skip: false, ciRestored: true }, join(work, 'stages-d'), { OSFORGE_TOOLS_CACHE_PUBKEY: cacheKey.publicPath });
  assert.is(right.r.hit, true);
  assert.match(right.log, /restored by CI and validated/);
  // A forgery under that genuine signature is refused even with the right key.
  await forgeCompiler();
  const forged = await ensure({ skip: false, ciRestored: true }, join(work, 'stages-e'), { OSFORGE_TOOLS_CACHE_PUBKEY: cacheKey.publicPath });
  assert.is(forged.r.hit, false);
  assert.match(forged.r.reason, /does not verify with OSFORGE_TOOLS_CACHE_PUBKEY/);
});

t.run();
