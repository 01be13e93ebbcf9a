// Cosign-style blob signatures: `cosign sign-blob --key cosign.key FILE`
// writes a base64 DER ECDSA (P-256) signature over sha256(FILE), which
// node:crypto verifies directly with the PEM public key.
import { verify } from 'node:crypto';

/** True when `sigBase64` is a valid signature of `data` for `publicKeyPem`; malformed input is false, never an exception. */
export function verifyBlobSignature(data: Uint8Array, sigBase64: string, publicKeyPem: string): boolean {
  const text = sigBase64.trim();
  if (!/^[A-Za-z0-9+/=\s]+$/.test(text)) return false;
  try {
    return verify('sha256', data, publicKeyPem, Buffer.from(text, 'base64'));
  } catch {
    return false;
  }
}
