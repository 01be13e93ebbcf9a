// Upstream signature checks with the real gpg/gpgv: keys generated here in a
// throwaway home, a file signed with one, then a good signature, an altered
// file, an altered signature, an HTML page served as the signature, another
// signer, and a key whose fingerprint is not the pinned one. Plus the
// repo's own pin: musl's key verifies the key file's fingerprint.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signatureKind, verifySignature } from '../../../pipeline/steps/signature.ts';
import { fetchSources } from '../../../pipeline/steps/fetch.ts';
import { openStepLog } from '../../../pipeline/steps/step-log.ts';
import { packEntries } from '../../../pipeline/util/tar.ts';
import { sha256 } from '../../../pipeline/util/hash.ts';
import { sourceCachePath } from '../../../pipeline/cache/source-cache.ts';
import type { RunResult, RunSpec } from '../../../pipeline/engine/engine.ts';
import { FakeEngine } from '../graph/fake-engine.ts';
import { existsSync } from 'node:fs';
import { loadPlan } from '../../../pipeline/plan/load.ts';
import type { SourceSpec } from '../../../pipeline/plan/types.ts';

const home = mkdtempSync(join(tmpdir(), 'osforge-gpg-test-'));
const gpg = (...args: string[]) =>
  execFileSync('gpg', ['--batch', '--homedir', home, '--passphrase', '', '--pinentry-mode', 'loopback', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
const keyOf = (uid: string) => {
  gpg('--quick-gen-key', uid, 'ed25519', 'sign', 'never');
  const fpr = /^fpr:::::::::([0-9A-F]{40}):$/m.exec(gpg('--with-colons', '--list-keys', uid).toString())![1]!;
  return { uid, fpr, armored: gpg('--armor', '--export', fpr) };
};
const upstream = keyOf('Upstream Release <release@example.invalid>');
const other = keyOf('Someone Else <other@example.invalid>');
const data = join(home, 'pkg-1.0.tar.gz');
writeFileSync(data, 'release tarball bytes\n');
const signWith = (fpr: string, file = data) => gpg('--armor', '--local-user', fpr, '--detach-sign', '--output', '-', file);
const goodSig = signWith(upstream.fpr);

const spec = (key = upstream.armored, fingerprint = upstream.fpr): SourceSpec => ({
  name: 'pkg',
  version: '1.0',
  file: 'pkg-1.0.tar.gz',
  sha256: 'a'.repeat(64),
  urls: [],
  signature: { file: 'pkg-1.0.tar.gz.asc', urls: [], key: 'keys/pkg.asc', fingerprint: fingerprint.replace(/(.{4})/g, '$1 ').trim(), keyArmored: key },
});
const refused = async (s: SourceSpec, file: string, sig: Buffer, why: RegExp) => {
  try {
    await verifySignature(s, file, sig, 'https://example.invalid/pkg-1.0.tar.gz.asc');
    assert.unreachable('accepted');
  } catch (err) {
    const e = err as Error & { code?: string };
    assert.is(e.code, 'SIGNATURE_INVALID');
    assert.match(e.message, why);
    // The seed's message: file, signature, its URL, the expected key.
    for (const want of [
      /^File: +pkg-1\.0\.tar\.gz/m,
      /^Signature: +pkg-1\.0\.tar\.gz\.asc/m,
      /^Signature URL: https:\/\/example\.invalid/m,
      new RegExp(`^Expected key: +${s.signature!.fingerprint.replace(/ /g, '')}`, 'm'),
    ]) {
      assert.match(e.message, want);
    }
  }
};

test.after(() => {
  try {
    execFileSync('gpgconf', ['--homedir', home, '--kill', 'gpg-agent']);
  } catch {
    /* no agent */
  }
  rmSync(home, { recursive: true, force: true });
});

test('a good signature by the pinned key verifies, naming the signer', async () => {
  const r = await verifySignature(spec(), data, goodSig);
  assert.equal(r, { status: 'verified', file: 'pkg-1.0.tar.gz.asc', fingerprint: upstream.fpr });
});

test("an altered file is refused as a BAD signature, with gpgv's output", async () => {
  const altered = join(home, 'altered.tar.gz');
  writeFileSync(altered, 'release tarball bytes, altered\n');
  await refused(spec(), altered, goodSig, /BAD signature[\s\S]*GPG output:[\s\S]*BAD signature from "Upstream Release/);
});

test('an altered signature is refused', async () => {
  // Flip one character of the base64 body (the line after the armour header and blank line).
  const lines = goodSig.toString().split('\n');
  const i = lines.findIndex((l, n) => n > 1 && l.length > 20);
  lines[i] = (lines[i]![10] === 'A' ? 'B' : 'A') + lines[i]!.slice(1);
  await refused(spec(), data, Buffer.from(lines.join('\n')), /FAILED for pkg-1\.0\.tar\.gz/);
});

test('an HTML error page served as the signature is "not a signature"', async () => {
  const page = Buffer.from('<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head><body>Not Found</body></html>\n');
  assert.is(signatureKind(page), 'not a signature');
  assert.is(signatureKind(goodSig), 'armored');
  await refused(spec(), data, page, /: not a signature\n[\s\S]*starts with "<!DOCTYPE html>/);
});

test('a signature by another key is refused', async () => {
  await refused(spec(), data, signWith(other.fpr), /made by a key other than the pinned one/);
});

test('a key file whose fingerprint is not the pinned one is refused', async () => {
  await refused(spec(upstream.armored, other.fpr), data, goodSig, new RegExp(`signed by ${upstream.fpr}, not the pinned key`));
});

test("the repo pins musl's signing key by its real fingerprint", () => {
  const musl = loadPlan(join(import.meta.dirname, '../../../images')).sources.musl!;
  assert.ok(musl.signature, 'musl pins its upstream signature');
  const shown = execFileSync('gpg', ['--batch', '--homedir', home, '--with-colons', '--show-keys'], { input: musl.signature!.keyArmored }).toString();
  assert.match(shown, new RegExp(`^fpr:::::::::${musl.signature!.fingerprint.replace(/ /g, '')}:$`, 'm'));
  assert.ok(readFileSync(join(import.meta.dirname, '../../../images', musl.signature!.key)).equals(musl.signature!.keyArmored));
});

/** A Debian archive serving the source package's files: the tarball and its .asc. */
class Archive extends FakeEngine {
  constructor(private readonly files: Record<string, Buffer>) {
    super();
  }
  override async run(_spec: RunSpec): Promise<RunResult> {
    const entries = Object.entries(this.files).map(([name, d]) => ({ path: `out/${name}`, type: 'file' as const, mode: 0o644, data: d }));
    return { exitCode: 0, log: [], outputs: new Map([['/out', await packEntries([{ path: 'out', type: 'directory', mode: 0o755 }, ...entries], 0)]]) };
  }
}

const debianSpec = (): SourceSpec => {
  const tarball = readFileSync(data);
  return { ...spec(), sha256: sha256(tarball), debian: { package: 'pkg', version: '1.0-1', file: 'pkg-1.0.tar.gz' } };
};
const fetchWith = async (files: Record<string, Buffer>, cacheRoot = mkdtempSync(join(home, 'cache-'))) => ({
  cacheRoot,
  got: await fetchSources({
    engine: new Archive(files),
    baseRef: 'base',
    specs: [debianSpec()],
    cacheRoot,
    runId: 'r',
    log: openStepLog(join(home, 'logs'), 'fetch'),
  }),
});

test('fetch: the signature that comes with the Debian source package is verified, recorded and cached', async () => {
  const { got, cacheRoot } = await fetchWith({ 'pkg-1.0.tar.gz': readFileSync(data), 'pkg-1.0.tar.gz.asc': goodSig });
  assert.equal(got.get('pkg')!.signature, { status: 'verified', file: 'pkg-1.0.tar.gz.asc', fingerprint: upstream.fpr });
  assert.ok(existsSync(sourceCachePath(cacheRoot, 'pkg-1.0.tar.gz.asc')), 'the verified signature is cached');
  // Offline from here: both files come from the cache, and the signature is checked again.
  const again = await fetchSources({
    engine: new Archive({}),
    baseRef: 'base',
    specs: [debianSpec()],
    cacheRoot,
    runId: 'r',
    log: openStepLog(join(home, 'logs'), 'fetch'),
  });
  assert.is(again.get('pkg')!.signature!.status, 'verified');
});

test('fetch: a tampered signature stops the fetch and is not cached; a missing one too', async () => {
  const tampered = Buffer.from(goodSig.toString().replace(/\n([A-Za-z0-9+/]{20})/, (_m, b64: string) => `\n${b64[0] === 'A' ? 'B' : 'A'}${b64.slice(1)}`));
  const cacheRoot = mkdtempSync(join(home, 'cache-'));
  try {
    await fetchWith({ 'pkg-1.0.tar.gz': readFileSync(data), 'pkg-1.0.tar.gz.asc': tampered }, cacheRoot);
    assert.unreachable('accepted a tampered signature');
  } catch (err) {
    assert.is((err as { code?: string }).code, 'SIGNATURE_INVALID');
  }
  assert.not.ok(existsSync(sourceCachePath(cacheRoot, 'pkg-1.0.tar.gz.asc')), 'a refused signature is not cached');
  try {
    await fetchWith({ 'pkg-1.0.tar.gz': readFileSync(data) });
    assert.unreachable('accepted a source without its pinned signature');
  } catch (err) {
    assert.match((err as Error).message, /signature file could not be fetched/);
  }
});

test('fetch: BUCKOS_VERIFY_SIGNATURES=0 skips the check and records that it did', async () => {
  process.env.BUCKOS_VERIFY_SIGNATURES = '0';
  try {
    const { got } = await fetchWith({ 'pkg-1.0.tar.gz': readFileSync(data) });
    assert.equal(got.get('pkg')!.signature, { status: 'disabled', file: 'pkg-1.0.tar.gz.asc', fingerprint: upstream.fpr });
  } finally {
    delete process.env.BUCKOS_VERIFY_SIGNATURES;
  }
});

test.run();
