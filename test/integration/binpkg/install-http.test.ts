// osforge install / uninstall against a real HTTP server on 127.0.0.1.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { installBinary, type InstallRequest } from '../../../pipeline/binpkg/installer.ts';
import { mirrorPath } from '../../../pipeline/binpkg/naming.ts';
import { sha256 } from '../../../pipeline/util/hash.ts';
import {
  fixtureConfigHash,
  packageBytes,
  runCli,
  serveDir,
  snapshot,
  tempDir,
  writeMirror,
  type FixturePackage,
  refusal,
} from '../../fixtures/binpkg/helpers.ts';

const test = suite('binpkg/install-http');
let root = '';
let server: Awaited<ReturnType<typeof serveDir>>;
const logs: string[] = [];

const pk = async (name: string, version: string, files: Record<string, string>, more: Partial<FixturePackage> = {}): Promise<FixturePackage> => ({
  name,
  version,
  data: await packageBytes(files),
  ...more,
});

let busyNew: FixturePackage;
let busyOld: FixturePackage;
let bashSsl: FixturePackage;
let bashPlain: FixturePackage;

function req(over: Partial<InstallRequest>): InstallRequest {
  return {
    name: 'busybox',
    arch: 'amd64',
    mirrorUrl: `${server.url}/m`,
    prefix: join(root, 'prefix'),
    cacheDir: join(root, 'cache'),
    downloadOnly: false,
    log: (m) => logs.push(m),
    ...over,
  };
}

test.before(async () => {
  root = await tempDir('install');
  busyNew = await pk('busybox', '1.36.1', { 'bin/busybox': 'busybox 1.36.1\n', 'share/busybox/new-only': 'n\n' });
  busyOld = await pk('busybox', '1.35.0', { 'bin/busybox': 'busybox 1.35.0\n', 'share/busybox/old-only': 'o\n' });
  bashSsl = await pk('bash', '5.3', { 'bin/bash': 'bash with ssl\n' }, { useFlags: ['ssl'] });
  bashPlain = await pk('bash', '5.3', { 'bin/bash': 'bash plain\n' });
  const vim = await pk('vim', '9.1.0', { 'bin/vim': 'vim\n' }, { arch: 'arm64' });
  await writeMirror(join(root, 'www/m'), [busyNew, busyOld, bashSsl, bashPlain, vim]);
  // The same packages at the top of a mirror that also carries sources: <url>/binaries/index.json.
  await writeMirror(join(root, 'www/top/binaries'), [busyNew]);
  await mkdir(join(root, 'www/top/sources'), { recursive: true });
  // No index at all: only the first-letter path works.
  await writeMirror(join(root, 'www/noindex'), [busyNew], { index: false });
  server = await serveDir(join(root, 'www'));
});
test.after(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

test('installs the newest version, says why, and records it in the VDB', async () => {
  const prefix = join(root, 'prefix');
  await mkdir(join(prefix, 'etc'), { recursive: true });
  await writeFile(join(prefix, 'etc/keep'), 'not ours\n');
  logs.length = 0;
  const r = await installBinary(req({}));
  assert.is(r.action, 'installed');
  assert.is(r.entry.version, '1.36.1');
  assert.match(logs.join('\n'), /no --version given: chose the newest of 1\.35\.0, 1\.36\.1, which is 1\.36\.1/);
  assert.is(readFileSync(join(prefix, 'bin/busybox'), 'utf8'), 'busybox 1.36.1\n');
  const vdb = join(prefix, 'var/db/pkg/busybox-1.36.1');
  assert.equal(readFileSync(join(vdb, 'CONTENTS'), 'utf8').split('\n'), [
    'dir /bin',
    `obj /bin/busybox ${sha256('busybox 1.36.1\n')} 15`,
    'dir /share',
    'dir /share/busybox',
    `obj /share/busybox/new-only ${sha256('n\n')} 2`,
    '',
  ]);
  const rec = JSON.parse(readFileSync(join(vdb, 'binpkg.json'), 'utf8'));
  assert.equal(
    [rec.name, rec.version, rec.arch, rec.config_hash, rec.sha256],
    ['busybox', '1.36.1', 'amd64', fixtureConfigHash(busyNew), sha256(busyNew.data)],
  );
  assert.equal(
    readdirSync(prefix).filter((n) => n.startsWith('.')),
    [],
  ); // no staging left behind
});

test('a second install of the same package is a no-op that downloads nothing', async () => {
  const prefix = join(root, 'prefix');
  const before = snapshot(prefix);
  const downloads = () => server.requests.filter((p) => p.endsWith('-bin.tar.gz')).length;
  const n = downloads();
  const r = await runCli([
    'install',
    'busybox',
    '--version',
    '1.36.1',
    '--mirror-url',
    `${server.url}/m`,
    '--prefix',
    prefix,
    '--arch',
    'amd64',
    '--cache-dir',
    join(root, 'cache'),
  ]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /already installed: busybox 1\.36\.1/);
  assert.is(downloads(), n);
  assert.equal(snapshot(prefix), before);
});

test('installing another version replaces the package and drops files only the old one had', async () => {
  const prefix = join(root, 'prefix');
  const r = await installBinary(req({ version: '1.35.0' }));
  // 1.35.0 replaces the newer 1.36.1 because --version asked for it, and is reported as the downgrade it is.
  assert.is(r.action, 'downgraded');
  assert.is(readFileSync(join(prefix, 'bin/busybox'), 'utf8'), 'busybox 1.35.0\n');
  assert.ok(existsSync(join(prefix, 'share/busybox/old-only')));
  assert.not.ok(existsSync(join(prefix, 'share/busybox/new-only')));
  assert.equal(readdirSync(join(prefix, 'var/db/pkg')), ['busybox-1.35.0']);
});

test('uninstall removes exactly the recorded files', async () => {
  const prefix = join(root, 'prefix');
  const r = await runCli(['uninstall', 'busybox', '--prefix', prefix]);
  assert.is(r.code, 0, r.stderr);
  assert.equal(snapshot(prefix), { etc: 'dir 755', 'etc/keep': `file 644 ${sha256('not ours\n')}` });
  const again = await runCli(['uninstall', 'busybox', '--prefix', prefix]);
  assert.is(again.code, 2);
  assert.match(again.stderr, /busybox is not installed/);
});

test('uninstall keeps a file changed since installation', async () => {
  const prefix = join(root, 'prefix-mod');
  await installBinary(req({ prefix, version: '1.36.1' }));
  await writeFile(join(prefix, 'bin/busybox'), 'edited by hand\n');
  const r = await runCli(['uninstall', 'busybox', '--prefix', prefix]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /keeping \/bin\/busybox: modified since install/);
  assert.equal(snapshot(prefix), { bin: 'dir 755', 'bin/busybox': `file 755 ${sha256('edited by hand\n')}` });
});

test('several configurations of one version: refused without --config-hash, exact with it', async () => {
  const e = await refusal(installBinary(req({ name: 'bash', version: '5.3', prefix: join(root, 'p-bash') })));
  assert.is(e.code, 'USAGE');
  assert.match(e.message, /2 configurations of bash 5\.3 \(amd64\) match/);
  assert.ok(e.message.includes(fixtureConfigHash(bashSsl)) && e.message.includes(fixtureConfigHash(bashPlain)), e.message);
  assert.not.ok(existsSync(join(root, 'p-bash')));
  const r = await installBinary(req({ name: 'bash', version: '5.3', configHash: fixtureConfigHash(bashSsl), prefix: join(root, 'p-bash') }));
  assert.is(r.action, 'installed');
  assert.is(readFileSync(join(root, 'p-bash/bin/bash'), 'utf8'), 'bash with ssl\n');
});

test('not found and --list say what is available', async () => {
  const nf = await runCli(['install', 'bsh', '--mirror-url', `${server.url}/m`, '--prefix', join(root, 'p-nf'), '--arch', 'amd64']);
  assert.is(nf.code, 1);
  assert.match(nf.stderr, /package "bsh" is not on .*available \(starting with "b"\): bash, busybox/);
  const arch = await refusal(installBinary(req({ name: 'vim', prefix: join(root, 'p-nf') })));
  assert.match(arch.message, /no amd64 build .* available: vim 9\.1\.0 \(arm64/);
  const cfg = await refusal(installBinary(req({ version: '1.36.1', configHash: 'deadbeef', prefix: join(root, 'p-nf') })));
  assert.match(cfg.message, new RegExp(`config hash mismatch.*expected config deadbeef; available: ${fixtureConfigHash(busyNew)}`));
  const list = await runCli(['install', 'busybox', '--list', '--mirror-url', `${server.url}/m`, '--arch', 'amd64']);
  assert.is(list.code, 0, list.stderr);
  assert.match(list.stdout, new RegExp(`1\\.36\\.1\\tamd64\\*\\tconfig ${fixtureConfigHash(busyNew)}[^\\n]*\\n  1\\.35\\.0`));
  assert.not.ok(existsSync(join(root, 'p-nf')));
});

test('the mirror comes from [buckos] binary_mirror of --config', async () => {
  const conf = join(root, 'buckconfig');
  await writeFile(conf, `[buckos]\nbinary_mirror = ${server.url}/m\nprefer_binaries = true\n`);
  const r = await runCli(['install', 'busybox', '--list', '--config', conf], { env: { BINARY_MIRROR: '' } });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /busybox on http:\/\/127\.0\.0\.1:\d+\/m:/);
  const none = await runCli(['install', 'busybox', '--config', join(root, 'missing.conf')], { env: { BINARY_MIRROR: '' } });
  assert.is(none.code, 2);
  assert.match(none.stderr, /no mirror: pass --mirror-url/);
});

test('--download-only verifies into the cache and leaves the prefix alone; the cache is reused', async () => {
  const cacheDir = join(root, 'cache-dl');
  const r = await installBinary(req({ version: '1.36.1', downloadOnly: true, cacheDir, prefix: join(root, 'p-dl') }));
  assert.is(r.action, 'downloaded');
  const rel = mirrorPath('busybox', `busybox-1.36.1-${fixtureConfigHash(busyNew)}-bin.tar.gz`);
  assert.ok(readFileSync(join(cacheDir, rel)).equals(busyNew.data));
  assert.ok(existsSync(join(cacheDir, `${rel}.sha256`)));
  assert.not.ok(existsSync(join(root, 'p-dl')));
  logs.length = 0;
  await installBinary(req({ version: '1.36.1', downloadOnly: true, cacheDir, prefix: join(root, 'p-dl') }));
  assert.match(logs.join('\n'), /\(from cache\)/);
});

test('mirrors without index.json, with binaries/index.json, and file:// URLs', async () => {
  const cfg = fixtureConfigHash(busyNew);
  const a = await installBinary(req({ mirrorUrl: `${server.url}/noindex`, version: '1.36.1', configHash: cfg, prefix: join(root, 'p-a') }));
  assert.is(a.action, 'installed');
  const noVersion = await refusal(installBinary(req({ mirrorUrl: `${server.url}/noindex`, prefix: join(root, 'p-a2') })));
  assert.match(noVersion.message, /has no index\.json/);
  const b = await installBinary(req({ mirrorUrl: `${server.url}/top`, prefix: join(root, 'p-b') }));
  assert.is(b.action, 'installed');
  const c = await installBinary(req({ mirrorUrl: pathToFileURL(join(root, 'www/m')).href, version: '1.36.1', prefix: join(root, 'p-c') }));
  assert.is(c.action, 'installed');
  assert.is(readFileSync(join(root, 'p-c/bin/busybox'), 'utf8'), 'busybox 1.36.1\n');
});

test('a file in the prefix that no package owns is not overwritten', async () => {
  const prefix = join(root, 'p-collide');
  await mkdir(join(prefix, 'bin'), { recursive: true });
  await writeFile(join(prefix, 'bin/busybox'), 'system busybox\n');
  const before = snapshot(prefix);
  const e = await refusal(installBinary(req({ version: '1.36.1', prefix })));
  assert.match(e.message, /\/bin\/busybox already exists and belongs to no installed package/);
  assert.equal(snapshot(prefix), before);
});

test.run();
