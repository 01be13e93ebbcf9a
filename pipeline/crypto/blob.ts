// Blob signatures as `cosign sign-blob --key` writes them: ECDSA P-256 over
// SHA-256 of the file, DER-encoded, stored base64 (no newline) in <file>.sig,
// and the same signature in a sigstore bundle v0.3 (<file>.sigstore.json)
// with messageDigest and the key hint. Files are streamed, never loaded whole,
// and opened as regular files only (a symlink or a FIFO is refused, never
// followed or waited on), up to a size cap.
import { createHash, createSign, createVerify, type KeyObject } from 'node:crypto';
import { assertJsonDepth } from '../util/json-bounded.ts';
import { streamRegularFile } from '../util/regular-file.ts';
import { bundleFromJSON, bundleToJSON, assertBundleLatest, toMessageSignatureBundle, BUNDLE_V03_MEDIA_TYPE, type SerializedBundle } from '@sigstore/bundle';
import { publicKeyHint } from './keys.ts';

export interface BlobSignature {
  /** DER ECDSA signature. */
  signature: Buffer;
  /** SHA-256 of the blob. */
  digest: Buffer;
}

export async function signFile(privateKey: KeyObject, path: string, maxBytes = Number.MAX_SAFE_INTEGER): Promise<BlobSignature> {
  const signer = createSign('sha256');
  const hash = createHash('sha256');
  for await (const chunk of (await streamRegularFile(path, path, maxBytes)).stream) {
    signer.update(chunk as Buffer);
    hash.update(chunk as Buffer);
  }
  return { signature: signer.sign({ key: privateKey, dsaEncoding: 'der' }), digest: hash.digest() };
}

/**
 * Verifies several candidate signatures over one file in a single read
 * (the .sig and the bundle's copy); returns one verdict per signature.
 */
export async function verifyFile(
  publicKey: KeyObject,
  path: string,
  signatures: readonly Uint8Array[],
  maxBytes = Number.MAX_SAFE_INTEGER,
): Promise<boolean[]> {
  const verifiers = signatures.map(() => createVerify('sha256'));
  for await (const chunk of (await streamRegularFile(path, path, maxBytes)).stream) for (const v of verifiers) v.update(chunk as Buffer);
  return verifiers.map((v, i) => {
    try {
      return v.verify({ key: publicKey, dsaEncoding: 'der' }, signatures[i]!);
    } catch {
      return false; // malformed DER
    }
  });
}

/** The .sig file body: base64 of the DER signature, no trailing newline (cosign writes it so). */
export function encodeSigFile(signature: Uint8Array): string {
  return Buffer.from(signature).toString('base64');
}

export function decodeSigFile(text: string): Buffer {
  const s = text.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(s) || s.length % 4 !== 0) throw new Error('signature file is not base64');
  return Buffer.from(s, 'base64');
}

export function messageSignatureBundle(sig: BlobSignature, publicKey: KeyObject): SerializedBundle {
  const bundle = toMessageSignatureBundle({ digest: sig.digest, signature: sig.signature, keyHint: publicKeyHint(publicKey) });
  return bundleToJSON(bundle);
}

export function encodeBundle(bundle: SerializedBundle): string {
  return JSON.stringify(bundle) + '\n';
}

export interface ParsedMessageBundle {
  hint: string;
  digest: Buffer;
  signature: Buffer;
}

/** Parses and shape-checks a bundle; it must be v0.3 with a messageSignature over SHA2_256 and a public-key hint. */
export function parseMessageBundle(text: string): ParsedMessageBundle {
  let json: unknown;
  assertJsonDepth(text, 'sigstore bundle'); // it comes from the release being verified
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error('bundle is not JSON');
  }
  const mediaType = (json as { mediaType?: unknown } | null)?.mediaType;
  if (mediaType !== BUNDLE_V03_MEDIA_TYPE) throw new Error(`bundle mediaType is ${JSON.stringify(mediaType)}, expected ${BUNDLE_V03_MEDIA_TYPE}`);
  let bundle;
  try {
    bundle = bundleFromJSON(json);
    assertBundleLatest(bundle);
  } catch (err) {
    const fields = (err as { fields?: string[] }).fields;
    throw new Error(`invalid sigstore bundle${fields?.length ? `: ${fields.join(', ')}` : `: ${(err as Error).message}`}`);
  }
  if (bundle.content.$case !== 'messageSignature') throw new Error(`bundle holds ${bundle.content.$case}, expected messageSignature`);
  if (bundle.verificationMaterial.content.$case !== 'publicKey') {
    throw new Error(`bundle verification material is ${bundle.verificationMaterial.content.$case}, expected publicKey`);
  }
  const md = bundle.content.messageSignature.messageDigest;
  // HashAlgorithm.SHA2_256 === 1 in @sigstore/protobuf-specs.
  if (!md || md.algorithm !== 1) throw new Error('bundle messageDigest is not SHA2_256');
  return {
    hint: bundle.verificationMaterial.content.publicKey.hint,
    digest: Buffer.from(md.digest),
    signature: Buffer.from(bundle.content.messageSignature.signature),
  };
}
