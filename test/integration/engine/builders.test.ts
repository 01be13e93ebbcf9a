// Builders over mutual TLS against a second dockerd of the test's own
// (tls-engine.ts), reached through a Docker context as LinuxKit names its
// builders:
//  1. a client without a certificate, with one from another CA, or over plain
//     http is refused, and one that does not trust the server's CA refuses it;
//  2. `dist --builders linux/amd64=local,linux/arm64=<context>` runs the arm64
//     stages it has to build there (the --json events name the engine) and
//     writes a dist/ byte-identical to a one-engine build;
//  3. killing that engine mid-step drops it: the stage reruns locally, the run
//     succeeds, and dist/ is still identical (nothing from it was stored);
//  4. with a shared stage cache (a directory), a run pushes signed entries; a
//     run with an empty stage store pulls them and builds nothing, and an
//     entry tampered with in the cache is refused with a warning and rebuilt.
// Tests 2 and 3 reuse the machine's stage store (hard-linked into a temp state
// dir, minus the arm64 entries they rebuild), so they need a finished
// `make dist`: they skip without one unless OSFORGE_REQUIRE_BUILDER=1 (CI).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { encodePrivateKey, encodePublicKey, generateKeyPair } from '../../../pipeline/crypto/keys.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { startTlsEngine, type TlsEngine } from './tls-engine.ts';
import { parseBuilders, resolveEndpoint } from '../../../pipeline/engine/builders.ts';
import { DockerEngine } from '../../../pipeline/engine/docker.ts';
import { linkedState as linkState, machineHasBuild, runDistCli, type DistEvent, type DistRun, type EntryMetaInfo } from '../../support/dist-run.ts';

const t = suite('builders: a second engine over mutual TLS');
const work = mkdtempSync(join(tmpdir(), 'osforge-builders-'));
const dockerConfig = join(work, 'docker-config');
const context = `osforge-test-${process.pid}`;
let e2: TlsEngine | undefined;

t.before(async () => {
  e2 = await startTlsEngine();
  mkdirSync(dockerConfig);
  execFileSync(
    'docker',
    ['context', 'create', context, '--docker', `host=tcp://127.0.0.1:${e2.port},ca=${e2.certs.ca},cert=${e2.certs.cert},key=${e2.certs.key}`],
    { env: { ...process.env, DOCKER_CONFIG: dockerConfig }, stdio: 'ignore' },
  );
});
t.after(async () => {
  await e2?.stop();
  rmSync(work, { recursive: true, force: true });
});

async function refused(d: Docker): Promise<string> {
  try {
    await d.ping();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('the engine answered a client it should have refused');
}

t("only a client with a certificate from the engine's CA gets in, and only to a server its CA vouches for", async () => {
  assert.is(String(await e2!.client({ cert: e2!.certs.cert, key: e2!.certs.key }).ping()), 'OK');
  assert.ok(await refused(e2!.client()), 'no client certificate');
  assert.ok(await refused(e2!.client({ cert: e2!.foreign.cert, key: e2!.foreign.key })), 'a certificate from another CA');
  assert.ok(await refused(e2!.client({ plain: true })), 'plain http');
  assert.match(await refused(e2!.client({ cert: e2!.certs.cert, key: e2!.certs.key, ca: e2!.foreign.ca })), /certificate/i);
  // osforge's own path: the context as `docker context create` wrote it.
  const spec = parseBuilders(`linux/arm64=${context}`, 'test')[0]!;
  const before = process.env.DOCKER_CONFIG;
  process.env.DOCKER_CONFIG = dockerConfig;
  try {
    const r = resolveEndpoint(spec);
    await new DockerEngine(new Docker(r.options as Docker.DockerOptions), undefined, r.name).ping(10_000);
    assert.throws(() => resolveEndpoint(parseBuilders(`linux/arm64=tcp://127.0.0.1:${e2!.port}`, '--builders')[0]!), /plain tcp without TLS/);
  } finally {
    if (before === undefined) delete process.env.DOCKER_CONFIG;
    else process.env.DOCKER_CONFIG = before;
  }
});

// ---- dist across two engines -----------------------------------------------------

const required = process.env.OSFORGE_REQUIRE_BUILDER === '1';
type Run = DistRun;

/** A state dir whose stage entries are hard links to the machine's, minus `drop`. */
const linkedState = (name: string, drop: (meta: EntryMetaInfo) => boolean) => linkState(join(work, name), drop);

const dist = (state: string, out: string, builders?: string, onEvent?: (e: DistEvent) => void, env: Record<string, string> = {}) =>
  runDistCli({ state, out, args: builders ? ['--builders', builders] : [], env: { DOCKER_CONFIG: dockerConfig, ...env }, onEvent });

const sums = (dir: string) => readFileSync(join(dir, 'SHA256SUMS'), 'utf8');
const ended = (r: Run, stage: string) => r.events.find((e) => e.event === 'end' && e.stage === stage);
/** The arm64 entries the remote engine must rebuild: stage1, three packages, stage3 and the rootfs. */
const REBUILT = ['zlib', 'baselayout', 'init-scripts'];
let reference: string | undefined;

async function referenceDist(): Promise<string | undefined> {
  if (reference) return reference;
  if (!machineHasBuild()) {
    if (required) throw new Error('no finished build in the stage store: run make dist first');
    console.log('builders: the dist tests skipped (no finished make dist in the stage store; OSFORGE_REQUIRE_BUILDER=1 makes this fail)');
    return undefined;
  }
  const out = join(work, 'dist-local');
  const r = await dist(
    linkedState('state-ref', () => false),
    out,
  );
  assert.is(r.code, 0, `the one-engine reference dist failed:\n${r.stderr.slice(-3000)}`);
  const misses = r.events.filter((e) => e.event === 'end' && e.hit === false && !/^(dist|format\/|imager)/.test(e.stage)).map((e) => e.stage);
  if (misses.length > 6) console.log(`builders: the reference dist rebuilt ${misses.length} stages (the store was not current)`);
  reference = out;
  return out;
}

const dropArm64 = (pkgs: string[]) => (m: { arch?: string; kind?: string; name?: string }) =>
  m.arch === 'arm64' && (m.kind === 'stage1' || m.kind === 'stage3' || m.kind === 'rootfs' || (m.kind === 'package' && pkgs.includes(m.name ?? '')));

t('arm64 stages run on the TLS engine, named in the events, and dist/ is byte-identical to a one-engine build', async () => {
  const ref = await referenceDist();
  if (!ref) return;
  const out = join(work, 'dist-two');
  const r = await dist(linkedState('state-two', dropArm64(REBUILT)), out, `linux/amd64=local,linux/arm64=${context};jobs=2`);
  assert.is(r.code, 0, `the two-engine dist failed:\n${r.stderr.slice(-3000)}`);
  const remote = new RegExp(`^${context} \\(tcp://127\\.0\\.0\\.1:${e2!.port}\\)$`);
  for (const stage of ['stage1/arm64', ...REBUILT.map((p) => `stage2/arm64/${p}`), 'stage3/arm64']) {
    const e = ended(r, stage);
    assert.ok(e && e.hit === false, `${stage} was not rebuilt`);
    assert.match(e!.engine ?? '', remote, `${stage} ran on ${e!.engine}`);
  }
  assert.is(ended(r, 'stage2/amd64/zlib')?.engine, 'local');
  assert.match(r.stderr, /builder linux\/arm64: osforge-test-\d+ \(tcp:\/\/127\.0\.0\.1:\d+\), 2 stage\(s\) at a time/);
  assert.is(sums(out), sums(ref), 'dist/ differs from the one-engine build');
  assert.is(readFileSync(join(out, 'manifest.json'), 'utf8'), readFileSync(join(ref, 'manifest.json'), 'utf8'));
  // Nothing of the run is left on the builder.
  assert.equal(await e2!.client({ cert: e2!.certs.cert, key: e2!.certs.key }).listContainers({ all: true }), []);
});

t('a builder killed mid-step is dropped: the stage reruns locally, the run succeeds, nothing from it is stored', async () => {
  const ref = await referenceDist();
  if (!ref) return;
  const out = join(work, 'dist-killed');
  let killed = false;
  const r = await dist(linkedState('state-killed', dropArm64(['util-linux', ...REBUILT])), out, `linux/arm64=${context};jobs=2`, (e) => {
    // util-linux compiles for a while on the builder: kill the engine a few seconds into it.
    if (!killed && e.event === 'container' && e.stage === 'stage2/arm64/util-linux') {
      killed = true;
      setTimeout(() => e2!.kill(), 3000);
    }
  });
  assert.ok(killed, 'util-linux never started on the builder');
  assert.is(r.code, 0, `the run did not survive its builder:\n${r.stderr.slice(-3000)}`);
  assert.match(r.stderr, /builder osforge-test-\d+ \(tcp:\/\/127\.0\.0\.1:\d+\) went away during stage2\/arm64\/util-linux .*reruns on the local engine/);
  assert.match(ended(r, 'stage2/arm64/util-linux')?.engine ?? '', /^local \(after osforge-test-\d+/);
  assert.is(sums(out), sums(ref), 'dist/ differs after the builder died');
});

// ---- the shared stage cache -----------------------------------------------------------

/** Stages that write a store entry (compile.ts storeKey): what a shared cache carries. */
const STORED = /^(stage1|stage2|stage3|kernel|grub|rootfs|image|oss-source)\/|^oss-source$|^format\/[^/]+\/toolchain-tar$/;

t('a shared cache: one run pushes signed entries, an empty store pulls them and builds nothing, a tampered entry is refused', async () => {
  const ref = await referenceDist();
  if (!ref) return;
  const cache = join(work, 'shared');
  const keys = generateKeyPair();
  const password = 'shared-cache-test';
  writeFileSync(join(work, 'cache.key'), await encodePrivateKey(keys.privateKey, password));
  writeFileSync(join(work, 'cache.pub'), encodePublicKey(keys.publicKey));
  const verifyOnly = { OSFORGE_SHARED_CACHE: cache, OSFORGE_SHARED_CACHE_PUBKEY: join(work, 'cache.pub') };
  const pushing = { ...verifyOnly, OSFORGE_SHARED_CACHE_KEY: join(work, 'cache.key'), COSIGN_PASSWORD: password };

  const first = await dist(
    linkedState('state-push', () => false),
    join(work, 'dist-push'),
    undefined,
    undefined,
    pushing,
  );
  assert.is(first.code, 0, `the pushing run failed:\n${first.stderr.slice(-3000)}`);
  const stored = first.events.filter((e) => e.event === 'end' && STORED.test(e.stage));
  assert.ok(stored.length > 20, `only ${stored.length} stored stages ran`);
  // The kernel and GRUB entries live under their own key (a node input), not the event's; the pulling run below shows they were pushed.
  for (const e of stored.filter((x) => !/^(kernel|grub)\//.test(x.stage))) {
    const rel = join(cache, e.key.slice(0, 2), `${e.key}.tar`);
    assert.ok(existsSync(rel) && existsSync(`${rel}.sig`), `${e.stage} was not pushed`);
  }

  // An empty stage store (the source cache stays: it is not the stage cache): everything comes from the shared cache.
  const empty = (name: string) => linkedState(name, () => true);
  const second = await dist(empty('state-pull'), join(work, 'dist-pull'), undefined, undefined, verifyOnly);
  assert.is(second.code, 0, `the pulling run failed:\n${second.stderr.slice(-3000)}`);
  const rebuilt = second.events.filter((e) => e.event === 'end' && STORED.test(e.stage) && e.hit === false).map((e) => e.stage);
  assert.equal(rebuilt, [], `rebuilt although the first run built them: ${rebuilt.join(', ')}`);
  assert.ok(second.events.filter((e) => e.sharedCache === 'pulled').length >= stored.length - 2, 'entries were not pulled');
  assert.is(sums(join(work, 'dist-pull')), sums(ref));

  // One byte of zlib's (amd64) entry changed in the cache: refused with a warning, built, and dist/ is still the same.
  const zlib = first.events.find((e) => e.event === 'end' && e.stage === 'stage2/amd64/zlib')!;
  const tarPath = join(cache, zlib.key.slice(0, 2), `${zlib.key}.tar`);
  const bytes = readFileSync(tarPath);
  const at = bytes.length - 2048;
  bytes.writeUInt8(bytes.readUInt8(at) ^ 0x01, at);
  writeFileSync(tarPath, bytes);
  const third = await dist(empty('state-tampered'), join(work, 'dist-tampered'), undefined, undefined, verifyOnly);
  assert.is(third.code, 0, `the run after tampering failed:\n${third.stderr.slice(-3000)}`);
  assert.match(
    third.stderr,
    new RegExp(
      `warning: shared cache entry ${zlib.key.slice(0, 12)} for stage2/amd64/zlib is not signed by the shared cache's key \\(tampered, or signed by another key\\); ignored, building it`,
    ),
  );
  assert.is(ended(third, 'stage2/amd64/zlib')?.hit, false);
  assert.is(ended(third, 'stage2/amd64/busybox')?.sharedCache, 'pulled');
  assert.is(sums(join(work, 'dist-tampered')), sums(ref));
});

t.run();
