// The binary mirror as a TUF repository, end to end with real packages,
// `osforge upload`, a real HTTP server on 127.0.0.1 and file:// mirrors: the
// happy path and its layout, idempotent re-upload, rising versions, and
// TUF's attacks (rollback, freeze, mix-and-match, a threshold not met,
// arbitrary packages, key rotation) each refused with the prefix untouched.
import { generateKeyPairSync } from 'node:crypto';
import { cpSync, existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Metadata, MetadataKind } from '@tufjs/models';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { installBinary, type InstallRequest } from '../../../pipeline/binpkg/installer.ts';
import { upload } from '../../../pipeline/binpkg/publish.ts';
import { canonicalize } from '@tufjs/canonical-json';
import { tufKey, tufSigner } from '../../../pipeline/binpkg/tuf/keys.ts';
import { signDeterministic } from '../../../pipeline/crypto/deterministic-ecdsa.ts';
import { sha256 } from '../../../pipeline/util/hash.ts';
import { OsforgeError } from '../../../pipeline/errors.ts';
import { packageBytes, refusal, serveDir, snapshot, tempDir, writeMirror, type FixturePackage } from '../../fixtures/binpkg/helpers.ts';

const test = suite('binpkg/tuf-mirror');
const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const foreign = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
let root = '';
let server: Awaited<ReturnType<typeof serveDir>>;
let hello1: FixturePackage;
let hello2: FixturePackage;

test.before(async () => {
  root = await tempDir('tuf');
  hello1 = { name: 'hello', version: '1.0', data: await packageBytes({ 'bin/hello': 'hello 1\n' }) };
  hello2 = { name: 'hello', version: '2.0', data: await packageBytes({ 'bin/hello': 'hello 2\n' }) };
  await mkdir(join(root, 'www'), { recursive: true });
  server = await serveDir(join(root, 'www'));
});
test.after(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

/** Signed packages in a source dir (as `osforge package --sign-key` leaves them). */
async function source(label: string, pkgs: FixturePackage[]): Promise<string> {
  const dir = join(root, 'src', label);
  await writeMirror(dir, pkgs, { index: false, signWith: key.privateKey });
  return dir;
}

async function publish(mirror: string, pkgs: FixturePackage[], over: Partial<Parameters<typeof upload>[0]> = {}): Promise<void> {
  await upload({
    source: await source(`${mirror.replace(/\W/g, '_')}-${Math.random()}`, pkgs),
    mirror,
    useRsync: false,
    generateIndexOnly: false,
    dryRun: false,
    signKey: key.privateKey,
    log: () => {},
    ...over,
  });
}

const www = (label: string) => join(root, 'www', label);
const url = (label: string) => `${server.url}/${label}`;

function req(mirrorUrl: string, prefix: string, over: Partial<InstallRequest> = {}): InstallRequest {
  return { name: 'hello', arch: 'amd64', mirrorUrl, prefix, cacheDir: join(prefix, '..', 'cache'), downloadOnly: false, log: () => {}, ...over };
}

async function refusedWith(r: InstallRequest, re: RegExp): Promise<OsforgeError> {
  const before = existsSync(r.prefix) ? snapshot(r.prefix) : null;
  const err = await refusal(installBinary(r));
  assert.match(err.message, re, err.message);
  assert.not.match(err.message, /\n/, 'one line');
  assert.equal(existsSync(r.prefix) ? snapshot(r.prefix) : null, before, 'the prefix changed');
  return err;
}

function resign(file: string, signer: typeof key.privateKey, edit: (signed: Record<string, unknown>) => void = () => {}): void {
  const json = JSON.parse(readFileSync(file, 'utf8'));
  edit(json.signed);
  const kind = json.signed._type as MetadataKind;
  const md = (Metadata.fromJSON as (k: MetadataKind, d: unknown) => Metadata<never>)(kind, json);
  md.sign(tufSigner(signer), false);
  writeFileSync(file, `${JSON.stringify(md.toJSON(), null, 2)}\n`);
}

test('upload writes and signs TUF metadata beside index.json; install over HTTP and file:// verifies it; re-upload changes nothing; versions rise', async () => {
  await publish(www('good'), [hello1]);
  assert.equal(readdirSync(www('good')).sort(), [
    '1.root.json',
    '1.snapshot.json',
    '1.targets.json',
    'h',
    'index.json',
    'index.json.sig',
    'root.json',
    'timestamp.json',
  ]);
  const targets = JSON.parse(readFileSync(join(www('good'), '1.targets.json'), 'utf8')).signed.targets as Record<string, { length: number }>;
  assert.equal(
    Object.keys(targets)
      .sort()
      .map((p) => p.replace(/-[0-9a-f]{8}-/, '-X-')),
    ['h/hello-1.0-X-bin.tar.gz', 'h/hello-1.0-X-bin.tar.gz.sha256', 'index.json'],
  );
  const ts = JSON.parse(readFileSync(join(www('good'), 'timestamp.json'), 'utf8')).signed;
  const days = (Date.parse(ts.expires) - Date.now()) / 86_400_000;
  assert.ok(days > 6.9 && days <= 7, `timestamp expires in ${days} days`);

  const pinned = join(root, 'good-root.json');
  cpSync(join(www('good'), 'root.json'), pinned);
  const logs: string[] = [];
  const prefix = join(root, 'p-good');
  const r = await installBinary(req(url('good'), prefix, { tufRoot: pinned, log: (m) => logs.push(m) }));
  assert.is(r.action, 'installed');
  assert.is(readFileSync(join(prefix, 'bin/hello'), 'utf8'), 'hello 1\n');
  assert.match(logs.join('\n'), /TUF: .*root v1 \(from pinned root .*\), timestamp v1 .*snapshot v1, targets v1: signatures, versions and expiry ok/);
  const state = join(prefix, 'var/db/pkg/.tuf');
  assert.equal(readdirSync(join(state, readdirSync(state)[0]!)).sort(), ['mirror', 'root.json', 'snapshot.json', 'targets.json', 'timestamp.json']);

  const fileR = await installBinary(req(`file://${www('good')}`, join(root, 'p-file'), { tufRoot: pinned }));
  assert.is(fileR.action, 'installed');

  // An upload without the key would leave targets.json naming an old index.json: refused, even if index.json.sig was removed.
  rmSync(join(www('good'), 'index.json.sig'));
  const unsignedUpload = await refusal(publish(www('good'), [hello2], { signKey: undefined }));
  assert.match(unsignedUpload.message, /uploading without --sign-key would leave a signature that no longer matches/);
  await publish(www('good'), [hello1]); // puts index.json.sig back (it is not a TUF file, so nothing else changes)
  // Re-upload of the same packages: nothing rewritten.
  const before = snapshot(www('good'));
  const mtime = statSync(join(www('good'), 'timestamp.json')).mtimeMs;
  await publish(www('good'), [hello1]);
  assert.equal(snapshot(www('good')), before);
  assert.is(statSync(join(www('good'), 'timestamp.json')).mtimeMs, mtime);
  // A new package: versions 2.
  await publish(www('good'), [hello2]);
  assert.ok(existsSync(join(www('good'), '2.targets.json')) && existsSync(join(www('good'), '2.snapshot.json')));
  assert.is(JSON.parse(readFileSync(join(www('good'), 'timestamp.json'), 'utf8')).signed.version, 2);
  const up = await installBinary(req(url('good'), prefix, { tufRoot: pinned }));
  assert.is(up.action, 'upgraded');
  assert.is(readFileSync(join(prefix, 'bin/hello'), 'utf8'), 'hello 2\n');
});

test('rollback: metadata older than what the prefix trusts is refused, naming role and versions', async () => {
  await publish(www('rb'), [hello1]);
  const old = join(root, 'rb-v1');
  cpSync(www('rb'), old, { recursive: true });
  await publish(www('rb'), [hello2]);
  const pinned = join(www('rb'), '1.root.json');
  const prefix = join(root, 'p-rb');
  await installBinary(req(url('rb'), prefix, { tufRoot: pinned }));
  // The mirror (or a proxy) now serves the old, validly signed set.
  for (const f of ['timestamp.json', 'index.json', 'index.json.sig']) cpSync(join(old, f), join(www('rb'), f));
  await refusedWith(
    req(url('rb'), prefix, { tufRoot: pinned }),
    /^rollback: .* serves timestamp version 1, older than version 2 already trusted here; nothing was installed$/,
  );
  // Without TUF state, a fresh prefix pinned to the same root still only sees version 1 (nothing to roll back from), and that is fine.
  const fresh = await installBinary(req(url('rb'), join(root, 'p-rb-fresh'), { tufRoot: pinned }));
  assert.is(fresh.entry.version, '1.0');
});

test('freeze: an expired timestamp is refused with its date; --refresh-timestamp fixes it', async () => {
  const past = new Date(Date.now() - 3 * 86_400_000);
  await publish(www('frozen'), [hello1], { now: past, timestampExpiryMs: 3600_000 });
  const pinned = join(www('frozen'), 'root.json');
  const prefix = join(root, 'p-frozen');
  const err = await refusedWith(
    req(url('frozen'), prefix, { tufRoot: pinned }),
    /^freeze: timestamp\.json of .* \(version 1\) expired at \d{4}-\d\d-\d\dT[\d:]+Z, before now/,
  );
  assert.match(String(err.context.hint), /--refresh-timestamp/);
  await upload({
    source: '',
    mirror: www('frozen'),
    refreshTimestamp: true,
    signKey: key.privateKey,
    useRsync: false,
    generateIndexOnly: false,
    dryRun: false,
    log: () => {},
  });
  assert.is(JSON.parse(readFileSync(join(www('frozen'), 'timestamp.json'), 'utf8')).signed.version, 2);
  assert.is((await installBinary(req(url('frozen'), prefix, { tufRoot: pinned }))).action, 'installed');
});

test('freeze: a mirror that stops re-signing is refused once the timestamp a prefix trusts has expired', async () => {
  // The timestamp expires 3 s from now: the first install takes it, the mirror then serves the same files for ever.
  await publish(www('stale'), [hello1], { now: new Date(Date.now() - 3600_000 + 3000), timestampExpiryMs: 3600_000 });
  const pinned = join(www('stale'), 'root.json');
  const prefix = join(root, 'p-stale');
  assert.is((await installBinary(req(url('stale'), prefix, { tufRoot: pinned }))).action, 'installed');
  await new Promise((r) => setTimeout(r, 3500));
  await refusedWith(req(url('stale'), prefix, { tufRoot: pinned, version: '1.0' }), /^freeze: timestamp\.json of .* \(version 1\) expired at /);
});

test('mix-and-match: a snapshot or targets from another publish is refused', async () => {
  await publish(www('mix'), [hello1]);
  await publish(www('mix-other'), [hello2]);
  const pinned = join(www('mix'), 'root.json');
  const saved = readFileSync(join(www('mix'), '1.snapshot.json'));
  cpSync(join(www('mix-other'), '1.snapshot.json'), join(www('mix'), '1.snapshot.json'));
  await refusedWith(
    req(url('mix'), join(root, 'p-mix'), { tufRoot: pinned }),
    /^mix-and-match: (the snapshot on .* does not match what timestamp\.json version 1 states|.*1\.snapshot\.json is longer than the timestamp metadata states)/,
  );
  // A snapshot re-signed with the right key but naming other targets: not the one timestamp.json states (length or hash differ).
  const other = JSON.parse(readFileSync(join(www('mix-other'), '1.snapshot.json'), 'utf8'));
  const own = JSON.parse(saved.toString());
  own.signed.meta['targets.json'].hashes.sha256 = other.signed.meta['targets.json'].hashes.sha256;
  writeFileSync(join(www('mix'), '1.snapshot.json'), JSON.stringify(own, null, 2) + '\n');
  resign(join(www('mix'), '1.snapshot.json'), key.privateKey);
  await refusedWith(
    req(url('mix'), join(root, 'p-mix'), { tufRoot: pinned }),
    /^mix-and-match: (the snapshot on .* does not match what timestamp\.json version 1 states \(Expected (hash [0-9a-f]{64} but got [0-9a-f]{64}|length \d+ but got \d+)\)|.*1\.snapshot\.json is longer than the timestamp metadata states)/,
  );
  writeFileSync(join(www('mix'), '1.snapshot.json'), saved);
  cpSync(join(www('mix-other'), '1.targets.json'), join(www('mix'), '1.targets.json'));
  await refusedWith(
    req(url('mix'), join(root, 'p-mix'), { tufRoot: pinned }),
    /^mix-and-match: (targets\.json on .* does not match what snapshot\.json version 1 states|.*1\.targets\.json is longer than the snapshot metadata states)/,
  );
  // A targets file of the same version from another publish, padded to the stated length: the hash refuses it.
  const t = readFileSync(join(www('mix'), '1.targets.json'));
  const len = JSON.parse(saved.toString()).signed.meta['targets.json'].length as number;
  writeFileSync(join(www('mix'), '1.targets.json'), Buffer.concat([t.subarray(0, Math.min(t.length, len)), Buffer.alloc(Math.max(0, len - t.length), 0x20)]));
  await refusedWith(
    req(url('mix'), join(root, 'p-mix'), { tufRoot: pinned }),
    /^mix-and-match: targets\.json on .* does not match what snapshot\.json version 1 states \(Expected hash/,
  );
});

test('a threshold not met: metadata signed by a key the root does not name is refused', async () => {
  await publish(www('thr'), [hello1]);
  const pinned = join(www('thr'), 'root.json');
  resign(join(www('thr'), 'timestamp.json'), foreign.privateKey);
  await refusedWith(
    req(url('thr'), join(root, 'p-thr'), { tufRoot: pinned }),
    /^threshold not met: timestamp\.json of .* \(version 1\) carries 0 valid signature\(s\) from the keys the trusted root names, and 1 are required/,
  );
});

test('arbitrary package: an index or package the targets do not sign is never installed', async () => {
  await publish(www('arb'), [hello1]);
  const pinned = join(www('arb'), 'root.json');
  // The attacker swaps in their own package and an index naming it, even validly cosign-signed with a stolen index key.
  const evil: FixturePackage = { name: 'hello', version: '9.0', data: await packageBytes({ 'bin/hello': 'evil\n' }) };
  const dir = join(root, 'arb-evil');
  await writeMirror(dir, [hello1, evil], { signWith: key.privateKey });
  for (const f of readdirSync(join(dir, 'h'))) cpSync(join(dir, 'h', f), join(www('arb'), 'h', f));
  cpSync(join(dir, 'index.json'), join(www('arb'), 'index.json'));
  cpSync(join(dir, 'index.json.sig'), join(www('arb'), 'index.json.sig'));
  // index.json is read no further than the length targets.json states for it.
  const err = await refusedWith(req(url('arb'), join(root, 'p-arb'), { tufRoot: pinned }), /arb\/index\.json is larger than the \d+ bytes limit/);
  assert.match(String(err.context.hint), /the length targets\.json states/);
  // The same length with other bytes: refused by the signed sha256.
  await publish(www('arb2'), [hello1]);
  const text = readFileSync(join(www('arb2'), 'index.json'), 'utf8');
  writeFileSync(join(www('arb2'), 'index.json'), text.replace('"total": 1', '"total": 7'));
  await refusedWith(
    req(url('arb2'), join(root, 'p-arb'), { tufRoot: join(www('arb2'), 'root.json') }),
    /index\.json does not match its TUF target: targets\.json version 1 states \d+ bytes, sha256 [0-9a-f]{64}; got \d+ bytes/,
  );
  writeFileSync(join(www('arb2'), 'index.json'), text);
  // A package swapped under its signed name, same length: refused by its signed sha256.
  const pkgFile = readdirSync(join(www('arb2'), 'h')).find((f) => f.endsWith('-bin.tar.gz'))!;
  const bytes = readFileSync(join(www('arb2'), 'h', pkgFile));
  bytes[bytes.length - 3]! ^= 0xff;
  writeFileSync(join(www('arb2'), 'h', pkgFile), bytes);
  await refusedWith(
    req(url('arb2'), join(root, 'p-arb'), { tufRoot: join(www('arb2'), 'root.json'), cacheDir: join(root, 'arb2-cache') }),
    /the package does not match its TUF target: targets\.json states \d+ bytes, sha256 [0-9a-f]{64}; got/,
  );
});

test('key rotation: a new root signed by the old key is accepted; one signed only by the new key is refused', async () => {
  await publish(www('rot'), [hello1]);
  const pinned = join(root, 'rot-root-v1.json');
  cpSync(join(www('rot'), 'root.json'), pinned);
  const prefix = join(root, 'p-rot');
  await installBinary(req(url('rot'), prefix, { tufRoot: pinned }));
  const next = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  await publish(www('rot'), [hello1], { newRootKey: next.privateKey });
  assert.ok(existsSync(join(www('rot'), '2.root.json')));
  // The old key no longer signs anything but root v2.
  const err = await refusal(publish(www('rot'), [hello2]));
  assert.match(err.message, /--sign-key .* is not a targets key of the mirror's root\.json version 2/);
  await publish(www('rot'), [hello2], { signKey: next.privateKey });
  const logs: string[] = [];
  const r = await installBinary(req(url('rot'), prefix, { tufRoot: pinned, log: (m) => logs.push(m) }));
  assert.is(r.entry.version, '2.0');
  assert.match(logs.join('\n'), /root v2/);

  // A rotation not signed by the trusted root key: refused.
  await publish(www('rot-bad'), [hello1]);
  const pinnedBad = join(root, 'rot-bad-root-v1.json');
  cpSync(join(www('rot-bad'), 'root.json'), pinnedBad);
  const thief = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const v1 = JSON.parse(readFileSync(pinnedBad, 'utf8'));
  const k = tufKey(thief.publicKey);
  v1.signed.version = 2;
  v1.signed.keys = { [k.keyID]: k.toJSON() };
  for (const role of Object.values(v1.signed.roles) as { keyids: string[] }[]) role.keyids = [k.keyID];
  writeFileSync(join(www('rot-bad'), '2.root.json'), JSON.stringify(v1));
  resign(join(www('rot-bad'), '2.root.json'), thief.privateKey);
  await refusedWith(
    req(url('rot-bad'), join(root, 'p-rot-bad'), { tufRoot: pinnedBad }),
    /^threshold not met: root\.json of .* \(version 2\) carries 0 valid signature\(s\) .* and 1 are required/,
  );
});

test("--key: a served root that claims the key's id for another key is refused", async () => {
  // The attacker signs a whole mirror with their key, filed under the keyid of the key the user trusts.
  const attacker = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  await upload({
    source: await source('forged', [hello2]),
    mirror: www('forged'),
    useRsync: false,
    generateIndexOnly: false,
    dryRun: false,
    signKey: attacker.privateKey,
    log: () => {},
  });
  const trustedId = tufKey(key.publicKey).keyID;
  const attackerId = tufKey(attacker.publicKey).keyID;
  const signAs = (file: string) => {
    const json = JSON.parse(readFileSync(file, 'utf8').replaceAll(attackerId, trustedId));
    const bytes = Buffer.from(canonicalize(json.signed));
    json.signatures = [{ keyid: trustedId, sig: signDeterministic(attacker.privateKey, bytes).toString('hex') }];
    writeFileSync(file, JSON.stringify(json));
  };
  for (const f of ['root.json', '1.targets.json']) signAs(join(www('forged'), f));
  cpSync(join(www('forged'), 'root.json'), join(www('forged'), '1.root.json'));
  const meta = (f: string) => {
    const b = readFileSync(join(www('forged'), f));
    return { length: b.length, hashes: { sha256: sha256(b) } };
  };
  const snap = JSON.parse(readFileSync(join(www('forged'), '1.snapshot.json'), 'utf8'));
  snap.signed.meta['targets.json'] = { version: 1, ...meta('1.targets.json') };
  writeFileSync(join(www('forged'), '1.snapshot.json'), JSON.stringify(snap));
  signAs(join(www('forged'), '1.snapshot.json'));
  const ts = JSON.parse(readFileSync(join(www('forged'), 'timestamp.json'), 'utf8'));
  ts.signed.meta['snapshot.json'] = { version: 1, ...meta('1.snapshot.json') };
  writeFileSync(join(www('forged'), 'timestamp.json'), JSON.stringify(ts));
  signAs(join(www('forged'), 'timestamp.json'));
  // Control: the forged set is self-consistent, so trusting its root on first use installs it.
  assert.is((await installBinary(req(url('forged'), join(root, 'p-forged-tofu'), { trustOnFirstUse: true }))).entry.version, '2.0');
  const pub = key.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  await refusedWith(req(url('forged'), join(root, 'p-forged'), { publicKey: pub }), /^root: .*root\.json \(version 1\) is not signed by the key --key/);
});

test('downgrades: an unpinned install never goes back a version; --version does, and says so', async () => {
  // The case, on a mirror signed the older way (index.json.sig only): an old index with its valid signature.
  const legacy = www('legacy');
  await writeMirror(legacy, [hello1, hello2], { signWith: key.privateKey });
  const pub = key.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const prefix = join(root, 'p-down');
  assert.is((await installBinary(req(url('legacy'), prefix, { publicKey: pub }))).entry.version, '2.0');
  await rm(legacy, { recursive: true });
  await writeMirror(legacy, [hello1], { signWith: key.privateKey });
  await refusedWith(
    req(url('legacy'), prefix, { publicKey: pub }),
    /^refusing to downgrade hello from 2\.0 \(installed\) to 1\.0, the newest amd64 build on .*: an install without --version never downgrades$/,
  );
  assert.is(readFileSync(join(prefix, 'bin/hello'), 'utf8'), 'hello 2\n');
  const r = await installBinary(req(url('legacy'), prefix, { publicKey: pub, version: '1.0' }));
  assert.is(r.action, 'downgraded');
  assert.is(readFileSync(join(prefix, 'bin/hello'), 'utf8'), 'hello 1\n');
});

test.run();
