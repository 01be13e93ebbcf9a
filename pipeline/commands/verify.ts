import { resolve } from 'node:path';
import { OsforgeError } from '../errors.ts';
import { paths } from '../paths.ts';
import { DEFAULT_PUBLIC_KEY, loadVerifyKey } from '../crypto/keyfile.ts';
import { verifyDist, type CheckResult } from '../sign/verify-dist.ts';
import { assertReleaseDir } from '../sign/dist-files.ts';
import { RELEASE_LIMITS_HELP, releaseLimitOptions, releaseLimitsFrom } from '../sign/release-reads.ts';
import { printable } from '../util/printable.ts';
import type { Command } from './types.ts';

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'verify the signatures, bundles, provenance and checksums of dist/',
  help: `usage: osforge verify [dist] [--key <path>] [--max-artifact-size SIZE] [--max-metadata-size SIZE]

Verifies a signed release directory (default: dist/, or $OSFORGE_DIST)
against a public key, offline:
  - provenance.intoto.jsonl: DSSE signature, SLSA v1 predicate, and that every
    subject's sha256 matches the file;
  - for every signed file (the provenance subjects plus every artifact in
    manifest.json, SHA256SUMS and manifest.json): <file>.sig and
    <file>.sigstore.json (key hint, digest and signature);
  - SHA256SUMS, each artifact's .sha256 file and the digests and sizes in
    manifest.json;
  - that no other file sits in the directory unsigned.
Only files the directory itself holds are opened, as regular files under a
size cap: a name in SHA256SUMS (or the provenance) that is absolute, has ".."
or names no file of the release, a symlink, a FIFO or a device is a FAIL,
never read.
Prints PASS or FAIL for each file with the reasons, and exits 1 if anything failed.

options:
  --key <path>  PEM public key (default: ${DEFAULT_PUBLIC_KEY})
${RELEASE_LIMITS_HELP}
  -h, --help    show this help`,
  options: { key: { type: 'string' }, ...releaseLimitOptions },
  positionals: true,
  async run(values, positionals) {
    if (positionals.length > 1) throw new OsforgeError('USAGE', `verify takes one release directory, got ${positionals.length}`);
    const dist = positionals[0] ? resolve(positionals[0]) : paths.dist();
    await assertReleaseDir(dist);
    const keyPath = resolve((values.key as string | undefined) ?? DEFAULT_PUBLIC_KEY);
    const publicKey = await loadVerifyKey(keyPath);
    const results = await verifyDist(dist, publicKey, releaseLimitsFrom(values));
    process.stdout.write(formatReport(results));
    const failedFiles = new Set(results.filter((r) => !r.ok).map((r) => r.file));
    const files = new Set(results.map((r) => r.file));
    process.stdout.write(`${dist}: ${files.size - failedFiles.size} of ${files.size} files passed against ${keyPath}\n`);
    return failedFiles.size === 0 ? 0 : 1;
  },
};

/** One line per file: PASS with the checks done, or FAIL with every reason. */
export function formatReport(results: CheckResult[]): string {
  const byFile = new Map<string, CheckResult[]>();
  for (const r of results) byFile.set(r.file, [...(byFile.get(r.file) ?? []), r]);
  let out = '';
  for (const [file, rs] of [...byFile].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const failed = rs.filter((r) => !r.ok);
    // File names and details come from the release (names in SHA256SUMS, the provenance): escaped for the terminal.
    if (failed.length === 0) out += `PASS  ${printable(file, 1000)}  (${[...new Set(rs.map((r) => r.check))].join(', ')})\n`;
    else {
      out += `FAIL  ${printable(file, 1000)}\n`;
      for (const r of failed) out += `        ${r.check}: ${printable(r.detail, 1000)}\n`;
    }
  }
  return out;
}
