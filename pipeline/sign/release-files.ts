// Which files `osforge sign` signs, and the check of a manifest's paths.
// The file names themselves are model/release-files.ts's. Pure.
import { isAbsolute, normalize, sep } from 'node:path';
import { OsforgeError } from '../errors.ts';
import type { Manifest } from '../model/manifest.ts';
import { MANIFEST_FILE, SUMS_FILE } from '../model/release-files.ts';

export {
  BUNDLE_SUFFIX,
  bundlePath,
  CHECKSUM_SUFFIX,
  COMMIT_BOUND_FILES,
  GENERATED_SIGNED_FILES,
  isSignatureFile,
  MANIFEST_FILE,
  PROVENANCE_FILE,
  RELEASE_NOTES_FILE,
  SBOM_FILE,
  SIG_SUFFIX,
  sigPath,
  SUMS_FILE,
} from '../model/release-files.ts';

/** Rejects manifest paths that would escape dist/ (absolute, `..`, backslashes). */
export function safeDistPath(p: string): string {
  const n = normalize(p);
  if (!p || isAbsolute(p) || p.includes('\\') || n.startsWith('..') || n.split(sep).includes('..') || n !== p) {
    throw new OsforgeError('CONFIG_INVALID', `manifest.json lists an unsafe artifact path ${JSON.stringify(p)}`, {
      hint: 'artifact paths must be relative to dist/ and must not contain ".."',
    });
  }
  return p;
}

/** Files that must be signed whatever else is present: every manifest artifact, SHA256SUMS, manifest.json. */
export function requiredSignedFiles(m: Manifest): string[] {
  const set = new Set<string>([...m.artifacts.map((a) => safeDistPath(a.path)), SUMS_FILE, MANIFEST_FILE]);
  return [...set].sort();
}
