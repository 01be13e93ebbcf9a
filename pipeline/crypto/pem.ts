// PEM armour (RFC 7468) as Go's encoding/pem writes it: 64-column base64,
// one block per label. Pure; no key semantics here.

export interface PemBlock {
  label: string;
  der: Buffer;
}

export class PemError extends Error {
  override name = 'PemError';
}

export function encodePem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return [`-----BEGIN ${label}-----`, ...lines, `-----END ${label}-----`, ''].join('\n');
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/;

/** Decodes the first PEM block in `text`. Headers (RFC 1421 "Key: value" lines) are rejected. */
export function decodePem(text: string): PemBlock {
  const m = BLOCK.exec(text);
  if (!m) throw new PemError('no PEM block found');
  const label = m[1]!;
  const body = m[2]!;
  if (body.includes(':')) throw new PemError(`PEM block ${JSON.stringify(label)} has headers, which are not supported`);
  const b64 = body.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) {
    throw new PemError(`PEM block ${JSON.stringify(label)} is not valid base64`);
  }
  return { label, der: Buffer.from(b64, 'base64') };
}
