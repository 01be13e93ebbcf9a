// osforge package → upload (local copy, rsync) → install over HTTP, through the CLI.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { configHash } from '../../../pipeline/binpkg/config-hash.ts';
import { sha256 } from '../../../pipeline/util/hash.ts';
import { packageBytes, runCli, serveDir, snapshot, tempDir } from '../../fixtures/binpkg/helpers.ts';

const test = suite('binpkg/package-upload');
let root = '';
let state = '';
const COMPILER = 'gcc 12.2.0 / musl 1.2.3';

interface StagePkg {
  name: string;
  version: string;
  arch: 'amd64' | 'arm64';
  key: string;
  files: Record<string, string>;
}
const pkgs: StagePkg[] = [
  { name: 'busybox', version: '1.36.1', arch: 'amd64', key: 'a'.repeat(64), files: { 'bin/busybox': 'busybox amd64\n' } },
  { name: 'busybox', version: '1.36.1', arch: 'arm64', key: 'b'.repeat(64), files: { 'bin/busybox': 'busybox arm64\n' } },
  { name: 'zlib', version: '1.3.1', arch: 'amd64', key: 'c'.repeat(64), files: { 'lib/libz.so.1': 'zlib\n', 'include/zlib.h': '/* zlib */\n' } },
];
const outputs = new Map<string, Buffer>();

async function writeStage(p: StagePkg, extraMeta: Record<string, unknown> = {}): Promise<void> {
  const dir = join(state, 'stages', p.key);
  await mkdir(dir, { recursive: true });
  const data = await packageBytes(p.files);
  outputs.set(p.key, data);
  await writeFile(join(dir, 'output.tar.gz'), data);
  await writeFile(
    join(dir, 'meta.json'),
    JSON.stringify({
      name: p.name,
      version: p.version,
      arch: p.arch,
      key: p.key,
      deps: [],
      outputSha256: sha256(data),
      compiler: COMPILER,
      useFlags: [],
      ...extraMeta,
    }),
  );
}

async function writeManifest(path: string, list: StagePkg[]): Promise<void> {
  const packages = list.map((p) => ({
    name: p.name,
    version: p.version,
    arch: p.arch,
    key: p.key,
    deps: [],
    sources: [],
    outputSha256: sha256(outputs.get(p.key)!),
  }));
  await writeFile(path, JSON.stringify({ name: 'buckos', version: '0.1.0', packages, toolchains: {} }));
}

const cfg = (p: StagePkg) => configHash({ arch: p.arch, compiler: COMPILER, useFlags: [], depGraphHash: p.key });
const fileOf = (p: StagePkg) => `${p.name}-${p.version}-${cfg(p)}-bin.tar.gz`;
const env = () => ({ OSFORGE_STATE_DIR: state });

test.before(async () => {
  root = await tempDir('pkg');
  state = join(root, 'state');
  for (const p of pkgs) await writeStage(p);
  await writeManifest(join(root, 'manifest.json'), pkgs);
});
test.after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('package writes every package of every arch, byte-identical to the stage output, checkable with sha256sum -c', async () => {
  const out = join(root, 'out');
  const r = await runCli(['package', '--manifest', join(root, 'manifest.json'), '--output-dir', out], { env: env() });
  assert.is(r.code, 0, r.stderr);
  const names = readdirSync(out).sort();
  assert.equal(names, pkgs.flatMap((p) => [fileOf(p), `${fileOf(p)}.sha256`]).sort());
  for (const p of pkgs) assert.ok(readFileSync(join(out, fileOf(p))).equals(outputs.get(p.key)!), p.arch);
  assert.is.not(cfg(pkgs[0]!), cfg(pkgs[1]!)); // same name and version, other arch: other config hash
  const check = spawnSync('sha256sum', ['-c', ...names.filter((n) => n.endsWith('.sha256'))], { cwd: out, encoding: 'utf8' });
  assert.is(check.status, 0, check.stdout + check.stderr);
  const text = readFileSync(join(out, `${fileOf(pkgs[2]!)}.sha256`), 'utf8').split('\n');
  assert.is(text[0], `${sha256(outputs.get(pkgs[2]!.key)!)}  ${fileOf(pkgs[2]!)}`);
  assert.equal(text.slice(1, 6), [
    `# Config Hash: ${cfg(pkgs[2]!)}`,
    `# Content Hash: ${sha256(outputs.get(pkgs[2]!.key)!).slice(0, 8)}`,
    '# Package: zlib',
    '# Version: 1.3.1',
    '# Target: //stage2/amd64:zlib',
  ]);
});

test('packaging again is reproducible and leaves identical files alone', async () => {
  const out = join(root, 'out');
  const before = snapshot(out);
  const mtimes = readdirSync(out).map((n) => statSync(join(out, n)).mtimeMs);
  const r = await runCli(['package', '--manifest', join(root, 'manifest.json'), '--output-dir', out], { env: env() });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /unchanged/);
  assert.not.match(r.stdout, /wrote/);
  assert.equal(snapshot(out), before);
  assert.equal(
    readdirSync(out).map((n) => statSync(join(out, n)).mtimeMs),
    mtimes,
  );
});

test('a stage output that no longer matches the manifest is refused', async () => {
  const bad = join(root, 'manifest-bad.json');
  await writeManifest(bad, pkgs);
  const m = JSON.parse(readFileSync(bad, 'utf8'));
  m.packages[0].outputSha256 = '0'.repeat(64);
  await writeFile(bad, JSON.stringify(m));
  const r = await runCli(['package', '--manifest', bad, '--output-dir', join(root, 'out-bad')], { env: env() });
  assert.is(r.code, 1);
  assert.match(r.stderr, /SHA256_MISMATCH.*manifest expects 0{64}, actual [0-9a-f]{64}/);
});

test('upload lays the mirror out by first letter with a complete index.json', async () => {
  const mirror = join(root, 'mirror');
  const r = await runCli(['upload', '--source', join(root, 'out'), '--mirror', mirror, '--staging-dir', join(root, 'staging')]);
  assert.is(r.code, 0, r.stderr);
  assert.equal(readdirSync(mirror).sort(), ['b', 'index.json', 'z']);
  assert.equal(readdirSync(join(mirror, 'b')).sort(), [fileOf(pkgs[0]!), `${fileOf(pkgs[0]!)}.sha256`, fileOf(pkgs[1]!), `${fileOf(pkgs[1]!)}.sha256`].sort());
  const index = JSON.parse(readFileSync(join(mirror, 'index.json'), 'utf8'));
  assert.is(index.total, 3);
  assert.equal(Object.keys(index.by_name), ['busybox', 'zlib']);
  const z = index.packages.find((p: { name: string }) => p.name === 'zlib');
  const data = outputs.get(pkgs[2]!.key)!;
  assert.equal(z, {
    name: 'zlib',
    version: '1.3.1',
    arch: 'amd64',
    config_hash: cfg(pkgs[2]!),
    file_hash: sha256(data).slice(0, 8),
    filename: fileOf(pkgs[2]!),
    size: data.length,
    sha256: sha256(data),
  });
  assert.equal(
    index.by_name.busybox.map((e: { arch: string }) => e.arch),
    ['amd64', 'arm64'],
  );
  assert.equal(readdirSync(join(root, 'staging')), []); // staging cleaned up
});

test('re-uploading is idempotent: nothing rewritten, index bytes identical', async () => {
  const mirror = join(root, 'mirror');
  const before = snapshot(mirror);
  const mtime = statSync(join(mirror, 'index.json')).mtimeMs;
  const r = await runCli(['upload', '--source', join(root, 'out'), '--mirror', mirror, '--staging-dir', join(root, 'staging')]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /published 0 new, 3 unchanged/);
  assert.equal(snapshot(mirror), before);
  assert.is(statSync(join(mirror, 'index.json')).mtimeMs, mtime);
});

test('--dry-run writes nothing; --generate-index-only reproduces the index', async () => {
  const fresh = join(root, 'mirror-dry');
  const r = await runCli(['upload', '--source', join(root, 'out'), '--mirror', fresh, '--dry-run']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /would upload b\/busybox/);
  assert.not.ok(existsSync(fresh));
  const uploaded = readFileSync(join(root, 'mirror', 'index.json'), 'utf8');
  await rm(join(root, 'mirror', 'index.json'));
  const g = await runCli(['upload', '--source', join(root, 'mirror'), '--generate-index-only']);
  assert.is(g.code, 0, g.stderr);
  assert.is(readFileSync(join(root, 'mirror', 'index.json'), 'utf8'), uploaded);
  assert.match(g.stdout, /3 packages/);
});

test('two configurations of one version coexist; a different file under a published name is refused', async () => {
  const other: StagePkg = { ...pkgs[0]!, key: 'd'.repeat(64), files: { 'bin/busybox': 'busybox amd64, other deps\n' } };
  await writeStage(other);
  await writeManifest(join(root, 'manifest2.json'), [other]);
  const out2 = join(root, 'out2');
  assert.is((await runCli(['package', '--manifest', join(root, 'manifest2.json'), '--output-dir', out2], { env: env() })).code, 0);
  const r = await runCli(['upload', '--source', out2, '--mirror', join(root, 'mirror')]);
  assert.is(r.code, 0, r.stderr);
  const index = JSON.parse(readFileSync(join(root, 'mirror', 'index.json'), 'utf8'));
  assert.is(index.total, 4);
  assert.equal(
    index.by_name.busybox
      .filter((e: { arch: string }) => e.arch === 'amd64')
      .map((e: { config_hash: string }) => e.config_hash)
      .sort(),
    [cfg(pkgs[0]!), cfg(other)].sort(),
  );

  // Same file name, other bytes: a non-reproducible rebuild must not silently replace what clients verified.
  const clash = join(root, 'clash');
  await mkdir(clash);
  const f = fileOf(pkgs[2]!);
  const fake = await packageBytes({ 'lib/libz.so.1': 'different\n' });
  await writeFile(join(clash, f), fake);
  await writeFile(
    join(clash, `${f}.sha256`),
    readFileSync(join(root, 'out', `${f}.sha256`), 'utf8')
      .replace(/^[0-9a-f]{64}/, sha256(fake))
      .replace(/Content Hash: [0-9a-f]{8}/, `Content Hash: ${sha256(fake).slice(0, 8)}`),
  );
  const before = snapshot(join(root, 'mirror'));
  const c = await runCli(['upload', '--source', clash, '--mirror', join(root, 'mirror')]);
  assert.is(c.code, 1);
  assert.match(c.stderr, /already has zlib-1\.3\.1-[0-9a-f]{8}-bin\.tar\.gz with different contents: mirror sha256 [0-9a-f]{64}, new [0-9a-f]{64}/);
  assert.equal(snapshot(join(root, 'mirror')), before);
});

test('a corrupt package in --source is not published', async () => {
  const bad = join(root, 'bad-src');
  await mkdir(bad);
  const f = fileOf(pkgs[2]!);
  await writeFile(join(bad, f), Buffer.from('not the package'));
  await writeFile(join(bad, `${f}.sha256`), readFileSync(join(root, 'out', `${f}.sha256`)));
  const r = await runCli(['upload', '--source', bad, '--mirror', join(root, 'mirror-never')]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /hash mismatch .*expected [0-9a-f]{64} \(from its \.sha256\), actual [0-9a-f]{64}/);
  assert.not.ok(existsSync(join(root, 'mirror-never')));
});

test('rsync to a local path gives the same mirror, idempotently', async () => {
  const viaRsync = join(root, 'mirror-rsync');
  const viaCopy = join(root, 'mirror-copy');
  for (const [dest, extra] of [
    [viaRsync, ['--use-rsync']],
    [viaCopy, []],
  ] as const) {
    const r = await runCli(['upload', '--source', join(root, 'out'), '--mirror', dest, ...extra]);
    assert.is(r.code, 0, r.stderr);
  }
  assert.equal(snapshot(viaRsync), snapshot(viaCopy));
  const before = snapshot(viaRsync);
  const again = await runCli(['upload', '--source', join(root, 'out'), '--mirror', viaRsync, '--use-rsync']);
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stdout, /\$ rsync -rt --checksum/);
  assert.equal(snapshot(viaRsync), before);
  const more = await runCli(['upload', '--source', join(root, 'out2'), '--mirror', viaRsync, '--use-rsync']);
  assert.is(more.code, 0, more.stderr);
  assert.is(JSON.parse(readFileSync(join(viaRsync, 'index.json'), 'utf8')).total, 4);
});

test('package --upload, then install from the mirror over HTTP', async () => {
  const mirror = join(root, 'mirror-e2e');
  const r = await runCli(['package', '--manifest', join(root, 'manifest.json'), '--output-dir', join(root, 'out3'), '--upload', '--mirror-url', mirror], {
    env: env(),
  });
  assert.is(r.code, 0, r.stderr);
  const server = await serveDir(mirror);
  try {
    const prefix = join(root, 'prefix');
    const i = await runCli([
      'install',
      'zlib',
      '--version',
      '1.3.1',
      '--mirror-url',
      server.url,
      '--prefix',
      prefix,
      '--arch',
      'amd64',
      '--cache-dir',
      join(root, 'cache'),
    ]);
    assert.is(i.code, 0, i.stderr);
    assert.is(readFileSync(join(prefix, 'lib/libz.so.1'), 'utf8'), 'zlib\n');
    assert.match(i.stderr, /selected zlib 1\.3\.1 \(amd64, config [0-9a-f]{8}/);
    assert.ok(server.requests.includes('/index.json'));
  } finally {
    await server.close();
  }
});

test.run();
