// DSSE envelopes (github.com/secure-systems-lab/dsse, protocol.md): the
// signature covers PAE(payloadType, payload), never the raw payload.
import { verify, type KeyObject } from 'node:crypto';
import { assertJsonDepth } from '../util/json-bounded.ts';
import { signDeterministic } from '../crypto/deterministic-ecdsa.ts';

export interface DsseSignature {
  keyid: string;
  sig: string;
}
export interface DsseEnvelope {
  payloadType: string;
  payload: string;
  signatures: DsseSignature[];
}

/** PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, LEN in ASCII decimal bytes. */
export function pae(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `, 'utf8'), type, Buffer.from(` ${payload.length} `, 'utf8'), payload]);
}

/**
 * One ECDSA P-256 / SHA-256 signature over the PAE; keyid "" as cosign writes
 * for key-based attestations. Deterministic (RFC 6979): the same key and
 * payload always give the same envelope bytes.
 */
export function signEnvelope(privateKey: KeyObject, payloadType: string, payload: Uint8Array, keyid = ''): DsseEnvelope {
  const sig = signDeterministic(privateKey, pae(payloadType, payload));
  return {
    payloadType,
    payload: Buffer.from(payload).toString('base64'),
    signatures: [{ keyid, sig: sig.toString('base64') }],
  };
}

export function parseEnvelope(text: string): DsseEnvelope {
  let e: unknown;
  assertJsonDepth(text, 'DSSE envelope'); // it comes from the release being verified
  try {
    e = JSON.parse(text);
  } catch {
    throw new Error('DSSE envelope is not JSON');
  }
  const env = e as Partial<DsseEnvelope> | null;
  if (!env || typeof env.payloadType !== 'string' || typeof env.payload !== 'string' || !Array.isArray(env.signatures)) {
    throw new Error('DSSE envelope lacks payloadType, payload or signatures');
  }
  for (const s of env.signatures) {
    if (!s || typeof s.sig !== 'string' || (s.keyid !== undefined && typeof s.keyid !== 'string')) throw new Error('DSSE signature entry is malformed');
  }
  return env as DsseEnvelope;
}

/** True when at least one signature verifies over the PAE with `publicKey`. */
export function verifyEnvelope(publicKey: KeyObject, env: DsseEnvelope): boolean {
  const msg = pae(env.payloadType, Buffer.from(env.payload, 'base64'));
  return env.signatures.some((s) => {
    try {
      return verify('sha256', msg, { key: publicKey, dsaEncoding: 'der' }, Buffer.from(s.sig, 'base64'));
    } catch {
      return false;
    }
  });
}
