import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, sign } from 'node:crypto';
import { bundleFromJSON, toMessageSignatureBundle } from '@sigstore/bundle';
import { toSignedEntity, Verifier, type TrustMaterial } from '@sigstore/verify';
import { decodeSigFile, encodeBundle, encodeSigFile, messageSignatureBundle, parseMessageBundle } from '../../../pipeline/crypto/blob.ts';
import { generateKeyPair, publicKeyHint } from '../../../pipeline/crypto/keys.ts';

const kp = generateKeyPair();
const data = Buffer.from('artifact bytes\n');
const digest = createHash('sha256').update(data).digest();
const signature = sign('sha256', data, { key: kp.privateKey, dsaEncoding: 'der' });

test('.sig body is bare base64 of the DER signature, no newline, and decodes back', () => {
  const text = encodeSigFile(signature);
  assert.not.match(text, /\s/);
  assert.ok(decodeSigFile(text).equals(signature));
  assert.ok(decodeSigFile(text + '\n').equals(signature));
  assert.throws(() => decodeSigFile('not base64!'), /base64/);
  assert.throws(() => decodeSigFile(''), /base64/);
});

test('bundle is v0.3 JSON: mediaType, messageSignature with SHA2_256 digest, publicKey hint', () => {
  const json = JSON.parse(encodeBundle(messageSignatureBundle({ signature, digest }, kp.publicKey)));
  assert.is(json.mediaType, 'application/vnd.dev.sigstore.bundle.v0.3+json');
  assert.equal(json.verificationMaterial.publicKey, { hint: publicKeyHint(kp.publicKey) });
  assert.is(json.messageSignature.messageDigest.algorithm, 'SHA2_256');
  assert.is(json.messageSignature.messageDigest.digest, digest.toString('base64'));
  assert.is(json.messageSignature.signature, signature.toString('base64'));
  assert.equal(Object.keys(json).sort(), ['mediaType', 'messageSignature', 'verificationMaterial']);
});

test('sigstore-js verifies our bundle against the key (independent implementation)', () => {
  const serialized = messageSignatureBundle({ signature, digest }, kp.publicKey);
  const trust: TrustMaterial = {
    certificateAuthorities: [],
    timestampAuthorities: [],
    tlogs: [],
    ctlogs: [],
    publicKey: (hint) => {
      assert.is(hint, publicKeyHint(kp.publicKey));
      return { publicKey: kp.publicKey, validFor: () => true };
    },
  };
  const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
  verifier.verify(toSignedEntity(bundleFromJSON(serialized), data));
  assert.throws(() => verifier.verify(toSignedEntity(bundleFromJSON(serialized), Buffer.from('other'))), /signature/i);
});

test('parseMessageBundle returns hint, digest and signature, and rejects other shapes', () => {
  const text = encodeBundle(messageSignatureBundle({ signature, digest }, kp.publicKey));
  const p = parseMessageBundle(text);
  assert.is(p.hint, publicKeyHint(kp.publicKey));
  assert.ok(p.digest.equals(digest));
  assert.ok(p.signature.equals(signature));

  const obj = JSON.parse(text);
  assert.throws(() => parseMessageBundle('{'), /not JSON/);
  assert.throws(() => parseMessageBundle(JSON.stringify({ ...obj, mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.2' })), /mediaType/);
  assert.throws(() => parseMessageBundle(JSON.stringify({ ...obj, messageSignature: { ...obj.messageSignature, signature: '' } })), /invalid sigstore bundle/);
  assert.throws(
    () =>
      parseMessageBundle(
        JSON.stringify({
          ...obj,
          messageSignature: { ...obj.messageSignature, messageDigest: { algorithm: 'SHA2_512', digest: obj.messageSignature.messageDigest.digest } },
        }),
      ),
    /SHA2_256/,
  );
  const dsse = JSON.stringify({
    mediaType: obj.mediaType,
    verificationMaterial: obj.verificationMaterial,
    dsseEnvelope: { payloadType: 'x', payload: 'eA==', signatures: [{ keyid: '', sig: 'eA==' }] },
  });
  assert.throws(() => parseMessageBundle(dsse), /expected messageSignature/);
  // Same builder sigstore-js uses; our JSON equals its serialization.
  const viaLib = toMessageSignatureBundle({ digest, signature, keyHint: publicKeyHint(kp.publicKey) });
  assert.is(viaLib.mediaType, obj.mediaType);
});

test.run();
