import { OsforgeError } from '../errors.ts';
import { guarded, nonEmpty, refuseTogether } from '../binpkg/cli-guard.ts';
import { limitsFrom } from '../binpkg/limits.ts';
import { upload } from '../binpkg/publish.ts';
import { loadSigningKey } from '../crypto/keyfile.ts';
import type { Command } from './types.ts';

/** --timestamp-expiry: a number with d, h, m or s (plain numbers are seconds). */
export function parseExpiry(text: string): number {
  const m = /^\s*(\d+)\s*([dhms]?)\s*$/i.exec(text);
  const mult = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, '': 1000 }[(m?.[2] ?? '').toLowerCase() as 'd' | 'h' | 'm' | 's' | ''];
  const ms = m ? Number(m[1]) * mult : NaN;
  if (!Number.isSafeInteger(ms) || ms <= 0) {
    throw new OsforgeError('USAGE', `invalid --timestamp-expiry ${JSON.stringify(text)}`, { hint: 'give a positive number with d, h, m or s, e.g. 7d or 36h' });
  }
  return ms;
}

const help = `usage: osforge upload --source DIR (--mirror DEST | --generate-index-only) [options]
       osforge upload --refresh-timestamp --mirror DEST --sign-key FILE [--timestamp-expiry TIME]

Publishes the *-bin.tar.gz packages of DIR (flat, or already in letter
directories), each with its .sha256 and optional .sig, to a mirror laid out by
the first letter of the package name (b/bash-5.3-a1b2c3d4-bin.tar.gz), and
rewrites the mirror's index.json ("total", "packages", "by_name"; entries carry
name, version, arch, config_hash, file_hash, filename, size, sha256).

Every package is verified against its .sha256 and unpacked through the same
archive policy as \`osforge install\` (no absolute or ".." paths, links out
of the package root, devices, bombs over --max-unpacked-size) before it is
published. With --sign-key, index.json.sig is written beside index.json, and
every package must carry <file>.sig and <file>.sha256.sig (written by
\`osforge package --sign-key\`); a local mirror whose index is signed refuses
an upload without --sign-key. The
index covers the whole mirror (a local mirror is rescanned, a remote one is
read through its index.json over ssh). Packages go first, index.json last
and atomically. Uploading the same packages again changes nothing; a
different file under a name the mirror already has is refused.
With --sign-key the mirror is also a TUF repository (tuf-js): beside
index.json go root.json and N.root.json (the keys; version N), N.targets.json
(index.json and every package and .sha256, each with length and sha256),
N.snapshot.json and timestamp.json, signed with the same ECDSA P-256 key
(TUF "ecdsa-sha2-nistp256"). Every publish that changes the mirror raises
their versions; publishing the same packages again writes nothing. Root,
targets and snapshot expire after 365 days (a publish renews them when less
than 30 days are left), timestamp.json after --timestamp-expiry (default 7d):
run \`upload --refresh-timestamp\` from cron well within that, or installs
refuse the mirror as frozen. --new-root-key rotates the root to another key
(N+1.root.json, signed by the current and the new key; later uploads sign with
the new one); naming the current key again renews the root's expiry.
File names always end in -bin.tar.gz (the upstream BuckOS documentation's
index example shows another form; its naming rules are followed).

DEST is a local directory, or user@host:/path (scp + ssh; with --use-rsync,
rsync over ssh). With --use-rsync a local DEST is written by rsync too.
$OSFORGE_SSH_CONFIG names an ssh_config file (port, identity, known hosts)
that ssh, scp and rsync use instead of ~/.ssh/config.

options:
  -s, --source DIR           directory with the packages (required)
  -m, --mirror DEST          mirror directory or user@host:/path
  -r, --use-rsync            use rsync instead of scp (remote) or a plain copy (local)
      --staging-dir DIR      where the per-run staging dir is created (default: a fresh private dir in $TMPDIR)
  -i, --generate-index-only  only write DIR/index.json describing the packages in DIR; upload nothing
  -n, --dry-run              show what would be uploaded; write nothing
      --sign-key FILE        cosign private key to sign index.json and the TUF metadata with (password: $COSIGN_PASSWORD or a prompt)
      --new-root-key FILE    rotate the TUF root to this cosign private key (needs --sign-key, the current root key)
      --timestamp-expiry TIME  how long timestamp.json stays valid: a number with d, h, m or s (default 7d)
      --refresh-timestamp    only re-sign timestamp.json (next version, new expiry); takes --mirror and --sign-key
      --max-unpacked-size SIZE  largest decompressed package accepted ($OSFORGE_MAX_UNPACKED_SIZE; default 2G)
  -h, --help                 show this help

--refresh-timestamp takes no --source, --generate-index-only or --new-root-key.
--generate-index-only takes no --mirror, --use-rsync or --staging-dir; with
--dry-run it only says what index it would write.
SIZE is bytes or a number with K, M or G (powers of 1024).`;

export const uploadCommand: Command = {
  name: 'upload',
  summary: 'publish binary packages to a mirror (local dir, scp or rsync) and rewrite index.json',
  help,
  options: {
    source: { type: 'string', short: 's' },
    mirror: { type: 'string', short: 'm' },
    'use-rsync': { type: 'boolean', short: 'r' },
    'staging-dir': { type: 'string' },
    'generate-index-only': { type: 'boolean', short: 'i' },
    'dry-run': { type: 'boolean', short: 'n' },
    'sign-key': { type: 'string' },
    'new-root-key': { type: 'string' },
    'timestamp-expiry': { type: 'string' },
    'refresh-timestamp': { type: 'boolean' },
    'max-unpacked-size': { type: 'string' },
  },
  run(values) {
    return guarded('osforge upload', () => runUpload(values));
  },
};

async function runUpload(values: Record<string, unknown>): Promise<number> {
  {
    const keyPath = nonEmpty(values, 'sign-key');
    const signKey = keyPath ? (await loadSigningKey({ path: keyPath, from: '--key' })).privateKey : undefined;
    const newRootPath = nonEmpty(values, 'new-root-key');
    const timestampExpiry = nonEmpty(values, 'timestamp-expiry');
    const timestampExpiryMs = timestampExpiry === undefined ? undefined : parseExpiry(timestampExpiry);
    if (timestampExpiryMs !== undefined && !keyPath)
      throw new OsforgeError('USAGE', '--timestamp-expiry needs --sign-key: only a signed mirror has TUF metadata');
    if (values['refresh-timestamp']) {
      refuseTogether(values, 'refresh-timestamp', ['source', 'generate-index-only', 'new-root-key'], 'it re-signs timestamp.json alone');
      const mirror = nonEmpty(values, 'mirror');
      if (!mirror) throw new OsforgeError('USAGE', '--refresh-timestamp needs --mirror DEST');
      if (!signKey) throw new OsforgeError('USAGE', "--refresh-timestamp needs --sign-key FILE (the mirror's timestamp key)");
      await upload({
        source: '',
        mirror,
        refreshTimestamp: true,
        signKey,
        timestampExpiryMs,
        generateIndexOnly: false,
        useRsync: Boolean(values['use-rsync']),
        stagingDir: nonEmpty(values, 'staging-dir'),
        dryRun: Boolean(values['dry-run']),
        log: (m) => process.stdout.write(`${m}\n`),
      });
      return 0;
    }
    const source = nonEmpty(values, 'source');
    if (!source) throw new OsforgeError('USAGE', '--source DIR is required');
    const generateIndexOnly = Boolean(values['generate-index-only']);
    const mirror = nonEmpty(values, 'mirror');
    refuseTogether(values, 'generate-index-only', ['mirror', 'use-rsync', 'staging-dir'], 'it writes the index into --source and uploads nothing');
    if (!generateIndexOnly && !mirror) throw new OsforgeError('USAGE', '--mirror DEST is required (or --generate-index-only)');
    if (newRootPath && !signKey) throw new OsforgeError('USAGE', '--new-root-key needs --sign-key (the current root key signs the new root)');
    const newRootKey = newRootPath ? (await loadSigningKey({ path: newRootPath, from: '--key' })).privateKey : undefined;
    await upload({
      source,
      mirror,
      generateIndexOnly,
      signKey,
      newRootKey,
      timestampExpiryMs,
      useRsync: Boolean(values['use-rsync']),
      stagingDir: nonEmpty(values, 'staging-dir'),
      dryRun: Boolean(values['dry-run']),
      limits: limitsFrom(values),
      log: (m) => process.stdout.write(`${m}\n`),
    });
    return 0;
  }
}
