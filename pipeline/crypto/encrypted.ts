// Password-based encryption in the format of go-securesystemslib's
// `encrypted` package, which cosign uses for its private keys:
//
//   {"kdf":{"name":"scrypt","params":{"N":65536,"r":8,"p":1},"salt":"<b64>"},
//    "cipher":{"name":"nacl/secretbox","nonce":"<b64>"},
//    "ciphertext":"<b64>"}
//
// scrypt derives a 32-byte key from the password and a 32-byte salt; NaCl
// secretbox (XSalsa20-Poly1305, via tweetnacl) seals the plaintext under a
// 24-byte nonce. Byte fields are standard base64 with padding (Go's []byte).
import { randomBytes, scrypt as scryptCb, type ScryptOptions } from 'node:crypto';
import nacl from 'tweetnacl';

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** go-securesystemslib "Standard": what cosign writes today. */
export const SCRYPT_STANDARD: ScryptParams = { N: 65536, r: 8, p: 1 };
/** go-securesystemslib "Legacy": what cosign wrote before v2.1. */
export const SCRYPT_LEGACY: ScryptParams = { N: 32768, r: 8, p: 1 };
/** go-securesystemslib "OWASP". */
export const SCRYPT_OWASP: ScryptParams = { N: 131072, r: 8, p: 1 };

/**
 * Only these parameter sets are accepted when decrypting, as upstream does:
 * an attacker who can edit the file must not be able to pick N=2^30 and hang us.
 */
const ALLOWED: readonly ScryptParams[] = [SCRYPT_LEGACY, SCRYPT_STANDARD, SCRYPT_OWASP];

const SALT_SIZE = 32;
const KEY_SIZE = nacl.secretbox.keyLength; // 32
const NONCE_SIZE = nacl.secretbox.nonceLength; // 24

export interface EncryptedData {
  kdf: { name: 'scrypt'; params: ScryptParams; salt: string };
  cipher: { name: 'nacl/secretbox'; nonce: string };
  ciphertext: string;
}

/** The blob is not in the expected format (not JSON, unknown kdf/cipher, bad sizes, odd scrypt params). */
export class EncryptedFormatError extends Error {
  override name = 'EncryptedFormatError';
}
/** The blob is well-formed but does not open with this password (or was tampered with). */
export class DecryptionError extends Error {
  override name = 'DecryptionError';
}

function scrypt(password: Uint8Array, salt: Uint8Array, params: ScryptParams): Promise<Buffer> {
  // Node refuses anything above 32 MiB by default; N=2^17,r=8 needs 128 MiB.
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scryptCb(password, salt, KEY_SIZE, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export interface EncryptOptions {
  params?: ScryptParams;
  /** Fixed salt/nonce, for tests only. */
  salt?: Uint8Array;
  nonce?: Uint8Array;
}

export async function encrypt(plaintext: Uint8Array, password: string, opts: EncryptOptions = {}): Promise<Buffer> {
  const params = opts.params ?? SCRYPT_STANDARD;
  const salt = opts.salt ?? randomBytes(SALT_SIZE);
  const nonce = opts.nonce ?? randomBytes(NONCE_SIZE);
  if (salt.length !== SALT_SIZE) throw new RangeError(`salt must be ${SALT_SIZE} bytes`);
  if (nonce.length !== NONCE_SIZE) throw new RangeError(`nonce must be ${NONCE_SIZE} bytes`);
  const key = await scrypt(Buffer.from(password, 'utf8'), salt, params);
  const sealed = nacl.secretbox(plaintext, nonce, key);
  key.fill(0);
  const data: EncryptedData = {
    kdf: { name: 'scrypt', params: { N: params.N, r: params.r, p: params.p }, salt: b64(salt) },
    cipher: { name: 'nacl/secretbox', nonce: b64(nonce) },
    ciphertext: b64(sealed),
  };
  return Buffer.from(JSON.stringify(data), 'utf8');
}

export function parseEncrypted(blob: Uint8Array): EncryptedData {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(blob).toString('utf8'));
  } catch {
    throw new EncryptedFormatError('encrypted key body is not JSON');
  }
  const d = raw as Partial<EncryptedData> | null;
  if (!d || typeof d !== 'object' || !d.kdf || !d.cipher || typeof d.ciphertext !== 'string') {
    throw new EncryptedFormatError('encrypted key body lacks kdf, cipher or ciphertext');
  }
  if (d.kdf.name !== 'scrypt') throw new EncryptedFormatError(`unknown kdf ${JSON.stringify(d.kdf.name)}`);
  if (d.cipher.name !== 'nacl/secretbox') throw new EncryptedFormatError(`unknown cipher ${JSON.stringify(d.cipher.name)}`);
  const p = d.kdf.params;
  if (!p || !ALLOWED.some((a) => a.N === p.N && a.r === p.r && a.p === p.p)) {
    throw new EncryptedFormatError(`unsupported scrypt parameters ${JSON.stringify(p)}`);
  }
  if (typeof d.kdf.salt !== 'string' || typeof d.cipher.nonce !== 'string') {
    throw new EncryptedFormatError('encrypted key body lacks salt or nonce');
  }
  return d as EncryptedData;
}

export async function decrypt(blob: Uint8Array, password: string): Promise<Buffer> {
  const d = parseEncrypted(blob);
  const salt = unb64(d.kdf.salt, 'salt');
  const nonce = unb64(d.cipher.nonce, 'nonce');
  const sealed = unb64(d.ciphertext, 'ciphertext');
  if (nonce.length !== NONCE_SIZE) throw new EncryptedFormatError(`nonce is ${nonce.length} bytes, expected ${NONCE_SIZE}`);
  const key = await scrypt(Buffer.from(password, 'utf8'), salt, d.kdf.params);
  const opened = nacl.secretbox.open(sealed, nonce, key);
  key.fill(0);
  if (!opened) throw new DecryptionError('decryption failed: wrong password or corrupted key');
  return Buffer.from(opened);
}

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

function unb64(s: string, what: string): Buffer {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) throw new EncryptedFormatError(`${what} is not base64`);
  return Buffer.from(s, 'base64');
}
