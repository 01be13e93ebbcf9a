import { resolve } from 'node:path';
import { OsforgeError } from '../errors.ts';
import { paths, repoRoot } from '../paths.ts';
import { DEFAULT_PRIVATE_KEY, KEY_ENV, loadSigningKey, locateSigningKey } from '../crypto/keyfile.ts';
import { PASSWORD_ENV } from '../crypto/password.ts';
import { RELEASE_LIMITS_HELP, releaseLimitOptions, releaseLimitsFrom } from '../sign/release-reads.ts';
import { BUILDER_ID_ENV, checkSignable, signDist } from '../sign/sign-dist.ts';
import { assertRepoDir } from './changelog.ts';
import type { Command } from './types.ts';
import { settings } from '../settings.ts';

export const signCommand: Command = {
  name: 'sign',
  summary: 'sign dist/ and write SBOM, SLSA provenance and release notes',
  help: `usage: osforge sign [dist] [--key <path>] [--require-key] [--no-release-notes] [--repo <dir>]
                   [--max-artifact-size SIZE] [--max-metadata-size SIZE]

Signs a built release directory (default: dist/, or $OSFORGE_DIST). First it
checks that every artifact matches manifest.json, SHA256SUMS and its .sha256
file, and refuses to sign otherwise. Then it writes, in the release directory:
  RELEASE_NOTES.md          conventional-changelog notes up to manifest.commit
  sbom.spdx.json            SPDX 2.3 SBOM of every package on every arch
  provenance.intoto.jsonl   SLSA v1 provenance, DSSE-signed (verify with
                            cosign verify-blob-attestation --type slsaprovenance1)
and, for every artifact in manifest.json plus SHA256SUMS, manifest.json,
sbom.spdx.json and RELEASE_NOTES.md:
  <file>.sig                base64 DER ECDSA signature (cosign sign-blob format)
  <file>.sigstore.json      sigstore bundle v0.3 with the same signature

The key is --key, else $${KEY_ENV}, else ./${DEFAULT_PRIVATE_KEY} if it exists; its password
comes from $${PASSWORD_ENV} or a terminal prompt. With no key configured at all,
signing is skipped with a note and the exit status is 0, unless --require-key
is given (as \`make release\` does), which makes a missing key an error.
Set $${BUILDER_ID_ENV} to record a builder id (e.g. a CI runner URI) in the provenance.

options:
  --key <path>        encrypted cosign private key to sign with
  --require-key       fail instead of skipping when no key is configured
  --no-release-notes  do not write (or sign) RELEASE_NOTES.md
  --repo <dir>        git checkout the release was built from, for release
                      notes and config digests (default: the osforge checkout)
Only regular files the directory holds are read (a symlink, FIFO or device is refused), each under a size cap:
${RELEASE_LIMITS_HELP}
  -h, --help          show this help`,
  options: {
    key: { type: 'string' },
    'require-key': { type: 'boolean' },
    'no-release-notes': { type: 'boolean' },
    repo: { type: 'string' },
    ...releaseLimitOptions,
  },
  positionals: true,
  async run(values, positionals) {
    if (positionals.length > 1) throw new OsforgeError('USAGE', `sign takes one release directory, got ${positionals.length}`);
    const dist = positionals[0] ? resolve(positionals[0]) : paths.dist();
    // A bad dist/ is refused first: before a password prompt, and even when no key is configured.
    const limits = releaseLimitsFrom(values);
    await checkSignable(dist, limits);
    const loc = locateSigningKey(values.key as string | undefined);
    if (!loc) {
      const why = `no key configured (no --key, no $${KEY_ENV}, no ./${DEFAULT_PRIVATE_KEY})`;
      if (values['require-key']) {
        throw new OsforgeError('CONFIG_INVALID', `cannot sign ${dist}: ${why}`, {
          stage: 'sign',
          hint: `create a key with \`osforge keygen\` or set $${KEY_ENV}, and set $${PASSWORD_ENV}`,
        });
      }
      process.stderr.write(
        `signing skipped: ${why}; ${dist} is unsigned. Run \`osforge keygen\` to create a key, or pass --require-key to make this an error.\n`,
      );
      return 0;
    }
    const repo = values.repo ? resolve(values.repo as string) : repoRoot;
    assertRepoDir(repo);
    const keyPair = await loadSigningKey(loc);
    const signed = await signDist({
      dist,
      keyPair,
      repo,
      releaseNotes: values['no-release-notes'] !== true,
      builderId: settings().builderId || undefined,
      log: (line) => process.stdout.write(line + '\n'),
      limits,
    });
    process.stdout.write(`signed ${signed.length} files in ${dist} with ${loc.path}\n`);
    return 0;
  },
};
