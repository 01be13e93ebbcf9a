import { join } from 'node:path';
import { OsforgeError } from '../errors.ts';
import { guarded, nonEmpty } from '../binpkg/cli-guard.ts';
import { loadSigningKey } from '../crypto/keyfile.ts';
import { paths } from '../paths.ts';
import { packageAll } from '../binpkg/packager.ts';
import { upload } from '../binpkg/publish.ts';
import type { Command } from './types.ts';

const help = `usage: osforge package [options] [<package>...]

Writes a binary package for every stage2 package of every arch listed in
dist/manifest.json (or only the named packages):

  <package>-<version>-<config_hash>-bin.tar.gz         the stage store's output.tar.gz, byte for byte
  <package>-<version>-<config_hash>-bin.tar.gz.sha256  "<sha256>  <filename>" (sha256sum -c works),
                                                       then # Config Hash, # Content Hash, # Package,
                                                       # Version and # Target: //stage2/<arch>:<package>

The config hash is the first 8 hex digits of sha256 over the arch, the
compiler (meta.json "compiler", else the manifest's toolchain), the USE flags
and the package's stage key (a hash over its full dependency graph). The
content hash is the first 8 hex digits of the package file's sha256. Builds of
one version with different configurations get different names and coexist.
Existing identical files are left alone.

Reads <state dir>/stages/<key>/{output.tar.gz,meta.json} ($OSFORGE_STATE_DIR,
default ~/.cache/osforge).

options:
  -o, --output-dir DIR   where to write the packages (default: ./binaries)
      --manifest FILE    the manifest to read (default: dist/manifest.json)
  -u, --upload           publish the packages afterwards (as \`osforge upload --source DIR\`)
  -m, --mirror-url DEST  upload destination: a directory or user@host:/path (needed with --upload)
  -r, --use-rsync        upload with rsync instead of scp / a local copy (only with --upload)
      --sign-key FILE    cosign private key (password: $COSIGN_PASSWORD or a prompt): writes
                         <file>.sig over the package and <file>.sha256.sig over its metadata,
                         so the signature binds name, version, config hash, arch and sha256;
                         with --upload, index.json.sig too
  -h, --help             show this help`;

export const packageCommand: Command = {
  name: 'package',
  summary: 'write <pkg>-<ver>-<config_hash>-bin.tar.gz + .sha256 for every stage2 package',
  help,
  positionals: true,
  options: {
    'output-dir': { type: 'string', short: 'o' },
    manifest: { type: 'string' },
    upload: { type: 'boolean', short: 'u' },
    'mirror-url': { type: 'string', short: 'm' },
    'use-rsync': { type: 'boolean', short: 'r' },
    'sign-key': { type: 'string' },
  },
  run(values, positionals) {
    return guarded('osforge package', () => runPackage(values, positionals));
  },
};

async function runPackage(values: Record<string, unknown>, positionals: string[]): Promise<number> {
  {
    const outputDir = nonEmpty(values, 'output-dir') ?? 'binaries';
    const mirror = nonEmpty(values, 'mirror-url');
    if (!values.upload && values['use-rsync']) throw new OsforgeError('USAGE', '--use-rsync is only used with --upload');
    if (values.upload && !mirror) throw new OsforgeError('USAGE', '--upload needs --mirror-url DEST (a directory or user@host:/path)');
    if (!values.upload && mirror) throw new OsforgeError('USAGE', '--mirror-url is only used with --upload');
    const keyPath = nonEmpty(values, 'sign-key');
    const signKey = keyPath ? (await loadSigningKey({ path: keyPath, from: '--key' })).privateKey : undefined;
    const files = await packageAll({
      manifestPath: nonEmpty(values, 'manifest') ?? join(paths.dist(), 'manifest.json'),
      stagesDir: paths.stages(),
      outputDir,
      only: positionals,
      signKey,
    });
    for (const f of files) {
      process.stdout.write(`${f.written ? 'wrote    ' : 'unchanged'} ${f.path}  (${f.arch}, config ${f.configHash}, content ${f.contentHash})\n`);
    }
    if (values.upload) {
      await upload({
        source: outputDir,
        mirror,
        useRsync: Boolean(values['use-rsync']),
        signKey,
        generateIndexOnly: false,
        dryRun: false,
        log: (m) => process.stderr.write(`${m}\n`),
      });
    }
    return 0;
  }
}
