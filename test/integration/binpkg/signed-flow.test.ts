// The signed path end to end through the CLI, with keys from `osforge
// keygen` (pipeline/sign): package --sign-key writes <file>.sig and
// <file>.sha256.sig (deterministically), upload --sign-key writes
// index.json.sig after inspecting every archive, and install --key accepts
// only what verifies. Also the careless-user traps of these commands.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { configHash } from '../../../pipeline/binpkg/config-hash.ts';
import { sha256 } from '../../../pipeline/util/hash.ts';
import { packageBytes, rawTarGz, runCli, serveDir, snapshot, tempDir, writeMirror } from '../../fixtures/binpkg/helpers.ts';

const test = suite('binpkg/signed-flow');
let root = '';
let state = '';
let server: Awaited<ReturnType<typeof serveDir>>;
const COMPILER = 'gcc 12.2.0 / musl 1.2.3';
const PASSWORD = { COSIGN_PASSWORD: 'test-password-123' };
const key = () => join(root, 'k.key');
const pub = () => join(root, 'k.pub');
const env = () => ({ OSFORGE_STATE_DIR: state, ...PASSWORD });
let filename = '';

test.before(async () => {
  root = await tempDir('signed');
  state = join(root, 'state');
  const keyDir = join(state, 'stages', 'd'.repeat(64));
  await mkdir(keyDir, { recursive: true });
  const data = await packageBytes({ 'bin/hello': 'hello\n' });
  await writeFile(join(keyDir, 'output.tar.gz'), data);
  await writeFile(
    join(keyDir, 'meta.json'),
    JSON.stringify({
      name: 'hello',
      version: '1.0',
      arch: 'amd64',
      key: 'd'.repeat(64),
      deps: [],
      outputSha256: sha256(data),
      compiler: COMPILER,
      useFlags: [],
    }),
  );
  await writeFile(
    join(root, 'manifest.json'),
    JSON.stringify({
      name: 'buckos',
      version: '0.1.0',
      toolchains: {},
      packages: [{ name: 'hello', version: '1.0', arch: 'amd64', key: 'd'.repeat(64), deps: [], sources: [], outputSha256: sha256(data) }],
    }),
  );
  filename = `hello-1.0-${configHash({ arch: 'amd64', compiler: COMPILER, useFlags: [], depGraphHash: 'd'.repeat(64) })}-bin.tar.gz`;
  const kg = await runCli(['keygen', '--output-key-prefix', join(root, 'k')], { env: PASSWORD });
  assert.is(kg.code, 0, kg.stderr);
  server = await serveDir(root);
});
test.after(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

test('package --sign-key, upload --sign-key, install --key: signed end to end, openssl agrees, re-signing is byte-identical', async () => {
  const bins = join(root, 'bins');
  const p = await runCli(['package', '--manifest', join(root, 'manifest.json'), '--output-dir', bins, '--sign-key', key()], { env: env() });
  assert.is(p.code, 0, p.stderr);
  assert.equal(readdirSync(bins).sort(), [filename, `${filename}.sha256`, `${filename}.sha256.sig`, `${filename}.sig`]);
  for (const [sig, file] of [
    [`${filename}.sig`, filename],
    [`${filename}.sha256.sig`, `${filename}.sha256`],
  ]) {
    const der = join(root, 'sig.der');
    await writeFile(der, Buffer.from(readFileSync(join(bins, sig!), 'utf8'), 'base64'));
    const v = spawnSync('openssl', ['dgst', '-sha256', '-verify', pub(), '-signature', der, join(bins, file!)], { encoding: 'utf8' });
    assert.is(v.status, 0, `${sig}: ${v.stdout}${v.stderr}`);
  }
  const again = await runCli(['package', '--manifest', join(root, 'manifest.json'), '--output-dir', bins, '--sign-key', key()], { env: env() });
  assert.match(again.stdout, /^unchanged /m);

  const mirror = join(root, 'mirror');
  const u = await runCli(['upload', '--source', bins, '--mirror', mirror, '--sign-key', key()], { env: env() });
  assert.is(u.code, 0, u.stderr);
  assert.ok(existsSync(join(mirror, 'index.json.sig')));
  assert.ok(existsSync(join(mirror, 'h', `${filename}.sha256.sig`)));
  const prefix = join(root, 'prefix');
  const i = await runCli([
    'install',
    'hello',
    '--mirror-url',
    `${server.url}/mirror`,
    '--prefix',
    prefix,
    '--arch',
    'amd64',
    '--key',
    pub(),
    '--cache-dir',
    join(root, 'cache'),
  ]);
  assert.is(i.code, 0, i.stderr);
  assert.match(i.stderr, /index\.json: signature ok/);
  assert.is(readFileSync(join(prefix, 'bin/hello'), 'utf8'), 'hello\n');

  // An upload without the key to a signed mirror is refused (its index.json.sig would go stale).
  const before = snapshot(mirror);
  const nokey = await runCli(['upload', '--source', bins, '--mirror', mirror]);
  assert.is(nokey.code, 2);
  assert.match(nokey.stderr, /has a signed index \(index\.json\.sig\); uploading without --sign-key would leave a signature that no longer matches/);
  assert.equal(snapshot(mirror), before);
  // Unsigned packages cannot be published under a signed index.
  const unsigned = join(root, 'unsigned');
  await writeMirror(unsigned, [{ name: 'other', version: '1.0', data: await packageBytes({ 'bin/o': 'o\n' }) }], { index: false });
  const us = await runCli(['upload', '--source', unsigned, '--mirror', join(root, 'mirror2'), '--sign-key', key()], { env: env() });
  assert.is(us.code, 2);
  assert.match(us.stderr, /--sign-key signs the index, but 1 package\(s\) are not signed: other-1\.0-\w{8}-bin\.tar\.gz/);
  assert.not.ok(existsSync(join(root, 'mirror2')));
});

test('upload inspects every archive: a hostile package is refused and nothing is published', async () => {
  for (const [label, entries, re] of [
    [
      'dotdot',
      [{ name: '../../etc/cron.d/x', data: 'pwned\n' }],
      /refusing to publish .*evil-1\.0-\w{8}-bin\.tar\.gz: refusing archive entry "\.\.\/\.\.\/etc\/cron\.d\/x": "\.\." segment/,
    ],
    ['device', [{ name: 'dev/sda', type: 'block-device' as const }], /unsupported entry type block-device/],
    ['linkout', [{ name: 'x', type: 'symlink' as const, linkname: '../../..' }], /symlink to "\.\.\/\.\.\/\.\." points outside/],
    ['db', [{ name: 'var/db/pkg/evil-1.0/CONTENTS', data: 'obj /etc/passwd\n' }], /var\/db\/pkg is the package database/],
  ] as const) {
    const src = join(root, `hostile-${label}`);
    await writeMirror(src, [{ name: 'evil', version: '1.0', data: await rawTarGz([{ name: 'bin/ok', data: 'ok\n' }, ...entries]) }], { index: false });
    const dest = join(root, `hostile-dest-${label}`);
    const r = await runCli(['upload', '--source', src, '--mirror', dest]);
    assert.is(r.code, 1, r.stderr);
    assert.match(r.stderr, re, label);
    assert.not.ok(existsSync(dest), `${label}: something was published`);
  }
  const bomb = join(root, 'bomb-src');
  await writeMirror(bomb, [{ name: 'bomb', version: '1.0', data: await packageBytes({ z: '\0'.repeat(8 * 1024 * 1024) }) }], { index: false });
  const b = await runCli(['upload', '--source', bomb, '--generate-index-only', '--max-unpacked-size', '1M']);
  assert.is(b.code, 1);
  assert.match(b.stderr, /LIMIT_EXCEEDED.*decompresses to more than the 1M limit/);
  assert.not.ok(existsSync(join(bomb, 'index.json')));
});

test('upload stages in a fresh private directory, never a fixed shared /tmp path', async () => {
  const src = join(root, 'stg-src');
  await writeMirror(src, [{ name: 'tiny', version: '1.0', data: await packageBytes({ 'bin/t': 't\n' }) }], { index: false });
  const tmp = join(root, 'tmp');
  await mkdir(tmp);
  const r = await runCli(['upload', '--source', src, '--mirror', join(root, 'stg-dest')], { env: { TMPDIR: tmp } });
  assert.is(r.code, 0, r.stderr);
  assert.equal(
    readdirSync(tmp).filter((f) => !f.startsWith('tsx-')),
    [],
  ); // the per-run dir was removed; no buckos-binaries-staging left
  const help = await runCli(['upload', '--help']);
  assert.not.match(help.stdout, /buckos-binaries-staging/);
});

test('careless-user traps are usage errors (exit 2) naming the flags', async () => {
  const m = `${server.url}/mirror`;
  const cases: [string[], RegExp][] = [
    [['install', 'hello', '--mirror-url', m, '--prefix', ''], /--prefix'? is empty/],
    [['install', 'hello', '--mirror-url', m, '--prefix', '   '], /--prefix'? is empty/],
    [['install', 'hello', '--mirror-url', m, '--list', '--version', '1.0'], /--list cannot be combined with --version: --list only shows/],
    [['install', 'hello', '--mirror-url', m, '--list', '--prefix', '/tmp/x'], /--list cannot be combined with --prefix/],
    [['install', 'hello', '--mirror-url', m, '--download-only', '--prefix', '/tmp/x'], /--download-only cannot be combined with --prefix/],
    [['install', 'hello', '--mirror-url', ''], /--mirror-url'? is empty/],
    [['uninstall', 'hello', '--prefix', ''], /--prefix'? is empty/],
    [['upload', '--source', root, '--generate-index-only', '--use-rsync'], /--generate-index-only cannot be combined with --use-rsync/],
    [['upload', '--source', root, '--generate-index-only', '--staging-dir', '/tmp/x'], /--generate-index-only cannot be combined with --staging-dir/],
    [['upload', '--source', '', '--mirror', '/tmp/x'], /--source'? is empty/],
    [['package', '--use-rsync'], /--use-rsync is only used with --upload/],
    [['package', '--output-dir', ''], /--output-dir'? is empty/],
  ];
  for (const [args, re] of cases) {
    const r = await runCli(args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
    assert.not.match(r.stderr, /\n\s+at /);
  }
  assert.not.ok(existsSync(join(process.cwd(), 'var')), 'an empty --prefix installed into the current directory');

  // A prefix that does not exist is not left behind by a refused uninstall.
  const never = join(root, 'never');
  const u = await runCli(['uninstall', 'hello', '--prefix', never]);
  assert.is(u.code, 2);
  assert.match(u.stderr, /hello is not installed in .*never; installed: \(nothing\)/);
  assert.not.ok(existsSync(never));
  // --generate-index-only on a directory without packages writes nothing there.
  const empty = join(root, 'empty-src');
  await mkdir(empty);
  const g = await runCli(['upload', '--source', empty, '--generate-index-only']);
  assert.is(g.code, 2);
  assert.match(g.stderr, /no \*-bin\.tar\.gz packages in .*empty-src/);
  assert.equal(readdirSync(empty), []);
  // A prefix where the database cannot be created fails with one line (this used to spin forever in mkdir -p).
  const p = await runCli(['uninstall', 'hello', '--prefix', '/proc']);
  assert.is(p.code, 1);
  assert.match(p.stderr, /^error \[HOST_SETUP\]: creating the lock \/proc\/var\/db\/pkg\/\.lock: ENOENT$/m);
});

test.run();
