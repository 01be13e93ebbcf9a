// The TUF mirror through the CLI, as a user and a cron job drive it: keys
// from `osforge keygen`, `upload --sign-key` (with --timestamp-expiry,
// --refresh-timestamp, --new-root-key), and `install` trusting a root by
// --root, by .buckconfig, by --key, or on first use only when asked; the
// downgrade rule as printed. Every refusal is one line with a fix.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadSigningKey } from '../../../pipeline/crypto/keyfile.ts';
import { packageBytes, runCli, serveDir, snapshot, tempDir, writeMirror } from '../../fixtures/binpkg/helpers.ts';

const test = suite('binpkg/tuf-cli');
const PASSWORD = { COSIGN_PASSWORD: 'test-password-123' };
let root = '';
let server: Awaited<ReturnType<typeof serveDir>>;
const k = (n: string, ext: 'key' | 'pub') => join(root, `${n}.${ext}`);
const mirror = () => join(root, 'www', 'm');
const oneLine = (stderr: string) =>
  stderr
    .trim()
    .split('\n')
    .filter((l) => /^error/.test(l));

async function signedSource(label: string, keyName: string, pkgs: { name: string; version: string; text: string }[]): Promise<string> {
  const { privateKey } = await loadSigningKey({ path: k(keyName, 'key'), from: '--key' }, { ...process.env, ...PASSWORD });
  const dir = join(root, 'src', label);
  await writeMirror(dir, await Promise.all(pkgs.map(async (p) => ({ name: p.name, version: p.version, data: await packageBytes({ 'bin/hello': p.text }) }))), {
    index: false,
    signWith: privateKey,
  });
  return dir;
}

test.before(async () => {
  root = await tempDir('tuf-cli');
  for (const n of ['k1', 'k2']) {
    const kg = await runCli(['keygen', '--output-key-prefix', join(root, n)], { env: PASSWORD });
    assert.is(kg.code, 0, kg.stderr);
  }
  await mkdir(join(root, 'www'), { recursive: true });
  server = await serveDir(join(root, 'www'));
});
test.after(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

test('upload --sign-key writes TUF metadata (timestamp expiry settable); install trusts --root, .buckconfig, --key, or first use only on request', async () => {
  const src = await signedSource('v1', 'k1', [{ name: 'hello', version: '1.0', text: 'hello 1\n' }]);
  const bad = await runCli(['upload', '--source', src, '--mirror', mirror(), '--sign-key', k('k1', 'key'), '--timestamp-expiry', '0'], { env: PASSWORD });
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /invalid --timestamp-expiry "0"/);
  const u = await runCli(['upload', '--source', src, '--mirror', mirror(), '--sign-key', k('k1', 'key'), '--timestamp-expiry', '2d'], { env: PASSWORD });
  assert.is(u.code, 0, u.stderr);
  assert.match(u.stdout, /TUF metadata: root v1, targets v1, snapshot v1, timestamp v1/);
  const ts = JSON.parse(readFileSync(join(mirror(), 'timestamp.json'), 'utf8')).signed;
  const days = (Date.parse(ts.expires) - Date.now()) / 86_400_000;
  assert.ok(days > 1.9 && days <= 2, `${days}`);
  const pinned = join(root, 'pinned-root.json');
  await writeFile(pinned, readFileSync(join(mirror(), 'root.json')));
  const base = ['install', 'hello', '--mirror-url', `${server.url}/m`, '--arch', 'amd64'];

  // Nothing to trust it by: refused, and told how.
  const none = await runCli([...base, '--prefix', join(root, 'p0'), '--cache-dir', join(root, 'c0')]);
  assert.is(none.code, 2, none.stderr);
  assert.equal(oneLine(none.stderr).length, 1);
  assert.match(none.stderr, /is a TUF repository, but no root is trusted for it yet/);
  assert.match(none.stderr, /--root root\.json .*--key cosign\.pub.*--trust-on-first-use/);
  assert.not.ok(existsSync(join(root, 'p0')));

  // A --root that is missing, or not a TUF root: one line naming it.
  const missingRoot = await runCli([...base, '--prefix', join(root, 'p0'), '--cache-dir', join(root, 'c0'), '--root', join(root, 'nope.json')]);
  assert.is(missingRoot.code, 1);
  assert.equal(oneLine(missingRoot.stderr).length, 1);
  assert.match(missingRoot.stderr, /error \[CONFIG_INVALID\]: cannot read the pinned TUF root .*nope\.json \(--root or binary_mirror_root\): ENOENT/);
  const notRoot = await runCli([...base, '--prefix', join(root, 'p0'), '--cache-dir', join(root, 'c0'), '--root', join(mirror(), 'timestamp.json')]);
  assert.is(notRoot.code, 1);
  assert.match(notRoot.stderr, /timestamp\.json is not a valid, self-signed TUF root/);
  assert.not.match(notRoot.stderr, /\n\s+at /, 'no stack trace');
  assert.not.ok(existsSync(join(root, 'p0')));

  const viaRoot = await runCli([...base, '--prefix', join(root, 'p1'), '--cache-dir', join(root, 'c1'), '--root', pinned]);
  assert.is(viaRoot.code, 0, viaRoot.stderr);
  assert.match(viaRoot.stderr, /TUF: .* root v1 \(from pinned root .*pinned-root\.json\)/);
  assert.match(viaRoot.stdout, /^installed hello 1\.0/m);

  const cfgDir = join(root, 'cfg');
  await mkdir(cfgDir, { recursive: true });
  await writeFile(join(cfgDir, '.buckconfig'), '[buckos]\nbinary_mirror_root = ../pinned-root.json\n');
  const viaCfg = await runCli([...base, '--prefix', join(root, 'p2'), '--cache-dir', join(root, 'c2')], { cwd: cfgDir });
  assert.is(viaCfg.code, 0, viaCfg.stderr);
  assert.match(viaCfg.stderr, /from pinned root .*pinned-root\.json/);

  const viaKey = await runCli([...base, '--prefix', join(root, 'p3'), '--cache-dir', join(root, 'c3'), '--key', k('k1', 'pub')]);
  assert.is(viaKey.code, 0, viaKey.stderr);
  assert.match(viaKey.stderr, /signed by --key/);
  const wrongKey = await runCli([...base, '--prefix', join(root, 'p4'), '--cache-dir', join(root, 'c4'), '--key', k('k2', 'pub')]);
  assert.is(wrongKey.code, 1);
  assert.match(wrongKey.stderr, /root: .*root\.json \(version 1\) is not signed by the key --key/);

  const tofu = await runCli([...base, '--prefix', join(root, 'p5'), '--cache-dir', join(root, 'c5'), '--trust-on-first-use']);
  assert.is(tofu.code, 0, tofu.stderr);
  assert.match(tofu.stderr, /trusted on first use \(root keys [0-9a-f]{16}\)/);
});

test('--refresh-timestamp re-signs timestamp.json alone; a second identical upload writes nothing', async () => {
  const before = snapshot(mirror());
  const src = await signedSource('v1-again', 'k1', [{ name: 'hello', version: '1.0', text: 'hello 1\n' }]);
  const again = await runCli(['upload', '--source', src, '--mirror', mirror(), '--sign-key', k('k1', 'key')], { env: PASSWORD });
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stdout, /\(unchanged\)/);
  assert.equal(snapshot(mirror()), before);
  const r = await runCli(['upload', '--refresh-timestamp', '--mirror', mirror(), '--sign-key', k('k1', 'key'), '--timestamp-expiry', '36h'], { env: PASSWORD });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /refreshed .*timestamp\.json: version 2, expires/);
  const after = snapshot(mirror());
  const changed = Object.keys(after).filter((p) => after[p] !== before[p]);
  assert.equal(changed, ['timestamp.json']);
  const withSource = await runCli(['upload', '--refresh-timestamp', '--source', src, '--mirror', mirror(), '--sign-key', k('k1', 'key')], { env: PASSWORD });
  assert.is(withSource.code, 2);
  assert.match(withSource.stderr, /--refresh-timestamp cannot be combined with --source/);
});

test('rotation by --new-root-key is followed by a prefix that trusts the old root; downgrades are refused unpinned and printed with --version', async () => {
  const prefix = join(root, 'p1');
  const src2 = await signedSource('v2', 'k1', [{ name: 'hello', version: '2.0', text: 'hello 2\n' }]);
  const rot = await runCli(['upload', '--source', src2, '--mirror', mirror(), '--sign-key', k('k1', 'key'), '--new-root-key', k('k2', 'key')], {
    env: PASSWORD,
  });
  assert.is(rot.code, 0, rot.stderr);
  assert.match(rot.stdout, /TUF metadata: root v2, targets v2, snapshot v2, timestamp v3/);
  assert.ok(readdirSync(mirror()).includes('2.root.json'));
  const base = ['install', 'hello', '--mirror-url', `${server.url}/m`, '--arch', 'amd64', '--prefix', prefix, '--cache-dir', join(root, 'c1')];
  const up = await runCli(base);
  assert.is(up.code, 0, up.stderr);
  assert.match(up.stderr, /root v2 \(from trusted state /);
  assert.match(up.stdout, /^upgraded hello 2\.0/m);
  const down = await runCli([...base, '--version', '1.0']);
  assert.is(down.code, 0, down.stderr);
  assert.match(down.stdout, /^downgraded hello from 2\.0 to hello 1\.0 .* as --version asked$/m);
  assert.is(readFileSync(join(prefix, 'bin/hello'), 'utf8'), 'hello 1\n');
});

test.run();
