// The stage2 hook (fetchVerifiedBinary) against a TUF mirror over HTTP: a
// hit is the published bytes read as TUF targets; a root not signed by the
// mirror key, a tampered index or a swapped package make it build instead.
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fetchVerifiedBinary } from '../../../pipeline/binpkg/cache-hook.ts';
import { upload } from '../../../pipeline/binpkg/publish.ts';
import { fixtureConfigHash, packageBytes, serveDir, tempDir, writeMirror, type FixturePackage } from '../../fixtures/binpkg/helpers.ts';

const test = suite('binpkg/tuf-cache-hook');
const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
let root = '';
let server: Awaited<ReturnType<typeof serveDir>>;
let pkg: FixturePackage;
let logs: string[] = [];

async function tufMirror(label: string, signKey = key.privateKey): Promise<string> {
  const src = join(root, 'src', label);
  await writeMirror(src, [pkg], { index: false, signWith: signKey });
  const dir = join(root, 'www', label);
  await upload({ source: src, mirror: dir, useRsync: false, generateIndexOnly: false, dryRun: false, signKey, log: () => {} });
  return dir;
}

const opts = (label: string, over: Partial<Parameters<typeof fetchVerifiedBinary>[0]> = {}) => ({
  mirrorUrl: `${server.url}/${label}`,
  name: pkg.name,
  version: pkg.version,
  configHash: fixtureConfigHash(pkg),
  arch: 'amd64',
  publicKey: key.publicKey,
  log: (m: string) => logs.push(m),
  ...over,
});

test.before(async () => {
  root = await tempDir('tuf-hook');
  pkg = { name: 'musl', version: '1.2.3', data: await packageBytes({ 'lib/libc.so': 'libc\n' }) };
  await tufMirror('good');
  await tufMirror('foreign', other.privateKey);
  const idx = await tufMirror('index');
  writeFileSync(join(idx, 'index.json'), readFileSync(join(idx, 'index.json'), 'utf8').replace('"total": 1', '"total": 2'));
  const swapped = await tufMirror('swapped');
  const f = readdirSync(join(swapped, 'm')).find((n) => n.endsWith('-bin.tar.gz'))!;
  const bytes = readFileSync(join(swapped, 'm', f));
  bytes[bytes.length - 2]! ^= 0xff;
  writeFileSync(join(swapped, 'm', f), bytes);
  server = await serveDir(join(root, 'www'));
});
test.after(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

test('a hit returns exactly the published bytes, read as TUF targets; with a cache dir the trusted metadata is kept there', async () => {
  logs = [];
  const cacheDir = join(root, 'cache');
  const got = await fetchVerifiedBinary(opts('good', { cacheDir }));
  assert.ok(got?.equals(pkg.data));
  assert.match(
    logs.join('\n'),
    /using verified musl-1\.2\.3-\w{8}-bin\.tar\.gz \(sha256 [0-9a-f]{64}, TUF targets v1: length and sha256 of package and metadata ok\)/,
  );
  assert.equal(readdirSync(join(cacheDir, '.tuf')).length, 1);
});

test('refused, and built instead: a root the key did not sign, an index or a package other than the signed ones', async () => {
  for (const [label, re] of [
    ['foreign', /root: .*root\.json \(version 1\) is not signed by the key/],
    ['index', /index\.json does not match its TUF target/],
    ['swapped', /the package does not match its TUF target/],
  ] as const) {
    logs = [];
    assert.is(await fetchVerifiedBinary(opts(label)), null, label);
    assert.match(logs.join('\n'), new RegExp(`warning: binary mirror: not using .*${re.source}.*; building from source`), `${label}: ${logs.join('\n')}`);
  }
});

test.run();
