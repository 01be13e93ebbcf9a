// fetchVerifiedBinary, the stage2 hook, against a real HTTP server.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKeyPairSync } from 'node:crypto';
import { binaryMirrorForBuild, fetchVerifiedBinary, readBinaryMirrorSetting, trustedMirrorForBuild } from '../../../pipeline/binpkg/cache-hook.ts';
import { keyId } from '../../../pipeline/binpkg/signature.ts';
import { binaryFilename, mirrorPath } from '../../../pipeline/binpkg/naming.ts';
import { sha256 } from '../../../pipeline/util/hash.ts';
import { fixtureConfigHash, packageBytes, rawTarGz, serveDir, tempDir, writeMirror, type FixturePackage } from '../../fixtures/binpkg/helpers.ts';

const test = suite('binpkg/cache-hook');
let root = '';
let server: Awaited<ReturnType<typeof serveDir>>;
let pkg: FixturePackage;
let logs: string[] = [];
const keys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const signWith = keys.privateKey;

const opts = (over: Partial<Parameters<typeof fetchVerifiedBinary>[0]> = {}) => ({
  mirrorUrl: `${server.url}/m`,
  name: pkg.name,
  version: pkg.version,
  configHash: fixtureConfigHash(pkg),
  arch: 'amd64',
  publicKey: keys.publicKey,
  log: (m: string) => logs.push(m),
  ...over,
});

test.before(async () => {
  root = await tempDir('hook');
  pkg = { name: 'musl', version: '1.2.3', data: await packageBytes({ 'lib/libc.so': 'libc\n' }) };
  await writeMirror(join(root, 'www/m'), [pkg], { signWith });
  await writeMirror(join(root, 'www/noindex'), [pkg], { index: false, signWith });
  await writeMirror(join(root, 'www/unsigned'), [pkg]);
  await writeMirror(join(root, 'www/foreign'), [pkg], { signWith: other.privateKey });
  const corrupt = join(root, 'www/corrupt');
  await writeMirror(corrupt, [pkg], { signWith });
  await writeFile(join(corrupt, mirrorPath('musl', binaryFilename('musl', '1.2.3', fixtureConfigHash(pkg)))), Buffer.from('garbage'));
  // Metadata edited after signing: its .sha256.sig no longer matches.
  await writeMirror(join(root, 'www/meta'), [pkg], { signWith });
  const metaFile = join(root, 'www/meta', `${mirrorPath('musl', binaryFilename('musl', '1.2.3', fixtureConfigHash(pkg)))}.sha256`);
  await writeFile(metaFile, (await import('node:fs')).readFileSync(metaFile, 'utf8').replace('# Version: 1.2.3', '# Version: 1.2.4'));
  const dev = { name: 'musl', version: '1.2.3', data: await rawTarGz([{ name: 'dev/sda', type: 'block-device' }]) };
  await writeMirror(join(root, 'www/device'), [dev], { signWith });
  const out = { name: 'musl', version: '1.2.3', data: await rawTarGz([{ name: 'lib/x', type: 'symlink', linkname: '../../etc/passwd' }]) };
  await writeMirror(join(root, 'www/linkout'), [out], { signWith });
  server = await serveDir(join(root, 'www'));
});
test.after(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

test('a hit returns exactly the published bytes', async () => {
  logs = [];
  const got = await fetchVerifiedBinary(opts());
  assert.ok(got?.equals(pkg.data));
  assert.match(logs.join('\n'), new RegExp(`using verified musl-1\\.2\\.3-\\w{8}-bin\\.tar\\.gz \\(sha256 ${sha256(pkg.data)}`));
});

test('a miss returns null: other config hash, other arch, unknown package', async () => {
  assert.is(await fetchVerifiedBinary(opts({ configHash: '00000000' })), null);
  assert.is(await fetchVerifiedBinary(opts({ arch: 'arm64' })), null);
  assert.is(await fetchVerifiedBinary(opts({ name: 'zlib' })), null);
  assert.is(await fetchVerifiedBinary(opts({ mirrorUrl: `${server.url}/nothing-here` })), null);
});

test('without index.json the first-letter path is used (package and metadata signatures still required)', async () => {
  const got = await fetchVerifiedBinary(opts({ mirrorUrl: `${server.url}/noindex` }));
  assert.ok(got?.equals(pkg.data));
  assert.ok(server.requests.includes(`/noindex/${mirrorPath('musl', binaryFilename('musl', '1.2.3', fixtureConfigHash(pkg)))}`));
});

test('failed verification warns with the reason and returns null: nothing unsigned or mislabelled gets through', async () => {
  const cases: [string, RegExp][] = [
    ['corrupt', new RegExp(`warning: .*expected sha256 ${sha256(pkg.data)} .*actual ${sha256(Buffer.from('garbage'))}`)],
    ['meta', /warning: .*(Version: expected 1\.2\.3, got 1\.2\.4|\.sha256\.sig does not match)/],
    ['device', /warning: .*unsupported entry type block-device/],
    ['linkout', /warning: .*symlink to "\.\.\/\.\.\/etc\/passwd" points outside/],
    ['unsigned', /warning: .*index\.json is not signed/],
    ['foreign', /warning: .*signature verification failed for .*index\.json/],
  ];
  for (const [label, re] of cases) {
    logs = [];
    assert.is(await fetchVerifiedBinary(opts({ mirrorUrl: `${server.url}/${label}` })), null, label);
    assert.match(logs.join('\n'), re, label);
  }
});

test('an unreachable mirror is a miss with a warning, not a failure', async () => {
  logs = [];
  const closed = await serveDir(root);
  await closed.close();
  assert.is(await fetchVerifiedBinary(opts({ mirrorUrl: closed.url })), null);
  assert.match(logs.join('\n'), /warning: binary mirror: not using/);
});

test('the cache dir saves the second download', async () => {
  const cacheDir = join(root, 'cache');
  const count = () => server.requests.filter((r) => r.startsWith('/m/') && r.endsWith('-bin.tar.gz')).length;
  await fetchVerifiedBinary(opts({ cacheDir }));
  const n = count();
  logs = [];
  const again = await fetchVerifiedBinary(opts({ cacheDir }));
  assert.ok(again?.equals(pkg.data));
  assert.is(count(), n);
  assert.match(logs.join('\n'), /from cache/);
});

test('dist uses a mirror only with a key: BINARY_MIRROR_KEY or binary_mirror_key, else one log line and a build', async () => {
  const conf = join(root, 'conf-key');
  await mkdir(conf, { recursive: true });
  const pub = join(conf, 'cosign.pub');
  await writeFile(pub, keys.publicKey.export({ type: 'spki', format: 'pem' }).toString());
  await writeFile(join(conf, 'nokey'), '[buckos]\nbinary_mirror = http://127.0.0.1:1/b\nprefer_binaries = true\n');
  await writeFile(join(conf, 'withkey'), '[buckos]\nbinary_mirror = http://127.0.0.1:1/b\nprefer_binaries = true\nbinary_mirror_key = cosign.pub\n');
  const lines: string[] = [];
  const log = (m: string) => lines.push(m);
  assert.is(await trustedMirrorForBuild({ env: {}, configPath: join(conf, 'nokey'), log }), null);
  assert.equal(lines, [
    'binary mirror http://127.0.0.1:1/b ignored: no key is set (set BINARY_MIRROR_KEY=<cosign.pub> or binary_mirror_key in [buckos] of .buckconfig); building from source',
  ]);
  const t = await trustedMirrorForBuild({ env: {}, configPath: join(conf, 'withkey'), log });
  assert.is(t?.url, 'http://127.0.0.1:1/b');
  assert.is(t?.keyPath, pub);
  assert.is(t?.keyId, keyId(keys.publicKey));
  assert.match(t!.keyId, /^sha256:[0-9a-f]{16}$/);
  const e = await trustedMirrorForBuild({
    env: { BINARY_MIRROR: '/srv/m', BINARY_MIRROR_KEY: join(conf, 'missing.pub') },
    configPath: join(conf, 'nokey'),
    log,
  }).catch((x: Error) => x);
  assert.match(String((e as Error).message), /binary mirror key .*missing\.pub: cannot read public key/);
  assert.is(await trustedMirrorForBuild({ env: {}, configPath: join(conf, 'absent'), log }), null);
});

test('mirror settings: $BINARY_MIRROR, or binary_mirror with prefer_binaries = true', async () => {
  const conf = join(root, 'conf');
  await mkdir(conf, { recursive: true });
  await writeFile(join(conf, 'on'), '[buckos]\nbinary_mirror = http://127.0.0.1:1/binaries\nprefer_binaries = true\n');
  await writeFile(join(conf, 'off'), '[buckos]\nbinary_mirror = http://127.0.0.1:1/binaries\n');
  assert.equal(await readBinaryMirrorSetting(join(conf, 'on')), {
    binaryMirror: 'http://127.0.0.1:1/binaries',
    preferBinaries: true,
    configPath: join(conf, 'on'),
  });
  assert.is(await binaryMirrorForBuild({ env: {}, configPath: join(conf, 'on') }), 'http://127.0.0.1:1/binaries');
  assert.equal(await readBinaryMirrorSetting(join(conf, 'absent')), { binaryMirror: null, preferBinaries: false, configPath: null });
  assert.is(await binaryMirrorForBuild({ env: {}, configPath: join(conf, 'on') }), 'http://127.0.0.1:1/binaries');
  assert.is(await binaryMirrorForBuild({ env: {}, configPath: join(conf, 'off') }), null);
  assert.is(await binaryMirrorForBuild({ env: { BINARY_MIRROR: '/srv/m' }, configPath: join(conf, 'off') }), '/srv/m');
});

test.run();
