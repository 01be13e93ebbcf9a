// Cosign-style blob signatures (`cosign sign-blob --key cosign.key FILE`):
// base64 DER ECDSA P-256 over sha256(FILE) in FILE.sig. A package carries
// two: <file>.sig over its bytes and <file>.sha256.sig over its .sha256
// metadata (name, version, config hash, arch, sha256), so a signed package
// cannot be relabelled as another one; index.json.sig signs a mirror index. The .sig decoding
// and the PEM key loading are pipeline/sign's, so both features agree on
// the format.
import { createHash, verify, type KeyObject } from 'node:crypto';
import { signDeterministic } from '../crypto/deterministic-ecdsa.ts';
import { OsforgeError } from '../errors.ts';
import { decodeSigFile, encodeSigFile } from '../crypto/blob.ts';
import { decodePublicKey } from '../crypto/keys.ts';

/** A PEM public key (P-256, "PUBLIC KEY" block) as a KeyObject; throws CONFIG_INVALID when it is not one. */
export function toPublicKey(key: KeyObject | string): KeyObject {
  if (typeof key !== 'string') return key;
  try {
    return decodePublicKey(key);
  } catch (err) {
    throw new OsforgeError('CONFIG_INVALID', `cannot use the public key: ${(err as Error).message}`, {}, { cause: err });
  }
}

/** True when `sigText` (a .sig file body) is a valid signature of `data`; a malformed signature is false, never an exception. */
export function verifyBlobSignature(data: Uint8Array, sigText: string, publicKey: KeyObject | string): boolean {
  const key = toPublicKey(publicKey);
  let sig: Buffer;
  try {
    sig = decodeSigFile(sigText);
  } catch {
    return false;
  }
  try {
    return verify('sha256', data, { key, dsaEncoding: 'der' }, sig);
  } catch {
    return false;
  }
}

/**
 * A cosign-style .sig body for `data`. Deterministic (RFC 6979), so signing
 * the same package again gives the same bytes and a re-upload is "unchanged".
 */
export function signBlob(data: Uint8Array, privateKey: KeyObject): string {
  return encodeSigFile(signDeterministic(privateKey, data));
}

/** Short key id: the first 16 hex digits of sha256 over the public key's DER (SPKI). */
export function keyId(publicKey: KeyObject | string): string {
  const der = toPublicKey(publicKey).export({ format: 'der', type: 'spki' });
  return `sha256:${createHash('sha256').update(der).digest('hex').slice(0, 16)}`;
}
