// Verifies a downloaded package against its .sha256 file and what the
// caller asked for (pure). Never lets a mismatching package through.
import { OsforgeError } from '../errors.ts';
import { sha256 } from '../util/hash.ts';
import { parseChecksumFile, type ChecksumFile } from './checksum-file.ts';
import { binaryFilename } from './naming.ts';

export interface Expected {
  name: string;
  version: string;
  configHash: string;
  arch: string;
  /** Full sha256 from the mirror index, when the package was found through it. */
  sha256?: string;
}

/** Returns the parsed .sha256 file; throws SHA256_MISMATCH naming expected vs actual. */
export function verifyPackage(data: Uint8Array | { sha256: string }, checksumText: string, want: Expected, where: string): ChecksumFile {
  const filename = binaryFilename(want.name, want.version, want.configHash);
  let c: ChecksumFile;
  try {
    c = parseChecksumFile(checksumText, `${where}.sha256`);
  } catch (err) {
    throw new OsforgeError(
      'SHA256_MISMATCH',
      (err as Error).message,
      { arch: want.arch, hint: 'the mirror holds a damaged .sha256 file; re-upload the package' },
      { cause: err },
    );
  }
  const mismatches: string[] = [];
  const check = (what: string, expected: string, actual: string) => {
    if (expected !== actual) mismatches.push(`${what}: expected ${expected}, got ${actual}`);
  };
  check('filename', filename, c.filename);
  check('Package', want.name, c.name);
  check('Version', want.version, c.version);
  check('Config Hash', want.configHash, c.configHash);
  check('Target arch', want.arch, c.arch);
  if (mismatches.length) {
    throw new OsforgeError('SHA256_MISMATCH', `metadata of ${where} does not match the package requested: ${mismatches.join('; ')}`, {
      arch: want.arch,
      hint: 'the .sha256 file describes a different package; the mirror is inconsistent, re-upload the package',
    });
  }
  // The sha256 may have been computed while the package streamed to disk.
  const actual = data instanceof Uint8Array ? sha256(data) : data.sha256;
  if (actual !== c.sha256) {
    throw new OsforgeError('SHA256_MISMATCH', `hash mismatch for ${filename}: expected sha256 ${c.sha256} (from its .sha256), actual ${actual}`, {
      arch: want.arch,
      hint: 'the download is corrupt or was tampered with; delete it from the cache dir and retry, or re-upload the package',
    });
  }
  if (c.contentHash !== actual.slice(0, 8)) {
    throw new OsforgeError('SHA256_MISMATCH', `content hash mismatch for ${filename}: .sha256 says ${c.contentHash}, actual ${actual.slice(0, 8)}`, {
      arch: want.arch,
      hint: 'the .sha256 metadata is inconsistent; re-upload the package',
    });
  }
  if (want.sha256 !== undefined && want.sha256 !== actual) {
    throw new OsforgeError('SHA256_MISMATCH', `hash mismatch for ${filename}: the mirror index expects sha256 ${want.sha256}, actual ${actual}`, {
      arch: want.arch,
      hint: 'index.json and the package disagree; regenerate the index with `osforge upload --generate-index-only`',
    });
  }
  return c;
}
