// TUF keys from osforge's cosign keys: an ECDSA P-256 key is the TUF key
// type "ecdsa-sha2-nistp256" (keyval.public = the PEM "PUBLIC KEY", as
// sigstore's TUF roots carry it), its keyid the sha256 of the key's
// canonical JSON (TUF spec §4.2). Signatures are DER ECDSA over the
// canonical JSON of "signed", hex-encoded, and deterministic (RFC 6979), so
// signing the same metadata twice gives the same bytes.
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { canonicalize } from '@tufjs/canonical-json';
import { Key, Signature } from '@tufjs/models';
import { signDeterministic } from '../../crypto/deterministic-ecdsa.ts';

export const KEY_TYPE = 'ecdsa-sha2-nistp256';
export const KEY_SCHEME = 'ecdsa-sha2-nistp256';

/** The TUF key for a P-256 public (or private) key. */
export function tufKey(key: KeyObject): Key {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const pem = pub.export({ type: 'spki', format: 'pem' }).toString();
  const body = { keytype: KEY_TYPE, scheme: KEY_SCHEME, keyval: { public: pem } };
  const keyID = createHash('sha256').update(canonicalize(body)).digest('hex');
  return new Key({ keyID, keyType: KEY_TYPE, scheme: KEY_SCHEME, keyVal: { public: pem } });
}

/** A signer for Metadata.sign(): bytes are the canonical JSON of "signed". */
export function tufSigner(privateKey: KeyObject): (bytes: Buffer) => Signature {
  const keyID = tufKey(privateKey).keyID;
  return (bytes) => new Signature({ keyID, sig: signDeterministic(privateKey, bytes).toString('hex') });
}
