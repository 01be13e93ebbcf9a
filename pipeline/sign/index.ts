// Signed releases: cosign-compatible keys and blob signatures, sigstore
// bundles, SLSA provenance, SPDX SBOM. What other modules may use.
export { isSignatureFile } from './release-files.ts';
export { signDist, type SignDistOptions } from './sign-dist.ts';
export { verifyDist, checkIntegrity, type CheckResult } from './verify-dist.ts';
