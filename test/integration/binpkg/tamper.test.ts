// Corrupted packages, wrong metadata and signatures, served over HTTP: all
// refused before anything reaches the prefix or the cache.
import { generateKeyPairSync, sign } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { installBinary, type InstallRequest } from '../../../pipeline/binpkg/installer.ts';
import { binaryFilename, mirrorPath } from '../../../pipeline/binpkg/naming.ts';
import { signBlob } from '../../../pipeline/binpkg/signature.ts';
import { OsforgeError } from '../../../pipeline/errors.ts';
import { encodeSigFile, signFile } from '../../../pipeline/crypto/blob.ts';
import { sha256 } from '../../../pipeline/util/hash.ts';
import { fixtureConfigHash, packageBytes, runCli, serveDir, snapshot, tempDir, writeMirror, type FixturePackage } from '../../fixtures/binpkg/helpers.ts';

const test = suite('binpkg/tamper');
let root = '';
let server: Awaited<ReturnType<typeof serveDir>>;
let pkg: FixturePackage;
const keys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const pubPem = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const signBlobWith = (text: string) => signBlob(Buffer.from(text), keys.privateKey);

const fileOf = (p: FixturePackage) => mirrorPath(p.name, binaryFilename(p.name, p.version, fixtureConfigHash(p)));

/** A mirror named `label` holding `pkg`, with `edit` applied to its files afterwards. */
async function mirror(
  label: string,
  opts: { tamper?: (text: string) => string; after?: (dir: string) => Promise<void>; signed?: boolean } = {},
): Promise<string> {
  const dir = join(root, 'www', label);
  await writeMirror(dir, [pkg], { tamper: opts.tamper ? (_p, t) => opts.tamper!(t) : undefined, signWith: opts.signed ? keys.privateKey : undefined });
  await opts.after?.(dir);
  return `${server.url}/${label}`;
}

function req(mirrorUrl: string, over: Partial<InstallRequest> = {}): InstallRequest {
  return {
    name: 'hello',
    version: '1.0',
    arch: 'amd64',
    mirrorUrl,
    prefix: join(root, 'world/prefix'),
    cacheDir: join(root, 'world/cache'),
    downloadOnly: false,
    log: () => {},
    ...over,
  };
}

async function refused(r: InstallRequest, code: string, re: RegExp): Promise<void> {
  const world = join(root, 'world');
  const before = snapshot(world);
  let err: unknown;
  try {
    await installBinary(r);
  } catch (e) {
    err = e;
  }
  assert.instance(err, OsforgeError, 'expected a refusal');
  assert.is((err as OsforgeError).code, code, (err as Error).message);
  assert.match((err as Error).message, re, (err as Error).message);
  assert.equal(snapshot(world), before, 'prefix or cache changed');
}

test.before(async () => {
  root = await tempDir('tamper');
  pkg = { name: 'hello', version: '1.0', data: await packageBytes({ 'bin/hello': 'hello\n' }) };
  await mkdir(join(root, 'world/prefix'), { recursive: true });
  await writeFile(join(root, 'world/prefix/README'), 'pre-existing\n');
  server = await serveDir(join(root, 'www'));
});
test.after(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

test('the untampered package installs (control)', async () => {
  const url = await mirror('good');
  const prefix = join(root, 'control');
  await installBinary(req(url, { prefix, cacheDir: join(root, 'control-cache') }));
  assert.is(readFileSync(join(prefix, 'bin/hello'), 'utf8'), 'hello\n');
});

test('a corrupted package is refused, naming expected and actual sha256', async () => {
  const bad = Buffer.from(pkg.data);
  bad[bad.length - 5]! ^= 0xff;
  const url = await mirror('corrupt', { after: (d) => writeFile(join(d, fileOf(pkg)), bad) });
  await refused(req(url), 'SHA256_MISMATCH', new RegExp(`expected sha256 ${sha256(pkg.data)} \\(from its \\.sha256\\), actual ${sha256(bad)}`));
  const cli = await runCli([
    'install',
    'hello',
    '--version',
    '1.0',
    '--mirror-url',
    url,
    '--prefix',
    join(root, 'world/prefix'),
    '--arch',
    'amd64',
    '--cache-dir',
    join(root, 'world/cache'),
  ]);
  assert.is(cli.code, 1);
  assert.match(
    cli.stderr,
    /error \[SHA256_MISMATCH\]: hash mismatch for hello-1\.0-[0-9a-f]{8}-bin\.tar\.gz: expected sha256 [0-9a-f]{64} \(from its \.sha256\), actual [0-9a-f]{64}/,
  );
});

test('a package replaced together with its .sha256 still fails against index.json', async () => {
  const evil = await packageBytes({ 'bin/hello': 'evil\n' });
  const url = await mirror('swapped', {
    after: async (d) => {
      await writeFile(join(d, fileOf(pkg)), evil);
      const t = readFileSync(join(d, `${fileOf(pkg)}.sha256`), 'utf8');
      await writeFile(
        join(d, `${fileOf(pkg)}.sha256`),
        t.replace(/^[0-9a-f]{64}/, sha256(evil)).replace(/Content Hash: \w+/, `Content Hash: ${sha256(evil).slice(0, 8)}`),
      );
    },
  });
  await refused(req(url), 'SHA256_MISMATCH', new RegExp(`index expects sha256 ${sha256(pkg.data)}, actual ${sha256(evil)}`));
});

test('wrong metadata lines are refused, each naming expected vs actual', async () => {
  const cases: [string, (t: string) => string, RegExp][] = [
    ['version', (t) => t.replace('# Version: 1.0', '# Version: 2.0'), /Version: expected 1\.0, got 2\.0/],
    ['package', (t) => t.replace('# Package: hello', '# Package: hellx').replace(':hello', ':hellx'), /Package: expected hello, got hellx/],
    ['config', (t) => t.replace(/# Config Hash: \w+/, '# Config Hash: 00000000'), new RegExp(`Config Hash: expected ${fixtureConfigHash(pkg)}, got 00000000`)],
    ['arch', (t) => t.replace('//stage2/amd64:', '//stage2/arm64:'), /Target arch: expected amd64, got arm64/],
    ['content', (t) => t.replace(/# Content Hash: \w+/, '# Content Hash: 00000000'), /content hash mismatch .*says 00000000, actual [0-9a-f]{8}/],
    ['filename', (t) => t.replace(/  hello-1\.0-/, '  hellp-1.0-'), /filename: expected hello-1\.0-/],
    ['missing', (t) => t.replace(/# Target:.*\n/, ''), /missing "# Target:" line/],
  ];
  for (const [label, tamper, re] of cases) await refused(req(await mirror(`meta-${label}`, { tamper })), 'SHA256_MISMATCH', re);
});

test('signatures: valid accepted; tampered, foreign, missing or unverifiable refused', async () => {
  const sigOf = (key: typeof keys.privateKey, data: Buffer) => sign('sha256', data, key).toString('base64') + '\n';
  const signedUrl = await mirror('signed', { signed: true });
  const ok = join(root, 'signed-prefix');
  const logs: string[] = [];
  await installBinary(req(signedUrl, { prefix: ok, cacheDir: join(root, 'signed-cache'), publicKey: pubPem, log: (m) => logs.push(m) }));
  assert.ok(existsSync(join(ok, 'bin/hello')));
  assert.match(logs.join('\n'), /index .*index\.json: signature ok/);
  assert.match(logs.join('\n'), /signatures of package and metadata ok/);

  await refused(req(signedUrl), 'USAGE', /is signed .* but no public key was given/);
  const foreign = await mirror('foreign-sig', { signed: true, after: (d) => writeFile(join(d, `${fileOf(pkg)}.sig`), sigOf(other.privateKey, pkg.data)) });
  await refused(
    req(foreign, { publicKey: pubPem }),
    'SHA256_MISMATCH',
    /signature verification failed for hello-1\.0-\w+-bin\.tar\.gz: .*\.sig does not match the package/,
  );
  const garbage = await mirror('garbage-sig', { signed: true, after: (d) => writeFile(join(d, `${fileOf(pkg)}.sig`), 'not base64 at all!!\n') });
  await refused(req(garbage, { publicKey: pubPem }), 'SHA256_MISMATCH', /signature verification failed/);
  // Unsigned packages behind a signed index, and an unsigned index.
  const unsignedPkg = await mirror('unsigned-pkg', {
    signed: true,
    after: async (d) => {
      await rm(join(d, `${fileOf(pkg)}.sig`));
      await rm(join(d, `${fileOf(pkg)}.sha256.sig`));
    },
  });
  await refused(req(unsignedPkg, { publicKey: pubPem }), 'SHA256_MISMATCH', /has no signature .*\.sig but a public key was given/);
  const bytesOnly = await mirror('bytes-only', { signed: true, after: (d) => rm(join(d, `${fileOf(pkg)}.sha256.sig`)) });
  await refused(req(bytesOnly, { publicKey: pubPem }), 'SHA256_MISMATCH', /has no signature .*\.sha256\.sig/);
  await refused(req(await mirror('unsigned'), { publicKey: pubPem }), 'SHA256_MISMATCH', /index\.json is not signed \(no index\.json\.sig\)/);
  const badIndex = await mirror('bad-index-sig', {
    signed: true,
    after: (d) => writeFile(join(d, 'index.json.sig'), sigOf(other.privateKey, Buffer.from('x'))),
  });
  await refused(req(badIndex, { publicKey: pubPem }), 'SHA256_MISMATCH', /signature verification failed for .*index\.json/);

  const keyFile = join(root, 'cosign.pub');
  await writeFile(keyFile, pubPem);
  const cli = await runCli([
    'install',
    'hello',
    '--version',
    '1.0',
    '--mirror-url',
    signedUrl,
    '--prefix',
    join(root, 'signed-cli'),
    '--arch',
    'amd64',
    '--cache-dir',
    join(root, 'signed-cache2'),
    '--key',
    keyFile,
  ]);
  assert.is(cli.code, 0, cli.stderr);
  assert.match(cli.stderr, /signatures of package and metadata ok/);
});

test('a relabelled signed package (old version re-indexed as the new one) is refused', async () => {
  // The mirror operator holds a validly signed hello 1.0 and wants clients asking for 2.0 to get it.
  const v1 = pkg;
  const v2: FixturePackage = { name: 'hello', version: '2.0', data: await packageBytes({ 'bin/hello': 'hello 2\n' }) };
  const dir = join(root, 'www', 'relabel');
  await writeMirror(dir, [v1, v2], { signWith: keys.privateKey });
  const f1 = fileOf(v1);
  const f2 = fileOf(v2);
  // (a) the old files copied under the new name, signatures and all: the signed metadata names 1.0.
  for (const ext of ['', '.sha256', '.sig', '.sha256.sig']) await writeFile(join(dir, f2 + ext), readFileSync(join(dir, f1 + ext)));
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
  for (const e of index.packages)
    if (e.version === '2.0') Object.assign(e, { sha256: sha256(v1.data), file_hash: sha256(v1.data).slice(0, 8), size: v1.data.length });
  const reindexed = JSON.stringify(index, null, 2) + '\n';
  await writeFile(join(dir, 'index.json'), reindexed);
  await writeFile(join(dir, 'index.json.sig'), signBlobWith(reindexed)); // even with a validly re-signed index
  const url = `${server.url}/relabel`;
  await refused(
    req(url, { version: '2.0', publicKey: pubPem }),
    'SHA256_MISMATCH',
    /metadata of .* does not match the package requested: filename: expected hello-2\.0-\w+-bin\.tar\.gz, got hello-1\.0-/,
  );
  // (b) the metadata rewritten to say 2.0: its signature no longer matches.
  const text = readFileSync(join(dir, `${f1}.sha256`), 'utf8')
    .replaceAll(fixtureConfigHash(v1), fixtureConfigHash(v2))
    .replace('hello-1.0-', 'hello-2.0-')
    .replace('# Version: 1.0', '# Version: 2.0');
  await writeFile(join(dir, `${f2}.sha256`), text);
  await refused(req(url, { version: '2.0', publicKey: pubPem }), 'SHA256_MISMATCH', /\.sha256\.sig does not match its \.sha256 metadata/);
});

test('a .sig written by pipeline/sign verifies; a --key that is not a public key is a clear error', async () => {
  const url = await mirror('sign-module', {
    signed: true,
    after: async (d) => {
      const sig = await signFile(keys.privateKey, join(d, fileOf(pkg)));
      await writeFile(join(d, `${fileOf(pkg)}.sig`), encodeSigFile(sig.signature));
    },
  });
  const prefix = join(root, 'sign-module-prefix');
  await installBinary(req(url, { prefix, cacheDir: join(root, 'sign-module-cache'), publicKey: keys.publicKey }));
  assert.ok(existsSync(join(prefix, 'bin/hello')));
  const notAKey = join(root, 'not-a-key.pub');
  await writeFile(notAKey, 'hello\n');
  const cli = await runCli([
    'install',
    'hello',
    '--version',
    '1.0',
    '--mirror-url',
    url,
    '--prefix',
    join(root, 'world/prefix'),
    '--arch',
    'amd64',
    '--key',
    notAKey,
  ]);
  assert.is(cli.code, 1);
  assert.match(cli.stderr, /CONFIG_INVALID.*cannot load public key/);
});

test('a .sha256 without its package, or a package the index lists without files, is reported', async () => {
  const url = await mirror('missing-tar', { after: (d) => rm(join(d, fileOf(pkg))) });
  await refused(req(url), 'SOURCE_FETCH', /\.sha256 exists but .* does not/);
  const url2 = await mirror('missing-sum', { after: (d) => rm(join(d, `${fileOf(pkg)}.sha256`)) });
  await refused(req(url2), 'SOURCE_FETCH', /lists hello-1\.0-\w+-bin\.tar\.gz but .*\.sha256 is missing/);
});

test.run();
