// cosign key files: `cosign.key` is a PKCS#8 ECDSA P-256 key, encrypted with
// encrypted.ts and armoured as "ENCRYPTED SIGSTORE PRIVATE KEY" (cosign's
// older "ENCRYPTED COSIGN PRIVATE KEY" label is read too); `cosign.pub` is a
// PKIX "PUBLIC KEY". Formats follow cosign's pkg/cosign/keys.go.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { decodePem, encodePem, PemError } from './pem.ts';
import { decrypt, DecryptionError, encrypt, EncryptedFormatError, type ScryptParams } from './encrypted.ts';

export const SIGSTORE_PRIVATE_KEY_LABEL = 'ENCRYPTED SIGSTORE PRIVATE KEY';
export const COSIGN_PRIVATE_KEY_LABEL = 'ENCRYPTED COSIGN PRIVATE KEY';
export const PUBLIC_KEY_LABEL = 'PUBLIC KEY';

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** Why a key did not load; callers turn this into an OsforgeError naming the file. */
export class KeyLoadError extends Error {
  override name = 'KeyLoadError';
  constructor(
    readonly reason: 'format' | 'password' | 'algorithm',
    message: string,
  ) {
    super(message);
  }
}

export function generateKeyPair(): KeyPair {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

export async function encodePrivateKey(privateKey: KeyObject, password: string, opts: { params?: ScryptParams; label?: string } = {}): Promise<string> {
  assertP256(privateKey);
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  const body = await encrypt(pkcs8, password, { params: opts.params });
  pkcs8.fill(0);
  return encodePem(opts.label ?? SIGSTORE_PRIVATE_KEY_LABEL, body);
}

export function encodePublicKey(publicKey: KeyObject): string {
  assertP256(publicKey);
  return encodePem(PUBLIC_KEY_LABEL, publicKey.export({ format: 'der', type: 'spki' }));
}

export async function decodePrivateKey(pem: string, password: string): Promise<KeyPair> {
  let block;
  try {
    block = decodePem(pem);
  } catch (err) {
    throw new KeyLoadError('format', `not a PEM file (${(err as PemError).message})`);
  }
  if (block.label !== SIGSTORE_PRIVATE_KEY_LABEL && block.label !== COSIGN_PRIVATE_KEY_LABEL) {
    const hint =
      block.label.includes('PRIVATE KEY') && !block.label.startsWith('ENCRYPTED')
        ? '; unencrypted keys are refused, import it with `cosign import-key-pair`'
        : '';
    throw new KeyLoadError('format', `unsupported PEM type ${JSON.stringify(block.label)}${hint}`);
  }
  let der: Buffer;
  try {
    der = await decrypt(block.der, password);
  } catch (err) {
    if (err instanceof DecryptionError) throw new KeyLoadError('password', err.message);
    if (err instanceof EncryptedFormatError) throw new KeyLoadError('format', err.message);
    throw err;
  }
  let privateKey: KeyObject;
  try {
    // cosign parses with x509.ParsePKCS8PrivateKey only; SEC1 ("EC PRIVATE KEY") bodies fail there too.
    privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } catch {
    throw new KeyLoadError('format', 'decrypted key is not a PKCS#8 private key');
  } finally {
    der.fill(0);
  }
  assertP256(privateKey);
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

export function decodePublicKey(pem: string): KeyObject {
  let block;
  try {
    block = decodePem(pem);
  } catch (err) {
    throw new KeyLoadError('format', `not a PEM file (${(err as PemError).message})`);
  }
  if (block.label !== PUBLIC_KEY_LABEL) {
    throw new KeyLoadError('format', `expected a "PUBLIC KEY" PEM block, found ${JSON.stringify(block.label)}`);
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: block.der, format: 'der', type: 'spki' });
  } catch {
    throw new KeyLoadError('format', 'PUBLIC KEY block is not a valid PKIX public key');
  }
  assertP256(key);
  return key;
}

/** cosign's key hint: base64(sha256(PKIX DER of the public key)). */
export function publicKeyHint(publicKey: KeyObject): string {
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return createHash('sha256').update(der).digest('base64');
}

function assertP256(key: KeyObject): void {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType !== 'ec' || curve !== 'prime256v1') {
    const what = key.asymmetricKeyType === 'ec' ? `EC ${curve}` : (key.asymmetricKeyType ?? 'unknown');
    throw new KeyLoadError('algorithm', `key is ${what}; osforge signs with ECDSA P-256 only`);
  }
}
