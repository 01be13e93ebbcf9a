// Upstream GPG signatures of pinned sources (the seed's "GPG Signature
// Verification"). A source may pin a detached signature file and its
// signer's full fingerprint; the signer's public key lives in the repo
// (images/keys/, taken from the Debian source package's
// debian/upstream/signing-key.asc), so verifying needs no key server.
// Verification runs the host's gpgv against a keyring holding only that key
// and requires a VALIDSIG from exactly the pinned fingerprint.
// BUCKOS_VERIFY_SIGNATURES=0 turns it off; the manifest then says so.
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OsforgeError } from '../errors.ts';
import type { SourceSpec } from '../plan/types.ts';
import { stateTempDir } from './temp.ts';
import { settings } from '../settings.ts';
import { captureHost } from '../host/run.ts';

export interface SignatureCheck {
  /** 'verified' (by `fingerprint`), or 'disabled' by BUCKOS_VERIFY_SIGNATURES=0. */
  status: 'verified' | 'disabled';
  file: string;
  fingerprint: string;
}

export function signaturesEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return settings(env).verifySignatures;
}

/** What a signature file holds: ASCII-armoured or binary OpenPGP, or something else (an HTML error page, say). */
export function signatureKind(data: Buffer): 'armored' | 'binary' | 'not a signature' {
  const head = data.subarray(0, 64).toString('latin1').trimStart();
  if (head.startsWith('-----BEGIN PGP SIGNATURE-----')) return 'armored';
  // An OpenPGP signature packet: tag 2, old format (0x88-0x8b) or new format (0xc2).
  const b = data[0] ?? 0;
  if ((b & 0xfc) === 0x88 || b === 0xc2) return 'binary';
  return 'not a signature';
}

const normalize = (fpr: string) => fpr.replace(/\s+/g, '').toUpperCase();

function failure(spec: SourceSpec, why: string, detail: string[], sigUrl?: string, label = 'GPG output'): OsforgeError {
  const sig = spec.signature!;
  return new OsforgeError(
    'SIGNATURE_INVALID',
    [
      `signature verification FAILED for ${spec.file}: ${why}`,
      `File:          ${spec.file} (sha256 ${spec.sha256})`,
      `Signature:     ${sig.file}`,
      ...(sigUrl ? [`Signature URL: ${sigUrl}`] : []),
      `Expected key:  ${normalize(sig.fingerprint)} (images/${sig.key})`,
      ...(detail.length ? [`${label}:`, ...detail.map((l) => `  ${l}`)] : []),
    ].join('\n'),
    {
      stage: 'fetch',
      hint:
        `fix options: 1. check that images/${sig.key} is the upstream signing key (Debian ships it as debian/upstream/signing-key.asc) and "fingerprint" in images/sources.json is its fingerprint; ` +
        `2. check the signature's location (a mirror may serve an error page); 3. BUCKOS_VERIFY_SIGNATURES=0 skips the check (the manifest records that it was skipped)`,
    },
  );
}

/** No location served the pinned signature file. */
export function signatureMissing(spec: SourceSpec, tried: string[]): OsforgeError {
  return failure(spec, 'the signature file could not be fetched', tried, undefined, 'Tried');
}

/**
 * Verifies `dataPath` against the detached signature in `sig` with the spec's
 * pinned key. Throws SIGNATURE_INVALID naming the file, the signature, the
 * expected key and gpgv's output.
 */
export async function verifySignature(spec: SourceSpec, dataPath: string, sig: Buffer, sigUrl?: string): Promise<SignatureCheck> {
  const pin = spec.signature!;
  const kind = signatureKind(sig);
  if (kind === 'not a signature') {
    const start = sig.subarray(0, 60).toString('utf8').replace(/\s+/g, ' ').trim();
    throw failure(
      spec,
      'not a signature',
      [`${pin.file} starts with ${JSON.stringify(start)} (${sig.length} bytes): an error page or a wrong file, not an OpenPGP signature`],
      sigUrl,
      'Found',
    );
  }
  const dir = await stateTempDir('osforge-gpg');
  try {
    const keyring = join(dir, 'keyring.gpg');
    const sigPath = join(dir, 'data.sig');
    await writeFile(sigPath, sig);
    const unreadableKey = (detail: string) => failure(spec, `the key in images/${pin.key} cannot be read`, detail.trim().split('\n'), sigUrl);
    // gpgv reads binary keyrings only; --dearmor converts the repo's armoured key.
    await writeFile(join(dir, 'key.asc'), pin.keyArmored).catch((err: unknown) => {
      throw unreadableKey(String(err));
    });
    const dearmor = await captureHost('gpg', ['--batch', '--no-options', '--homedir', dir, '--output', keyring, '--dearmor', join(dir, 'key.asc')]);
    if (dearmor.code !== 0) throw unreadableKey(dearmor.stderr.toString());
    const r = await captureHost('gpgv', ['--homedir', dir, '--keyring', keyring, '--status-fd', '1', sigPath, dataPath]);
    if (r.error?.code === 'ENOENT')
      throw new OsforgeError('HOST_SETUP', 'gpgv is not installed: it verifies the upstream signatures of pinned sources', {
        hint: 'run builder/setup-host.sh (it installs gpgv), or BUCKOS_VERIFY_SIGNATURES=0 to skip the check',
      });
    const status = r.stdout.toString();
    const stderr = r.stderr.toString();
    const valid = /^\[GNUPG:\] VALIDSIG ([0-9A-F]{40}) /m.exec(status)?.[1];
    const gpgLines = stderr.trim().split('\n').filter(Boolean);
    if (!valid) {
      const why = /^\[GNUPG:\] BADSIG /m.test(status)
        ? 'BAD signature (the file or the signature was altered)'
        : /^\[GNUPG:\] (NO_PUBKEY|ERRSIG) /m.test(status)
          ? 'made by a key other than the pinned one'
          : 'gpgv did not report a valid signature';
      throw failure(spec, why, gpgLines, sigUrl);
    }
    if (valid !== normalize(pin.fingerprint)) throw failure(spec, `signed by ${valid}, not the pinned key`, gpgLines, sigUrl);
    return { status: 'verified', file: pin.file, fingerprint: valid };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
