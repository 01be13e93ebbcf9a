// The names of the files osforge writes into dist/ beside the artifacts
// (manifest, sums, SBOM, provenance, release notes, their signatures), and
// which of them stand for the commit manifest.json records. Vocabulary shared
// by outputs/ (which keeps the commit-bound files honest) and sign/ (which
// writes them); pure.

export const MANIFEST_FILE = 'manifest.json';
export const SUMS_FILE = 'SHA256SUMS';
export const SBOM_FILE = 'sbom.spdx.json';
export const PROVENANCE_FILE = 'provenance.intoto.jsonl';
export const RELEASE_NOTES_FILE = 'RELEASE_NOTES.md';
export const SIG_SUFFIX = '.sig';
export const BUNDLE_SUFFIX = '.sigstore.json';
export const CHECKSUM_SUFFIX = '.sha256';

/**
 * True for the outputs that differ on every signing run (ECDSA signatures are
 * randomized): `<file>.sig` and `<file>.sigstore.json`. The reproducibility
 * check skips these and compares everything else, including the SBOM and the
 * provenance (whose DSSE signature is deterministic, RFC 6979).
 */
export function isSignatureFile(name: string): boolean {
  return name.endsWith(SIG_SUFFIX) || name.endsWith(BUNDLE_SUFFIX);
}

/** Files osforge writes next to the artifacts that are themselves signed like artifacts. */
export const GENERATED_SIGNED_FILES = [SBOM_FILE, RELEASE_NOTES_FILE] as const;

export function sigPath(file: string): string {
  return file + SIG_SUFFIX;
}
export function bundlePath(file: string): string {
  return file + BUNDLE_SUFFIX;
}

/**
 * Signing outputs that stand for the commit manifest.json records: the
 * signatures of manifest.json and SHA256SUMS, the provenance (it names the
 * commit and their digests) and the release notes (written up to that
 * commit) with theirs. A new commit in the manifest makes them stale; the
 * SBOM and the artifacts' signatures stay true.
 */
export const COMMIT_BOUND_FILES: readonly string[] = [
  PROVENANCE_FILE,
  RELEASE_NOTES_FILE,
  ...[MANIFEST_FILE, SUMS_FILE, RELEASE_NOTES_FILE].flatMap((f) => [sigPath(f), bundlePath(f)]),
];
