import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { OsforgeError } from '../errors.ts';
import { upload } from '../binpkg/publish.ts';
import type { Command } from './types.ts';

const help = `usage: osforge upload --source DIR (--mirror DEST | --generate-index-only) [options]

Publishes the *-bin.tar.gz packages of DIR (flat, or already in letter
directories), each with its .sha256 and optional .sig, to a mirror laid out by
the first letter of the package name (b/bash-5.3-a1b2c3d4-bin.tar.gz), and
rewrites the mirror's index.json ("total", "packages", "by_name"; entries carry
name, version, arch, config_hash, file_hash, filename, size, sha256).

Every package is verified against its .sha256 before it is published. The
index covers the whole mirror (a local mirror is rescanned, a remote one is
read through its index.json over ssh). Packages go first, index.json last
and atomically. Uploading the same packages again changes nothing; a
different file under a name the mirror already has is refused.
File names always end in -bin.tar.gz (the upstream BuckOS documentation's
index example shows another form; its naming rules are followed).

DEST is a local directory, or user@host:/path (scp + ssh; with --use-rsync,
rsync over ssh). With --use-rsync a local DEST is written by rsync too.

options:
  -s, --source DIR           directory with the packages (required)
  -m, --mirror DEST          mirror directory or user@host:/path
  -r, --use-rsync            use rsync instead of scp (remote) or a plain copy (local)
      --staging-dir DIR      where the upload tree is assembled (default: $TMPDIR/buckos-binaries-staging)
  -i, --generate-index-only  only write DIR/index.json describing the packages in DIR; upload nothing
  -n, --dry-run              show what would be uploaded; write nothing
  -h, --help                 show this help`;

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
  },
  async run(values) {
    const source = values.source as string | undefined;
    if (!source) throw new OsforgeError('USAGE', '--source DIR is required');
    const generateIndexOnly = Boolean(values['generate-index-only']);
    const mirror = values.mirror as string | undefined;
    if (!generateIndexOnly && !mirror) throw new OsforgeError('USAGE', '--mirror DEST is required (or --generate-index-only)');
    if (generateIndexOnly && mirror) throw new OsforgeError('USAGE', '--generate-index-only writes the index into --source; it takes no --mirror');
    await upload({
      source, mirror, generateIndexOnly,
      useRsync: Boolean(values['use-rsync']),
      stagingDir: (values['staging-dir'] as string | undefined) ?? join(tmpdir(), 'buckos-binaries-staging'),
      dryRun: Boolean(values['dry-run']),
      log: (m) => process.stdout.write(`${m}\n`),
    });
    return 0;
  },
};
