// The signing-secret check every container spec passes (engine/secrets.ts):
// real key files (osforge keygen's writer), real tars. It must refuse a key
// variable by name, a key's path or password by value, and a private key's
// bytes in an input; and it must pass the specs osforge really builds.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SIGNING_SECRET_ENV, signingSecretIn, withoutSigningSecrets, assertNoSigningSecret } from '../../../pipeline/engine/secrets.ts';
import { writeKeyPair } from '../../../pipeline/crypto/keyfile.ts';
import { generateKeyPair } from '../../../pipeline/crypto/keys.ts';
import { packEntries } from '../../../pipeline/util/tar.ts';
import { OsforgeError } from '../../../pipeline/errors.ts';
import { holdStep, runStep } from '../../../pipeline/steps/step.ts';
import type { Engine, RunSpec } from '../../../pipeline/engine/engine.ts';

const dir = mkdtempSync(join(tmpdir(), 'osforge-secrets-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const password = 'correct horse battery staple';
let key: { privatePath: string; publicPath: string };
let env: NodeJS.ProcessEnv;

test.before(async () => {
  key = await writeKeyPair({ prefix: join(dir, 'cosign'), password, force: false, keyPair: generateKeyPair() });
  env = {
    PATH: '/usr/bin',
    COSIGN_KEY: key.privatePath,
    COSIGN_PASSWORD: password,
    OSFORGE_SHARED_CACHE_KEY: key.privatePath,
    OSFORGE_TOOLS_CACHE_KEY: key.privatePath,
  };
});

test('a spec like those osforge builds passes', async () => {
  const spec = {
    env: { ARCH: 'amd64', CC: '/opt/osforge/amd64/bin/x86_64-linux-musl-gcc', JOBS: '2', PACKAGE: 'zlib', SOURCE_DATE_EPOCH: '1', OUT: '/out' },
    inputs: [{ dir: '/', tar: await packEntries([{ path: 'src/x', type: 'file', mode: 0o644, data: Buffer.from('source') }], 0) }],
  };
  assert.is(signingSecretIn(spec, env), null);
});

test('a key variable in a container environment is refused by name', () => {
  for (const name of SIGNING_SECRET_ENV) assert.match(signingSecretIn({ env: { [name]: 'x' } }, env) ?? '', new RegExp(`sets ${name}`));
});

test('a key path or the password under another name is refused by value', () => {
  assert.match(signingSecretIn({ env: { KEYFILE: `--key=${key.privatePath}` } }, env) ?? '', /KEYFILE carries \$COSIGN_KEY/);
  assert.match(signingSecretIn({ env: { PW: password } }, env) ?? '', /PW carries \$COSIGN_PASSWORD/);
  // An ordinary short value is not taken for a short password; the variable itself is still refused by name.
  assert.is(signingSecretIn({ env: { JOBS: '2' } }, { ...env, COSIGN_PASSWORD: '2' }), null);
  // Only the configured values count: the same names are harmless when nothing is configured.
  assert.is(signingSecretIn({ env: { PW: password, KEYFILE: key.privatePath } }, { PATH: '/usr/bin' }), null);
});

test('an input tar holding the private key is refused; the public key is not a secret', async () => {
  const withKey = await packEntries([{ path: 'etc/cosign.key', type: 'file', mode: 0o600, data: readFileSync(key.privatePath) }], 0);
  assert.match(signingSecretIn({ inputs: [{ dir: '/', tar: withKey }] }, env) ?? '', /input for \/ holds the private key of \$COSIGN_KEY/);
  const withPub = await packEntries([{ path: 'etc/cosign.pub', type: 'file', mode: 0o644, data: readFileSync(key.publicPath) }], 0);
  assert.is(signingSecretIn({ inputs: [{ dir: '/', tar: withPub }] }, env), null);
  assert.throws(
    () => assertNoSigningSecret({ inputs: [{ dir: '/', tar: withKey }] }, 'running stage2:zlib', env),
    (e: Error) => e instanceof OsforgeError && /^refusing running stage2:zlib: .*signing keys never enter a build container$/.test(e.message),
  );
});

test('withoutSigningSecrets drops every key variable and keeps the rest', () => {
  const out = withoutSigningSecrets({ ...env, OSFORGE_SSH_KEY: '/k', LANG: 'C' });
  for (const name of SIGNING_SECRET_ENV) assert.is(out[name], undefined, name);
  assert.is(out.LANG, 'C');
  assert.is(out.PATH, '/usr/bin');
});

test('the step funnel (steps/step.ts) builds specs from the step alone, never from the process environment', async () => {
  // A recording engine: the only fake here, for the pure spec-building logic.
  const specs: RunSpec[] = [];
  const fake = {
    run: async (spec: RunSpec) => {
      specs.push(spec);
      return { exitCode: 0, log: [], outputs: new Map() };
    },
    prepare: async (spec: RunSpec) => {
      specs.push(spec);
      return { go: async () => ({ exitCode: 0, log: [], outputs: new Map() }), discard: async () => undefined };
    },
  } as unknown as Engine;
  const saved = { ...process.env };
  Object.assign(process.env, env, { OSFORGE_SSH_KEY: key.privatePath });
  try {
    const step = {
      engine: fake,
      image: 'img',
      cmd: ['true'],
      env: { JOBS: '2' },
      runId: 'r',
      stage: 'stage2:zlib',
      log: { path: '/dev/null', write: () => undefined, lines: [] },
    };
    await runStep(step);
    await holdStep(step);
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
  assert.is(specs.length, 2);
  for (const spec of specs) {
    assert.equal(spec.env, { JOBS: '2' });
    assert.is(signingSecretIn(spec, env), null);
  }
});

test.run();
