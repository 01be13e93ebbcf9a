import { resolve } from 'node:path';
import { OsforgeError } from '../errors.ts';
import { paths } from '../paths.ts';
import { DEFAULT_PUBLIC_KEY, loadVerifyKey } from '../sign/keyfile.ts';
import { verifyDist, type CheckResult } from '../sign/verify-dist.ts';
import { assertReleaseDir } from '../sign/dist-files.ts';
import type { Command } from './types.ts';

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'verify the signatures, bundles, provenance and checksums of dist/',
  help: `usage: osforge verify [dist] [--key <path>]

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
Prints PASS or FAIL for each file with the reasons, and exits 1 if anything failed.

options:
  --key <path>  PEM public key (default: ${DEFAULT_PUBLIC_KEY})
  -h, --help    show this help`,
  options: { key: { type: 'string' } },
  positionals: true,
  async run(values, positionals) {
    if (positionals.length > 1) throw new OsforgeError('USAGE', `verify takes one release directory, got ${positionals.length}`);
    const dist = positionals[0] ? resolve(positionals[0]) : paths.dist();
    await assertReleaseDir(dist);
    const keyPath = resolve((values.key as string | undefined) ?? DEFAULT_PUBLIC_KEY);
    const publicKey = await loadVerifyKey(keyPath);
    const results = await verifyDist(dist, publicKey);
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
    if (failed.length === 0) out += `PASS  ${file}  (${[...new Set(rs.map((r) => r.check))].join(', ')})\n`;
    else {
      out += `FAIL  ${file}\n`;
      for (const r of failed) out += `        ${r.check}: ${r.detail}\n`;
    }
  }
  return out;
}
