// verify and sign on a hostile release directory: an unsigned SHA256SUMS that
// names files outside the release (../x, /etc/passwd, sub/../../x, a FIFO)
// must not make verify open them (a hash oracle, or a hang); an artifact or
// manifest.json that is a symlink to /dev/zero or a FIFO is refused, not
// read for ever; nesting and size caps hold; names are printed escaped.
// Real files, real FIFOs (mkfifo), real keys, the real CLI.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { OsforgeError } from '../../../pipeline/errors.ts';
import { encodePublicKey, generateKeyPair } from '../../../pipeline/crypto/keys.ts';
import { checkSignable, signDist } from '../../../pipeline/sign/sign-dist.ts';
import { verifyDist, type CheckResult } from '../../../pipeline/sign/verify-dist.ts';
import { makeDist, makeRepo, TempDirs } from './fake-dist.ts';

const tmp = new TempDirs();
const keyPair = generateKeyPair();
const work = tmp.make('sign-bounds');
const pubPath = join(work, 'cosign.pub');
writeFileSync(pubPath, encodePublicKey(keyPair.publicKey));
const { repo, commit } = makeRepo(tmp.make('repo'));
const root = resolve(import.meta.dirname, '../../..');
const ARM = 'buckos-0.2.0-arm64-rootfs.tar.gz';
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

async function signedDist(): Promise<string> {
  const { dist } = makeDist(commit, tmp.make('dist'));
  await signDist({ dist, keyPair, repo, releaseNotes: false });
  return dist;
}

/** Fails the test instead of hanging it when `p` does not settle in `ms`. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`${what} did not finish in ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

/** The CLI, asynchronously and with a kill timer, so a hang fails the test. */
function osforge(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  return new Promise((res) => {
    const child = spawn(join(root, 'node_modules/.bin/tsx'), [join(root, 'pipeline/cli.ts'), ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c;
    });
    child.stderr.on('data', (c: Buffer) => {
      err += c;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      res({ code: code ?? -1, out, err });
    });
  });
}

const of = (rs: CheckResult[], file: string) => rs.filter((r) => r.file === file);

test('an unsigned SHA256SUMS naming ../x, /etc/passwd or sub/../../x is no hash oracle: those names are never opened', async () => {
  const dist = await signedDist();
  const secretName = `secret-${basename(dist)}`;
  const secret = join(dirname(dist), secretName);
  writeFileSync(secret, "the verifier's own file\n");
  tmp.adopt(secret);
  const passwd = readFileSync('/etc/passwd');
  // Each line carries the true hash: before the fix, verify said "matches SHA256SUMS" for each, confirming the guess.
  appendFileSync(
    join(dist, 'SHA256SUMS'),
    [
      `${sha(readFileSync(secret))}  ../${secretName}`,
      `${sha(passwd)}  /etc/passwd`,
      `${sha(readFileSync(secret))}  sub/../../${secretName}`,
      `${sha(passwd)}  ./../../../../../../etc/passwd`,
    ].join('\n') + '\n',
  );
  const results = await within(verifyDist(dist, keyPair.publicKey), 20_000, 'verify');
  for (const name of [`../${secretName}`, '/etc/passwd', `sub/../../${secretName}`, '../../../../../../etc/passwd']) {
    const rs = of(results, name);
    assert.is(rs.length, 1, `${name}: ${JSON.stringify(rs)}`);
    assert.not.ok(rs[0]!.ok, `${name} passed`);
    assert.match(rs[0]!.detail, /^listed in SHA256SUMS: ".*" is not a file name inside the release; refused without opening it$/);
  }
  assert.not.ok(
    results.some((r) => r.ok && /matches SHA256SUMS/.test(r.detail) && r.file.includes('..')),
    'a name outside the release was hashed',
  );
});

test('a SHA256SUMS naming a FIFO outside the release, or a FIFO inside it, does not hang verify', async () => {
  const dist = await signedDist();
  const fifo = join(dirname(dist), `fifo-${basename(dist)}`);
  execFileSync('mkfifo', [fifo]);
  tmp.adopt(fifo);
  execFileSync('mkfifo', [join(dist, 'inside.fifo')]);
  appendFileSync(join(dist, 'SHA256SUMS'), `${'0'.repeat(64)}  ../${basename(fifo)}\n${'0'.repeat(64)}  inside.fifo\n`);
  const results = await within(verifyDist(dist, keyPair.publicKey), 20_000, 'verify');
  assert.match(of(results, `../${basename(fifo)}`)[0]!.detail, /not a file name inside the release/);
  assert.match(of(results, 'inside.fifo').find((r) => r.check === 'checksum')!.detail, /inside\.fifo is not a regular file .*refused/);
});

test('an artifact that is a symlink to /dev/zero, or a FIFO: verify fails it and sign refuses, both at once', async () => {
  for (const make of [(p: string) => symlinkSync('/dev/zero', p), (p: string) => execFileSync('mkfifo', [p])]) {
    const dist = await signedDist();
    rmSync(join(dist, ARM));
    make(join(dist, ARM));
    const results = await within(verifyDist(dist, keyPair.publicKey), 20_000, 'verify');
    const bad = of(results, ARM).filter((r) => !r.ok);
    assert.ok(bad.length > 0, 'the artifact passed');
    assert.ok(
      bad.every((r) => /is a symlink|is not a regular file/.test(r.detail)),
      JSON.stringify(bad),
    );
    const err = await within(
      checkSignable(dist).then(
        () => null,
        (e: unknown) => e,
      ),
      20_000,
      'sign check',
    );
    assert.instance(err, OsforgeError);
    assert.is((err as OsforgeError).code, 'SHA256_MISMATCH');
    assert.ok(
      (err as OsforgeError).context.logTail?.some((l) => l.startsWith(`${ARM}: `) && /symlink|not a regular file/.test(l)),
      String((err as OsforgeError).context.logTail),
    );
    const cli = await osforge(['sign', dist, '--key', join(work, 'none.key')]);
    assert.is(cli.code, 1, cli.err);
    assert.match(cli.err, /^error \[SHA256_MISMATCH\]: .* is not consistent with its manifest/m);
    assert.not.match(cli.err, /\n\s+at .*\.ts:\d+/); // no stack trace (the "at stage=sign" line is context)
  }
});

test('manifest.json as a symlink to /dev/zero, or nested too deep: refused with one line', async () => {
  const dist = await signedDist();
  rmSync(join(dist, 'manifest.json'));
  symlinkSync('/dev/zero', join(dist, 'manifest.json'));
  const results = await within(verifyDist(dist, keyPair.publicKey), 20_000, 'verify');
  assert.ok(
    of(results, 'manifest.json').some((r) => !r.ok && /manifest\.json is a symlink/.test(r.detail)),
    JSON.stringify(of(results, 'manifest.json')),
  );
  const sign = await osforge(['sign', dist]);
  assert.is(sign.code, 1);
  assert.match(sign.err, /^error \[ARCHIVE_UNSAFE\]: manifest\.json is a symlink/m);
  rmSync(join(dist, 'manifest.json'));
  writeFileSync(join(dist, 'manifest.json'), '['.repeat(500_000) + ']'.repeat(500_000));
  const deep = await osforge(['sign', dist]);
  assert.is(deep.code, 1);
  assert.match(deep.err, /^error \[LIMIT_EXCEEDED\]: .*manifest\.json nests deeper than 64 levels; refused before parsing/m);
  assert.not.match(deep.err, /RangeError|\n\s+at /);
});

test('size caps: --max-artifact-size and $OSFORGE_MAX_METADATA_SIZE refuse what is larger; names print escaped', async () => {
  const dist = await signedDist();
  const v = await osforge(['verify', dist, '--key', pubPath, '--max-artifact-size', '1K']);
  assert.is(v.code, 1);
  assert.match(
    v.out,
    /FAIL {2}buckos-0\.2\.0-amd64-rootfs\.tar\.gz\n(?: {8}.*\n)* {8}signature: buckos-0\.2\.0-amd64-rootfs\.tar\.gz is \d+ bytes, over the 1024-byte limit/,
  );
  const m = await osforge(['verify', dist, '--key', pubPath], { OSFORGE_MAX_METADATA_SIZE: '100' });
  assert.is(m.code, 1);
  assert.match(m.out, /manifest\.json is \d+ bytes, over the 100-byte limit/);
  const ok = await osforge(['verify', dist, '--key', pubPath]);
  assert.is(ok.code, 0, ok.out);
  appendFileSync(join(dist, 'SHA256SUMS'), `${'0'.repeat(64)}  evil\x1b[2J\x1b]0;owned\x07name\n`);
  const esc = await osforge(['verify', dist, '--key', pubPath]);
  assert.is(esc.code, 1);
  assert.match(esc.out, /FAIL {2}evil\\x1b\[2J\\x1b\]0;owned\\x07name/);
  // eslint-disable-next-line no-control-regex -- the test asserts that no control character is left
  assert.not.ok(/\x1b|\x07/.test(esc.out + esc.err), 'a control character reached the terminal');
  const help = await osforge(['verify', '--help']);
  for (const s of ['--max-artifact-size', '--max-metadata-size', 'OSFORGE_MAX_ARTIFACT_SIZE', 'OSFORGE_MAX_METADATA_SIZE']) assert.ok(help.out.includes(s), s);
});

test.after(() => tmp.removeAll());

test.run();
