import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rejects } from '../sign/helpers.ts';
import { createHash, generateKeyPairSync, sign, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  COSIGN_PRIVATE_KEY_LABEL,
  decodePrivateKey,
  decodePublicKey,
  encodePrivateKey,
  encodePublicKey,
  generateKeyPair,
  KeyLoadError,
  publicKeyHint,
  SIGSTORE_PRIVATE_KEY_LABEL,
} from '../../../pipeline/crypto/keys.ts';
import { decodePem } from '../../../pipeline/crypto/pem.ts';
import { parseEncrypted, SCRYPT_LEGACY } from '../../../pipeline/crypto/encrypted.ts';

const fixtures = join(import.meta.dirname, '../../fixtures/cosign');
const fixture = (name: string) => readFileSync(join(fixtures, name), 'utf8');

async function reasonOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, KeyLoadError);
    return (err as KeyLoadError).reason + ': ' + (err as Error).message;
  }
  throw new Error('expected a KeyLoadError');
}

test('a generated key round-trips through the SIGSTORE label with N=65536', async () => {
  const kp = generateKeyPair();
  const pem = await encodePrivateKey(kp.privateKey, 'pw');
  const block = decodePem(pem);
  assert.is(block.label, SIGSTORE_PRIVATE_KEY_LABEL);
  assert.is(parseEncrypted(block.der).kdf.params.N, 65536);
  assert.not.match(pem, /BEGIN PRIVATE KEY/);
  const back = await decodePrivateKey(pem, 'pw');
  const msg = Buffer.from('hello');
  assert.ok(verify('sha256', msg, kp.publicKey, sign('sha256', msg, back.privateKey)));
  assert.is(encodePublicKey(back.publicKey), encodePublicKey(kp.publicKey));
});

test('cosign\'s published test keys load with password "hello": COSIGN label and SIGSTORE label, legacy N=32768', async () => {
  for (const name of ['cosign-label-n32768.key', 'sigstore-n32768.key']) {
    const pem = fixture(name);
    assert.is(parseEncrypted(decodePem(pem).der).kdf.params.N, SCRYPT_LEGACY.N, name);
    const kp = await decodePrivateKey(pem, 'hello');
    assert.is(kp.privateKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    const msg = Buffer.from(name);
    assert.ok(verify('sha256', msg, kp.publicKey, sign('sha256', msg, kp.privateKey)));
  }
  assert.is(decodePem(fixture('cosign-label-n32768.key')).label, COSIGN_PRIVATE_KEY_LABEL);
});

test("cosign's SEC1-bodied fixture decrypts but is refused as not PKCS#8, as cosign refuses it", async () => {
  assert.match(await reasonOf(decodePrivateKey(fixture('cosign-ec-sec1-n65536.key'), 'hello')), /^format: .*PKCS#8/);
});

test('wrong password is reason "password"; unencrypted and foreign PEM types are "format"', async () => {
  assert.match(await reasonOf(decodePrivateKey(fixture('sigstore-n32768.key'), 'nope')), /^password:/);
  const plain = generateKeyPair().privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  assert.match(await reasonOf(decodePrivateKey(plain, 'x')), /^format: .*"PRIVATE KEY".*unencrypted/);
  assert.match(await reasonOf(decodePrivateKey('hello', 'x')), /^format: not a PEM/);
});

test('only P-256 keys are accepted', async () => {
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  await rejects(() => encodePrivateKey(p384.privateKey, 'pw'), /P-256/);
  const pub = p384.publicKey.export({ format: 'pem', type: 'spki' }) as string;
  assert.throws(() => decodePublicKey(pub), /P-256/);
});

test('publicKeyHint is base64(sha256(PKIX DER)), as cosign computes it', () => {
  const kp = generateKeyPair();
  const der = kp.publicKey.export({ format: 'der', type: 'spki' });
  assert.is(publicKeyHint(kp.publicKey), createHash('sha256').update(der).digest('base64'));
  assert.is(publicKeyHint(decodePublicKey(encodePublicKey(kp.publicKey))), publicKeyHint(kp.publicKey));
});

test.run();
