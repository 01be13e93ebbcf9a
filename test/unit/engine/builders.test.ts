// Builders config (engine/builders.ts) and placement (engine/placement.ts),
// pure: specs parse or fail naming the input; TLS is only ever verified;
// plain tcp needs an explicit insecure; stages go to their platform's builder
// within its concurrency, and to the local engine (saying so) without one.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildersFrom, parseBuilders, resolveEndpoint } from '../../../pipeline/engine/builders.ts';
import { EnginePool } from '../../../pipeline/engine/placement.ts';
import { FakeEngine } from '../graph/fake-engine.ts';

test('builder specs parse: platforms, endpoints, jobs, mutual TLS files, insecure', () => {
  const b = parseBuilders('linux/amd64=local, linux/arm64=tcp://10.0.0.5:2376;ca=/c/ca.pem;cert=/c/cert.pem;key=/c/key.pem;jobs=3', '--builders');
  assert.equal(
    b.map((x) => [x.platform, x.endpoint, x.jobs]),
    [
      ['amd64', 'local', 1],
      ['arm64', 'tcp://10.0.0.5:2376', 3],
    ],
  );
  assert.equal(b[1]!.tls, { ca: '/c/ca.pem', cert: '/c/cert.pem', key: '/c/key.pem' });
  assert.ok(parseBuilders('linux/arm64=tcp://h:2375;insecure', 'x')[0]!.insecure);
  assert.throws(() => parseBuilders('arm64=box', '--builders'), /--builders: "arm64=box" is not linux\/<arch>=<endpoint>/);
  assert.throws(() => parseBuilders('linux/riscv64=box', '--builders'), /unknown platform linux\/riscv64 \(known: linux\/amd64, linux\/arm64\)/);
  assert.throws(() => parseBuilders('linux/arm64=a,linux/arm64=b', '$OSFORGE_BUILDERS'), /\$OSFORGE_BUILDERS: linux\/arm64 is given twice/);
  assert.throws(() => parseBuilders('linux/arm64=tcp://h:2376;ca=/x', 'x'), /mutual TLS needs ca=, cert= and key= together \(given: ca\)/);
  assert.throws(() => parseBuilders('linux/arm64=h;jobs=0', 'x'), /unknown or malformed option "jobs=0"/);
});

test('endpoints: plain tcp is refused unless insecure; TLS reads the files and is verified; contexts are read from the Docker CLI store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'osforge-builders-'));
  const before = process.env.DOCKER_CONFIG;
  try {
    assert.throws(
      () => resolveEndpoint(parseBuilders('linux/arm64=tcp://10.0.0.5:2375', '--builders')[0]!),
      /plain tcp without TLS; anyone on the network could run containers as root there/,
    );
    const insecure = resolveEndpoint(parseBuilders('linux/arm64=tcp://10.0.0.5:2375;insecure', 'x')[0]!);
    assert.ok(insecure.insecure);
    assert.is(insecure.options!.protocol, 'http');
    for (const f of ['ca', 'cert', 'key']) writeFileSync(join(dir, `${f}.pem`), `${f}-pem`);
    const tls = resolveEndpoint(parseBuilders(`linux/arm64=tcp://10.0.0.5:2376;ca=${dir}/ca.pem;cert=${dir}/cert.pem;key=${dir}/key.pem`, 'x')[0]!);
    assert.is(tls.options!.protocol, 'https');
    assert.is(String(tls.options!.ca), 'ca-pem');
    assert.not.ok('rejectUnauthorized' in tls.options!, 'verification is never turned off');
    assert.throws(
      () => resolveEndpoint(parseBuilders(`linux/arm64=tcp://h:2376;ca=${dir}/nope;cert=${dir}/cert.pem;key=${dir}/key.pem`, 'x')[0]!),
      /cannot read the CA .*nope \(ENOENT\)/,
    );
    // A context as `docker context create arm --docker host=tcp://...,ca=...` leaves it.
    process.env.DOCKER_CONFIG = dir;
    const id = createHash('sha256').update('arm').digest('hex');
    mkdirSync(join(dir, 'contexts/meta', id), { recursive: true });
    mkdirSync(join(dir, 'contexts/tls', id, 'docker'), { recursive: true });
    writeFileSync(
      join(dir, 'contexts/meta', id, 'meta.json'),
      JSON.stringify({ Name: 'arm', Endpoints: { docker: { Host: 'tcp://127.0.0.1:23760', SkipTLSVerify: false } } }),
    );
    for (const f of ['ca', 'cert', 'key']) writeFileSync(join(dir, 'contexts/tls', id, 'docker', `${f}.pem`), `ctx-${f}`);
    const ctx = resolveEndpoint(parseBuilders('linux/arm64=arm', 'x')[0]!);
    assert.is(ctx.name, 'arm (tcp://127.0.0.1:23760)');
    assert.equal([ctx.options!.protocol, ctx.options!.port, String(ctx.options!.cert)], ['https', 23760, 'ctx-cert']);
    assert.throws(() => resolveEndpoint(parseBuilders('linux/arm64=nope', '--builders')[0]!), /no Docker context "nope"/);
    writeFileSync(
      join(dir, 'contexts/meta', id, 'meta.json'),
      JSON.stringify({ Endpoints: { docker: { Host: 'tcp://127.0.0.1:23760', SkipTLSVerify: true } } }),
    );
    assert.throws(() => resolveEndpoint(parseBuilders('linux/arm64=arm', 'x')[0]!), /skips TLS verification/);
    assert.equal(resolveEndpoint(parseBuilders('linux/arm64=ssh://build@arm.example:2222', 'x')[0]!).options!.port, 2222);
  } finally {
    if (before === undefined) delete process.env.DOCKER_CONFIG;
    else process.env.DOCKER_CONFIG = before;
    rmSync(dir, { recursive: true, force: true });
  }
});

test("placement: the platform's builder, within its jobs; else local with one note; a builder marked down is skipped", async () => {
  const local = new FakeEngine();
  const arm = new FakeEngine();
  const notes: string[] = [];
  const pool = new EnginePool(local, [{ platform: 'arm64', name: 'arm', engine: arm, jobs: 2 }], 'amd64', (l) => notes.push(l));
  assert.ok(pool.remote);
  assert.is(pool.placeFor('arm64').engine, arm);
  assert.is(pool.placeFor('amd64').engine, local);
  let running = 0;
  let peak = 0;
  const p = pool.placeFor('arm64');
  await Promise.all(
    Array.from({ length: 6 }, () =>
      pool.within(p, async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 5));
        running--;
      }),
    ),
  );
  assert.is(peak, 2);
  pool.markDown('arm', 'its event stream closed');
  assert.is(pool.placeFor('arm64').engine, local);
  assert.equal(notes, [
    "builder arm is down (its event stream closed); its platform's stages run on the local engine",
    'no builder for linux/arm64: its stages run on the local engine through binfmt (QEMU)',
  ]);
});

test('builders come from --builders, else $OSFORGE_BUILDERS, else .buckconfig [buckos] builders', () => {
  const dir = mkdtempSync(join(tmpdir(), 'osforge-buckconfig-'));
  const saved = process.env.OSFORGE_BUILDERS;
  try {
    delete process.env.OSFORGE_BUILDERS;
    const cfg = join(dir, '.buckconfig');
    writeFileSync(cfg, '[buckos]\n# the arm box\nbuilders = linux/arm64=arm-box;jobs=4\n');
    assert.equal(
      buildersFrom(undefined, cfg).map((b) => [b.platform, b.endpoint, b.jobs, b.from]),
      [['arm64', 'arm-box', 4, `${cfg} [buckos] builders`]],
    );
    process.env.OSFORGE_BUILDERS = 'linux/arm64=local';
    assert.is(buildersFrom(undefined, cfg)[0]!.endpoint, 'local');
    assert.is(buildersFrom('linux/amd64=local', cfg)[0]!.platform, 'amd64');
    assert.equal(buildersFrom(undefined, join(dir, 'none')).length, 1);
    delete process.env.OSFORGE_BUILDERS;
    assert.equal(buildersFrom(undefined, join(dir, 'none')), []);
  } finally {
    if (saved === undefined) delete process.env.OSFORGE_BUILDERS;
    else process.env.OSFORGE_BUILDERS = saved;
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
