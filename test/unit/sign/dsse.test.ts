import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createECDH, createPrivateKey, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { toDSSEBundle } from '@sigstore/bundle';
import { toSignedEntity, Verifier, type TrustMaterial } from '@sigstore/verify';
import { pae, parseEnvelope, signEnvelope, verifyEnvelope } from '../../../pipeline/sign/dsse.ts';
import { signDeterministic } from '../../../pipeline/crypto/deterministic-ecdsa.ts';
import { generateKeyPair, publicKeyHint } from '../../../pipeline/crypto/keys.ts';

test('PAE is "DSSEv1 <len> <type> <len> <body>" with byte lengths (DSSE protocol.md)', () => {
  assert.is(pae('http://example.com/HelloWorld', Buffer.from('hello world')).toString(), 'DSSEv1 29 http://example.com/HelloWorld 11 hello world');
  // Lengths count UTF-8 bytes, not characters.
  assert.is(pae('t', Buffer.from('é', 'utf8')).toString('utf8'), 'DSSEv1 1 t 2 é');
  assert.is(pae('', Buffer.alloc(0)).toString(), 'DSSEv1 0  0 ');
});

/** RFC 6979 A.2.5 key: P-256, x = C9AFA9D8... */
function rfc6979Key(): { privateKey: KeyObject; publicKey: KeyObject } {
  const d = Buffer.from('C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721', 'hex');
  const pub = createECDH('prime256v1');
  pub.setPrivateKey(d);
  const point = pub.getPublicKey();
  const jwk = {
    kty: 'EC',
    crv: 'P-256',
    d: d.toString('base64url'),
    x: point.subarray(1, 33).toString('base64url'),
    y: point.subarray(33).toString('base64url'),
  };
  const privateKey = createPrivateKey({ key: jwk, format: 'jwk' });
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

function derToRS(der: Buffer): { r: string; s: string } {
  assert.is(der[0], 0x30);
  const rLen = der[3]!;
  const r = der.subarray(4, 4 + rLen);
  const s = der.subarray(4 + rLen + 2);
  const hex = (b: Buffer) =>
    b
      .toString('hex')
      .replace(/^(00)+/, '')
      .toUpperCase();
  return { r: hex(r), s: hex(s) };
}

test('signDeterministic matches the RFC 6979 A.2.5 P-256/SHA-256 vectors and verifies with Node', () => {
  const { privateKey, publicKey } = rfc6979Key();
  const sample = signDeterministic(privateKey, Buffer.from('sample'));
  assert.equal(derToRS(sample), {
    r: 'EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716',
    s: 'F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8',
  });
  const t = signDeterministic(privateKey, Buffer.from('test'));
  assert.equal(derToRS(t), {
    r: 'F1ABB023518351CD71D881567B1EA663ED3EFCF6C5132B354F28D3B0B7D38367',
    s: '019F4113742A2B14BD25926B49C649155F267E60D3814B4C0CC84250E46F0083',
  });
  assert.ok(verify('sha256', Buffer.from('sample'), { key: publicKey, dsaEncoding: 'der' }, sample));
});

test('signEnvelope is deterministic, keyid "", and verifies over the PAE (ours and sigstore-js)', () => {
  const kp = generateKeyPair();
  const payload = Buffer.from('{"_type":"https://in-toto.io/Statement/v1"}');
  const a = signEnvelope(kp.privateKey, 'application/vnd.in-toto+json', payload);
  const b = signEnvelope(kp.privateKey, 'application/vnd.in-toto+json', payload);
  assert.equal(a, b);
  assert.is(a.signatures.length, 1);
  assert.is(a.signatures[0]!.keyid, '');
  assert.is(Buffer.from(a.payload, 'base64').toString(), payload.toString());
  assert.ok(verifyEnvelope(kp.publicKey, a));
  // The signature is over PAE(type, payload), not over the payload itself.
  const sig = Buffer.from(a.signatures[0]!.sig, 'base64');
  assert.ok(verify('sha256', pae(a.payloadType, payload), { key: kp.publicKey, dsaEncoding: 'der' }, sig));
  assert.not.ok(verify('sha256', payload, { key: kp.publicKey, dsaEncoding: 'der' }, sig));

  const hint = publicKeyHint(kp.publicKey);
  const trust: TrustMaterial = {
    certificateAuthorities: [],
    timestampAuthorities: [],
    tlogs: [],
    ctlogs: [],
    publicKey: () => ({ publicKey: kp.publicKey, validFor: () => true }),
  };
  const entity = toSignedEntity(toDSSEBundle({ artifact: payload, artifactType: a.payloadType, signature: sig, keyHint: hint }));
  new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 }).verify(entity);
});

test('verifyEnvelope rejects a changed payload, payloadType, signature or key', () => {
  const kp = generateKeyPair();
  const env = signEnvelope(kp.privateKey, 'application/vnd.in-toto+json', Buffer.from('{"a":1}'));
  assert.not.ok(verifyEnvelope(kp.publicKey, { ...env, payload: Buffer.from('{"a":2}').toString('base64') }));
  assert.not.ok(verifyEnvelope(kp.publicKey, { ...env, payloadType: 'text/plain' }));
  assert.not.ok(verifyEnvelope(kp.publicKey, { ...env, signatures: [{ keyid: '', sig: Buffer.from('junk').toString('base64') }] }));
  assert.not.ok(verifyEnvelope(generateKeyPair().publicKey, env));
  assert.ok(verifyEnvelope(kp.publicKey, parseEnvelope(JSON.stringify(env))));
});

test('parseEnvelope rejects non-envelopes', () => {
  assert.throws(() => parseEnvelope('nope'), /not JSON/);
  assert.throws(() => parseEnvelope('{"payloadType":"x","payload":"eA=="}'), /lacks/);
  assert.throws(() => parseEnvelope('{"payloadType":"x","payload":"eA==","signatures":[{"sig":1}]}'), /malformed/);
});

test.run();
