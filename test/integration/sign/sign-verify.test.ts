// Real filesystem, real git, real openssl: sign a small dist/, check every
// output with openssl and our verifier, then tamper with each kind of file.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { signDist } from '../../../pipeline/sign/sign-dist.ts';
import { verifyDist, type CheckResult } from '../../../pipeline/sign/verify-dist.ts';
import { encodePublicKey, generateKeyPair, type KeyPair } from '../../../pipeline/crypto/keys.ts';
import { pae, parseEnvelope } from '../../../pipeline/sign/dsse.ts';
import { isSignatureFile } from '../../../pipeline/sign/index.ts';
import { makeDist, makeRepo, TempDirs } from './fake-dist.ts';

const tmp = new TempDirs();
const keyPair: KeyPair = generateKeyPair();
const work = tmp.make('sign-it');
const pubPath = join(work, 'cosign.pub');
writeFileSync(pubPath, encodePublicKey(keyPair.publicKey));
const { repo, commit } = makeRepo(tmp.make('repo'));

async function signedDist(): Promise<string> {
  const { dist } = makeDist(commit, tmp.make('dist'));
  await signDist({ dist, keyPair, repo, releaseNotes: true });
  return dist;
}

/** openssl dgst -sha256 -verify cosign.pub -signature <(base64 -d file.sig) file */
function opensslVerify(file: string, sigB64: string, key = pubPath): boolean {
  const sigBin = join(work, 'sig.bin');
  writeFileSync(sigBin, Buffer.from(sigB64, 'base64'));
  return spawnSync('openssl', ['dgst', '-sha256', '-verify', key, '-signature', sigBin, file], { encoding: 'utf8' }).status === 0;
}

const failures = (rs: CheckResult[]) => rs.filter((r) => !r.ok).map((r) => `${r.file} ${r.check}: ${r.detail}`);

test('sign writes sig + bundle for every released file, and openssl accepts every .sig', async () => {
  const dist = await signedDist();
  const signed = ['RELEASE_NOTES.md', 'SHA256SUMS', 'buckos-0.2.0-amd64-rootfs.tar.gz', 'buckos-0.2.0-arm64-rootfs.tar.gz', 'manifest.json', 'sbom.spdx.json'];
  for (const f of signed) {
    const sig = readFileSync(join(dist, `${f}.sig`), 'utf8');
    assert.not.match(sig, /\n/);
    assert.ok(opensslVerify(join(dist, f), sig), `openssl verifies ${f}.sig`);
    const bundle = JSON.parse(readFileSync(join(dist, `${f}.sigstore.json`), 'utf8'));
    assert.is(bundle.mediaType, 'application/vnd.dev.sigstore.bundle.v0.3+json');
    assert.ok(opensslVerify(join(dist, f), bundle.messageSignature.signature), `openssl verifies the bundle signature of ${f}`);
    const digest = execFileSync('openssl', ['dgst', '-sha256', '-r', join(dist, f)], { encoding: 'utf8' }).split(' ')[0];
    assert.is(Buffer.from(bundle.messageSignature.messageDigest.digest, 'base64').toString('hex'), digest);
  }
  assert.equal(failures(await verifyDist(dist, keyPair.publicKey)), []);
});

test('openssl rejects a .sig for a tampered file and a signature from another key', async () => {
  const dist = await signedDist();
  const f = join(dist, 'SHA256SUMS');
  const sig = readFileSync(`${f}.sig`, 'utf8');
  const other = join(work, 'other.pub');
  writeFileSync(other, encodePublicKey(generateKeyPair().publicKey));
  assert.not.ok(opensslVerify(f, sig, other));
  appendFileSync(f, '\n');
  assert.not.ok(opensslVerify(f, sig));
});

test('provenance: one DSSE line, in-toto payload; openssl verifies the signature over the PAE', async () => {
  const dist = await signedDist();
  const text = readFileSync(join(dist, 'provenance.intoto.jsonl'), 'utf8');
  assert.is(text.split('\n').length, 2);
  const env = parseEnvelope(text);
  assert.is(env.payloadType, 'application/vnd.in-toto+json');
  assert.is(env.signatures[0]!.keyid, '');
  const payload = Buffer.from(env.payload, 'base64');
  const paeFile = join(work, 'pae.bin');
  writeFileSync(paeFile, pae(env.payloadType, payload));
  assert.ok(opensslVerify(paeFile, env.signatures[0]!.sig), 'openssl verifies DSSE over PAE');
  writeFileSync(paeFile, payload);
  assert.not.ok(opensslVerify(paeFile, env.signatures[0]!.sig), 'not over the bare payload');
  const st = JSON.parse(payload.toString());
  assert.is(st.predicateType, 'https://slsa.dev/provenance/v1');
  const names = st.subject.map((s: { name: string }) => s.name);
  assert.equal(names, [
    'RELEASE_NOTES.md',
    'SHA256SUMS',
    'buckos-0.2.0-amd64-rootfs.tar.gz',
    'buckos-0.2.0-arm64-rootfs.tar.gz',
    'manifest.json',
    'sbom.spdx.json',
  ]);
  for (const s of st.subject) {
    const digest = execFileSync('openssl', ['dgst', '-sha256', '-r', join(dist, s.name)], { encoding: 'utf8' }).split(' ')[0];
    assert.is(s.digest.sha256, digest, s.name);
  }
  assert.equal(st.predicate.buildDefinition.externalParameters.lockFile.name, 'images/lock.json');
  assert.equal(
    st.predicate.buildDefinition.externalParameters.configuration.map((c: { name: string }) => c.name),
    ['images/buckos.json'],
  );
});

test('reproducible: signing the same inputs twice gives identical SBOM, provenance and notes; only signature files differ', async () => {
  const a = await signedDist();
  const b = await signedDist();
  for (const f of ['sbom.spdx.json', 'provenance.intoto.jsonl', 'RELEASE_NOTES.md']) {
    assert.is(readFileSync(join(a, f), 'utf8'), readFileSync(join(b, f), 'utf8'), f);
  }
  const sig = 'SHA256SUMS.sig';
  assert.ok(isSignatureFile(sig));
  assert.is.not(readFileSync(join(a, sig), 'utf8'), readFileSync(join(b, sig), 'utf8'), 'ECDSA blob signatures are randomized');
  const notes = readFileSync(join(a, 'RELEASE_NOTES.md'), 'utf8');
  assert.match(notes, /^## 0\.2\.0 \(2023-03-04\)/);
  assert.match(notes, /signed releases/);
  assert.match(notes, /correct inittab/);
  assert.not.match(notes, /first boot/, 'only commits since the last tag');
  assert.not.match(notes, /\]\(/, 'no links to a guessed repository URL');
});

type Tamper = [string, (dist: string) => void, RegExp];
const tampers: Tamper[] = [
  ['artifact byte appended', (d) => appendFileSync(join(d, 'buckos-0.2.0-amd64-rootfs.tar.gz'), 'x'), /buckos-0\.2\.0-amd64-rootfs\.tar\.gz signature/],
  [".sig replaced by another file's", (d) => cpSync(join(d, 'SHA256SUMS.sig'), join(d, 'manifest.json.sig')), /manifest\.json signature: .*does not verify/],
  ['.sig deleted', (d) => rmSync(join(d, 'sbom.spdx.json.sig')), /sbom\.spdx\.json signature: .*missing/],
  [
    'bundle signature swapped',
    (d) => {
      const p = join(d, 'SHA256SUMS.sigstore.json');
      const b = JSON.parse(readFileSync(p, 'utf8'));
      b.messageSignature.signature = JSON.parse(readFileSync(join(d, 'manifest.json.sigstore.json'), 'utf8')).messageSignature.signature;
      writeFileSync(p, JSON.stringify(b));
    },
    /SHA256SUMS bundle: .*does not verify/,
  ],
  [
    'bundle digest edited',
    (d) => {
      const p = join(d, 'manifest.json.sigstore.json');
      const b = JSON.parse(readFileSync(p, 'utf8'));
      b.messageSignature.messageDigest.digest = Buffer.alloc(32).toString('base64');
      writeFileSync(p, JSON.stringify(b));
    },
    /manifest\.json bundle: .*messageDigest/,
  ],
  ['bundle made unparseable', (d) => writeFileSync(join(d, 'RELEASE_NOTES.md.sigstore.json'), '{"mediaType":'), /RELEASE_NOTES\.md bundle: .*not JSON/],
  [
    'provenance subject digest edited',
    (d) => {
      const p = join(d, 'provenance.intoto.jsonl');
      const env = JSON.parse(readFileSync(p, 'utf8'));
      const st = JSON.parse(Buffer.from(env.payload, 'base64').toString());
      st.subject[0].digest.sha256 = '0'.repeat(64);
      env.payload = Buffer.from(JSON.stringify(st)).toString('base64');
      writeFileSync(p, JSON.stringify(env) + '\n');
    },
    /provenance\.intoto\.jsonl provenance: DSSE signature does not verify/,
  ],
  ['provenance deleted', (d) => rmSync(join(d, 'provenance.intoto.jsonl')), /provenance\.intoto\.jsonl provenance: missing/],
  ['SHA256SUMS edited and re-listed', (d) => appendFileSync(join(d, 'SHA256SUMS'), `${'1'.repeat(64)}  ghost.img\n`), /SHA256SUMS (signature|provenance)/],
  ['sidecar edited', (d) => writeFileSync(join(d, 'buckos-0.2.0-arm64-rootfs.tar.gz.sha256'), '0'.repeat(64)), /arm64-rootfs\.tar\.gz\.sha256 checksum/],
  ['unsigned file added', (d) => writeFileSync(join(d, 'evil.sh'), 'rm -rf /'), /evil\.sh coverage/],
  [
    '.sig for no signed file',
    (d) => writeFileSync(join(d, 'install-me.sh.sig'), readFileSync(join(d, 'SHA256SUMS.sig'))),
    /^install-me\.sh\.sig coverage: a signature file, but install-me\.sh is not a signed file of this release$/,
  ],
  [
    '.sig with its "signed" file',
    (d) => {
      writeFileSync(join(d, 'install-me.sh'), 'curl | sh');
      writeFileSync(join(d, 'install-me.sh.sig'), 'MEUCIQ==');
    },
    /^install-me\.sh coverage: not covered/,
  ],
  ['.sigstore.json for no signed file', (d) => writeFileSync(join(d, 'x.sigstore.json'), '{}'), /^x\.sigstore\.json coverage: a signature file/],
  [
    '.sig of a sidecar',
    (d) => writeFileSync(join(d, 'buckos-0.2.0-amd64-rootfs.tar.gz.sha256.sig'), 'AA=='),
    /^buckos-0\.2\.0-amd64-rootfs\.tar\.gz\.sha256\.sig coverage/,
  ],
  ['.sig of a signature', (d) => writeFileSync(join(d, 'SHA256SUMS.sig.sig'), 'AA=='), /^SHA256SUMS\.sig\.sig coverage/],
  [
    '.sig in a subdirectory',
    (d) => {
      mkdirSync(join(d, 'extra'));
      writeFileSync(join(d, 'extra', 'SHA256SUMS.sig'), readFileSync(join(d, 'SHA256SUMS.sig')));
    },
    /^extra\/SHA256SUMS\.sig coverage/,
  ],
  ['sidecar of a file that is no artifact', (d) => writeFileSync(join(d, 'manifest.json.sha256'), '0'.repeat(64)), /^manifest\.json\.sha256 coverage/],
  [
    'artifact deleted with its signatures',
    (d) => {
      for (const s of ['', '.sig', '.sigstore.json', '.sha256']) rmSync(join(d, `buckos-0.2.0-arm64-rootfs.tar.gz${s}`));
    },
    /buckos-0\.2\.0-arm64-rootfs\.tar\.gz signature: missing/,
  ],
];

for (const [name, tamper, expected] of tampers) {
  test(`verify catches: ${name}`, async () => {
    const dist = await signedDist();
    assert.equal(failures(await verifyDist(dist, keyPair.publicKey)), [], 'clean before tampering');
    tamper(dist);
    const f = failures(await verifyDist(dist, keyPair.publicKey));
    assert.ok(f.length > 0, 'some check fails');
    assert.ok(
      f.some((l) => expected.test(l)),
      `expected ${expected} among:\n${f.join('\n')}`,
    );
  });
}

test('verify with a different public key fails every signature and the provenance', async () => {
  const dist = await signedDist();
  const f = failures(await verifyDist(dist, generateKeyPair().publicKey));
  assert.ok(f.some((l) => /provenance\.intoto\.jsonl provenance/.test(l)));
  assert.ok(f.some((l) => /SHA256SUMS signature/.test(l)));
  assert.ok(f.some((l) => /SHA256SUMS bundle: .*different key/.test(l)));
});

test('sign refuses a dist/ whose artifact does not match manifest/SHA256SUMS', async () => {
  const { dist } = makeDist(commit, tmp.make('dist'));
  appendFileSync(join(dist, 'buckos-0.2.0-amd64-rootfs.tar.gz'), 'corrupt');
  try {
    await signDist({ dist, keyPair, repo, releaseNotes: false });
    assert.unreachable('should refuse');
  } catch (err) {
    assert.match((err as Error).message, /refusing to sign/);
    assert.is((err as { code?: string }).code, 'SHA256_MISMATCH');
  }
});

async function signError(opts: Parameters<typeof signDist>[0]): Promise<Error & { code?: string }> {
  try {
    await signDist(opts);
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('signDist accepted the directory');
}

for (const stray of ['evil.sh', 'install-me.sh.sig', 'notes/extra.txt', 'SHA256SUMS.sha256']) {
  test(`sign refuses a dist/ holding ${stray}, names it, and writes nothing`, async () => {
    const { dist } = makeDist(commit, tmp.make('dist'));
    mkdirSync(join(dist, 'notes'));
    writeFileSync(join(dist, stray), 'stray');
    const before = readdirSync(dist).sort();
    const err = await signError({ dist, keyPair, repo, releaseNotes: true });
    assert.is(err.code, 'CONFIG_INVALID');
    assert.match(err.message, new RegExp(`^refusing to sign .*: 1 file\\(s\\) not listed in manifest\\.json: ${stray.replace(/\./g, '\\.')}$`));
    assert.match((err as { context?: { hint?: string } }).context?.hint ?? '', /remove them, or rebuild with `osforge dist`/);
    assert.equal(readdirSync(dist).sort(), before, 'nothing written');
  });
}

test('sign accepts its own outputs from an earlier run (re-signing), and names up to five strays', async () => {
  const dist = await signedDist();
  await signDist({ dist, keyPair, repo, releaseNotes: true });
  assert.equal(failures(await verifyDist(dist, keyPair.publicKey)), []);
  for (const n of ['a', 'b', 'c', 'd', 'e', 'f', 'g']) writeFileSync(join(dist, `${n}.txt`), n);
  const err = await signError({ dist, keyPair, repo, releaseNotes: true });
  assert.match(err.message, /7 file\(s\) not listed in manifest\.json: a\.txt, b\.txt, c\.txt, d\.txt, e\.txt and 2 more$/);
});

test('re-signing with --no-release-notes removes the stale notes and their signatures; verify passes', async () => {
  const dist = await signedDist();
  assert.ok(existsSync(join(dist, 'RELEASE_NOTES.md')));
  const logged: string[] = [];
  await signDist({ dist, keyPair, repo, releaseNotes: false, log: (l) => logged.push(l) });
  for (const f of ['RELEASE_NOTES.md', 'RELEASE_NOTES.md.sig', 'RELEASE_NOTES.md.sigstore.json']) {
    assert.not.ok(existsSync(join(dist, f)), `${f} removed`);
    assert.ok(logged.includes(`removed stale ${f}`), f);
  }
  assert.equal(failures(await verifyDist(dist, keyPair.publicKey)), []);
  // and back: notes again, still consistent
  await signDist({ dist, keyPair, repo, releaseNotes: true });
  assert.equal(failures(await verifyDist(dist, keyPair.publicKey)), []);
  assert.ok(existsSync(join(dist, 'RELEASE_NOTES.md.sig')));
});

test('re-signing with another key replaces every signature and the provenance', async () => {
  const dist = await signedDist();
  const other = generateKeyPair();
  await signDist({ dist, keyPair: other, repo, releaseNotes: true });
  assert.equal(failures(await verifyDist(dist, other.publicKey)), []);
  assert.ok(failures(await verifyDist(dist, keyPair.publicKey)).length > 0, 'the old key no longer verifies');
});

test('a stale notes file edited after signing fails verify; re-signing repairs it', async () => {
  const dist = await signedDist();
  appendFileSync(join(dist, 'RELEASE_NOTES.md'), 'edited\n');
  assert.ok(failures(await verifyDist(dist, keyPair.publicKey)).some((l) => /^RELEASE_NOTES\.md /.test(l)));
  await signDist({ dist, keyPair, repo, releaseNotes: true });
  assert.equal(failures(await verifyDist(dist, keyPair.publicKey)), []);
});

test('verify and sign on a missing or non-directory dist: one-line error naming it', async () => {
  const missing = join(tmp.make('gone'), 'dist');
  for (const run of [() => verifyDist(missing, keyPair.publicKey), () => signDist({ dist: missing, keyPair, repo, releaseNotes: false })]) {
    try {
      await run();
      assert.unreachable('should fail');
    } catch (err) {
      assert.is((err as Error).message, `release directory ${missing} does not exist`);
    }
  }
  const file = join(tmp.make('file'), 'dist');
  writeFileSync(file, '');
  await verifyDist(file, keyPair.publicKey).then(
    () => assert.unreachable(),
    (err: Error) => assert.match(err.message, /is not a directory$/),
  );
});

test.after(() => tmp.removeAll());

test.run();
