// Deterministic ECDSA P-256 / SHA-256 (RFC 6979), for the one signed output
// that must be reproducible: the provenance envelope. Node's crypto (OpenSSL
// 3.0) only offers randomized ECDSA, so the nonce derivation comes from
// @noble/curves (audited, RFC 6979 by default with extraEntropy off).
// Verification stays with Node's crypto, an independent implementation.
import { createHash, type KeyObject } from 'node:crypto';
import { p256 } from '@noble/curves/nist';

export function signDeterministic(privateKey: KeyObject, message: Uint8Array): Buffer {
  const jwk = privateKey.export({ format: 'jwk' });
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || !jwk.d) throw new Error('deterministic signing needs an ECDSA P-256 private key');
  const d = Buffer.from(jwk.d, 'base64url');
  const digest = createHash('sha256').update(message).digest();
  try {
    // prehash:false because we pass the SHA-256 digest; lowS:false keeps plain RFC 6979 output.
    const sig = p256.sign(digest, d, { prehash: false, lowS: false, extraEntropy: false });
    return Buffer.from(sig.toDERRawBytes());
  } finally {
    d.fill(0);
  }
}
