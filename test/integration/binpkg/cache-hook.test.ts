// fetchVerifiedBinary, the stage2 hook, against a real HTTP server.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { binaryMirrorForBuild, fetchVerifiedBinary, readBinaryMirrorSetting } from '../../../pipeline/binpkg/cache-hook.ts';
import { binaryFilename, mirrorPath } from '../../../pipeline/binpkg/naming.ts';
import { sha256 } from '../../../pipeline/util/hash.ts';
import { fixtureConfigHash, packageBytes, rawTarGz, serveDir, tempDir, writeMirror, type FixturePackage } from '../../fixtures/binpkg/helpers.ts';

const test = suite('binpkg/cache-hook');
let root = '';
let server: Awaited<ReturnType<typeof serveDir>>;
let pkg: FixturePackage;
let logs: string[] = [];

const opts = (over: Partial<Parameters<typeof fetchVerifiedBinary>[0]> = {}) => ({
  mirrorUrl: `${server.url}/m`, name: pkg.name, version: pkg.version, configHash: fixtureConfigHash(pkg), arch: 'amd64',
  log: (m: string) => logs.push(m), ...over,
});

test.before(async () => {
  root = await tempDir('hook');
  pkg = { name: 'musl', version: '1.2.3', data: await packageBytes({ 'lib/libc.so': 'libc\n' }) };
  await writeMirror(join(root, 'www/m'), [pkg]);
  await writeMirror(join(root, 'www/noindex'), [pkg], { index: false });
  await writeMirror(join(root, 'www/stale'), [pkg]);
  await writeFile(join(root, 'www/stale/index.json'), '{"total": 0, "packages": [], "by_name": {}}\n');
  const corrupt = join(root, 'www/corrupt');
  await writeMirror(corrupt, [pkg]);
  await writeFile(join(corrupt, mirrorPath('musl', binaryFilename('musl', '1.2.3', fixtureConfigHash(pkg)))), Buffer.from('garbage'));
  await writeMirror(join(root, 'www/meta'), [pkg], { tamper: (_p, t) => t.replace('# Version: 1.2.3', '# Version: 1.2.4') });
  const dev = { name: 'musl', version: '1.2.3', data: await rawTarGz([{ name: 'dev/sda', type: 'block-device' }]) };
  await writeMirror(join(root, 'www/device'), [dev]);
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

test('without index.json, or with a stale one, the first-letter path is used', async () => {
  const got = await fetchVerifiedBinary(opts({ mirrorUrl: `${server.url}/noindex` }));
  assert.ok(got?.equals(pkg.data));
  assert.ok((await fetchVerifiedBinary(opts({ mirrorUrl: `${server.url}/stale` })))?.equals(pkg.data));
  assert.ok(server.requests.includes(`/noindex/${mirrorPath('musl', binaryFilename('musl', '1.2.3', fixtureConfigHash(pkg)))}`));
});

test('failed verification warns with expected vs actual and returns null', async () => {
  logs = [];
  assert.is(await fetchVerifiedBinary(opts({ mirrorUrl: `${server.url}/corrupt` })), null);
  assert.match(logs.join('\n'), new RegExp(`warning: .*expected sha256 ${sha256(pkg.data)} .*actual ${sha256(Buffer.from('garbage'))}`));
  logs = [];
  assert.is(await fetchVerifiedBinary(opts({ mirrorUrl: `${server.url}/meta` })), null);
  assert.match(logs.join('\n'), /warning: .*Version: expected 1\.2\.3, got 1\.2\.4/);
  logs = [];
  assert.is(await fetchVerifiedBinary(opts({ mirrorUrl: `${server.url}/device` })), null);
  assert.match(logs.join('\n'), /warning: .*unsupported entry type block-device/);
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

test('mirror settings: $BINARY_MIRROR, or binary_mirror with prefer_binaries = true', async () => {
  const conf = join(root, 'conf');
  await mkdir(conf, { recursive: true });
  await writeFile(join(conf, 'on'), '[buckos]\nbinary_mirror = http://127.0.0.1:1/binaries\nprefer_binaries = true\n');
  await writeFile(join(conf, 'off'), '[buckos]\nbinary_mirror = http://127.0.0.1:1/binaries\n');
  assert.equal(await readBinaryMirrorSetting(join(conf, 'on')), { binaryMirror: 'http://127.0.0.1:1/binaries', preferBinaries: true, configPath: join(conf, 'on') });
  assert.equal(await readBinaryMirrorSetting(join(conf, 'absent')), { binaryMirror: null, preferBinaries: false, configPath: null });
  assert.is(await binaryMirrorForBuild({ env: {}, configPath: join(conf, 'on') }), 'http://127.0.0.1:1/binaries');
  assert.is(await binaryMirrorForBuild({ env: {}, configPath: join(conf, 'off') }), null);
  assert.is(await binaryMirrorForBuild({ env: { BINARY_MIRROR: '/srv/m' }, configPath: join(conf, 'off') }), '/srv/m');
});

test.run();
