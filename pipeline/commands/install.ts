import type { KeyObject } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { OsforgeError } from '../errors.ts';
import { readBinaryMirrorSetting } from '../binpkg/buckconfig.ts';
import { loadVerifyKey } from '../crypto/keyfile.ts';
import { installBinary, listAvailable } from '../binpkg/installer.ts';
import { guarded, nonEmpty, refuseTogether } from '../binpkg/cli-guard.ts';
import { LIMITS_HELP, limitOptions, limitsFrom } from '../binpkg/limits.ts';
import { assertPackageId, hostArch, isHash8 } from '../binpkg/naming.ts';
import { describeEntry } from '../binpkg/select.ts';
import type { Command } from './types.ts';
import { settings } from '../settings.ts';

const help = `usage: osforge install <package> [options]

Downloads a binary package from a mirror, verifies it and installs it under
a prefix.

Selection: the name and arch must match; --version must match exactly (without
it the newest version is taken, and the output says so); --config-hash must
match exactly (without it, the version must have a single configuration for
the arch, otherwise the candidates are listed and nothing is installed);
--file-hash, if given, must match. The choice and its reasons are printed.

Trust, for a mirror published with \`osforge upload --sign-key\` (a TUF
repository: root.json, timestamp.json, N.snapshot.json, N.targets.json
beside index.json): the TUF client workflow (tuf-js) runs from a trusted
root: the one this prefix already trusts (<prefix>/var/db/pkg/.tuf/<id>/,
kept from the last successful install; the cache dir's .tuf/ for
--download-only and --list), else --root FILE (or "binary_mirror_root" in
[buckos] of the --config file), else the mirror's root.json if it is signed
by --key, else, with --trust-on-first-use only, the mirror's root.json as it
is. It refuses, naming the role, versions or dates: rollback (older metadata
than already trusted), freeze (an expired timestamp), mix-and-match (a
snapshot or targets that are not the ones the newer role states), metadata
without a threshold of valid signatures, and a new root not signed by the
trusted one. index.json, the package and its .sha256 are then read only as
TUF targets, each up to its signed length and checked against its sha256; a
file the targets do not list is never read. A prefix that trusts a TUF root
refuses a mirror that stops serving TUF metadata.

Downgrades: without --version, an installed newer version is never replaced
by an older one (refused, naming both); with --version the downgrade is done
and printed as one.

Verification, before anything is written to the prefix: the sha256 of the
file against its .sha256, the .sha256 metadata (file name, Package, Version,
Config Hash, Content Hash, Target arch) against the selection, and the sha256
from index.json. With --key (a cosign public key), the mirror must be signed:
index.json.sig over index.json, <file>.sig over the package and
<file>.sha256.sig over its metadata, so a signed package relabelled as
another name, version, config or arch is refused. Without --key, a signed
package is refused, since its signature could not be checked.

Extraction is refused, with the prefix untouched, for absolute paths, "..",
symlinks leading outside the prefix, entries below a symlink, hardlinks to
anything but a file of the same package, device nodes, anything at
var/db/pkg (or a non-directory at var or var/db), and files that would
overwrite files owned by another or no package. Every path written or
removed is resolved through the prefix's own symlinks and refused if it
leaves the prefix (symlinks inside the prefix are fine). A prefix whose var,
var/db or var/db/pkg is a symlink is refused.

install, upgrade and uninstall lock <prefix>/var/db/pkg/.lock (holder's pid,
boot id, start time and command). A second command waits and says who holds
the lock, or with --no-wait fails at once; a lock left by a dead process is
taken over (and that is logged). The package is unpacked in
<prefix>/.osforge-staging-*, a journal (<prefix>/var/db/pkg/.journal) lists
every move before the first one, and the files are renamed into place. If
the command is killed, the next install or uninstall rolls the prefix back
(or completes a committed install), so it is never left half-installed.
Installed files are recorded in <prefix>/var/db/pkg/<name>-<version>/
{CONTENTS,binpkg.json}; installing the same package again does nothing,
installing another version or configuration replaces it, and \`osforge
uninstall\` removes exactly those files.

The mirror is --mirror-url, else $BINARY_MIRROR, else "binary_mirror" in the
[buckos] section of the --config file. It holds index.json (or has it under
binaries/); without an index, --version and --config-hash find the package at
its first-letter path.

options:
  -v, --version VERSION     package version (exact)
  -c, --config-hash HASH    config hash (8 hex digits)
  -f, --file-hash HASH      file hash (8 hex digits, the start of the package's sha256)
      --arch ARCH           architecture to install (default: this host's, ${hostArch()})
  -m, --mirror-url URL      mirror: http://, https://, file:// or a directory
      --config FILE         .buckconfig-style file to read [buckos] binary_mirror from (default: ./.buckconfig)
  -p, --prefix PATH         installation prefix (default: /usr)
  -d, --download-only       download and verify into the cache dir; do not install
  -l, --list                list the builds of <package> on the mirror
      --cache-dir DIR       download cache (default: ~/.cache/buckos-binaries)
      --key FILE            cosign public key (PEM): on a TUF mirror, the key the mirror's root.json must be signed by;
                            on an older mirror, require and verify index.json.sig, <file>.sig and <file>.sha256.sig
      --root FILE           the mirror's TUF root.json to trust (pinned; default: [buckos] binary_mirror_root)
      --trust-on-first-use  with no pinned root, no --key and nothing trusted yet: trust the mirror's root.json as served
      --no-wait             fail at once if another command holds the prefix's database lock
  -h, --help                show this help

--list takes no --version, --config-hash, --file-hash, --prefix,
--download-only or --no-wait; --download-only takes no --prefix or --no-wait.

${LIMITS_HELP}`;

export const installCommand: Command = {
  name: 'install',
  summary: 'download, verify and install a binary package from a mirror',
  help,
  positionals: true,
  options: {
    version: { type: 'string', short: 'v' },
    'config-hash': { type: 'string', short: 'c' },
    'file-hash': { type: 'string', short: 'f' },
    arch: { type: 'string' },
    'mirror-url': { type: 'string', short: 'm' },
    config: { type: 'string' },
    prefix: { type: 'string', short: 'p' },
    'download-only': { type: 'boolean', short: 'd' },
    list: { type: 'boolean', short: 'l' },
    'cache-dir': { type: 'string' },
    key: { type: 'string' },
    'no-wait': { type: 'boolean' },
    root: { type: 'string' },
    'trust-on-first-use': { type: 'boolean' },
    ...limitOptions,
  },
  run(values, positionals) {
    return guarded(`osforge install ${positionals.join(' ')}`.trim(), () => runInstall(values, positionals));
  },
};

async function runInstall(values: Record<string, unknown>, positionals: string[]): Promise<number> {
  {
    if (positionals.length !== 1) throw new OsforgeError('USAGE', 'give exactly one package name: osforge install <package> [options]');
    const name = positionals[0]!;
    const str = (k: string) => nonEmpty(values, k);
    refuseTogether(values, 'list', ['version', 'config-hash', 'file-hash', 'prefix', 'download-only', 'no-wait'], '--list only shows what the mirror has');
    refuseTogether(values, 'download-only', ['prefix', 'no-wait'], '--download-only writes only to --cache-dir');
    const limits = limitsFrom(values);
    const arch = str('arch') ?? hostArch();
    assertPackageId({ name, version: str('version'), configHash: str('config-hash'), arch });
    const fileHash = str('file-hash');
    if (fileHash !== undefined && !isHash8(fileHash)) throw new OsforgeError('USAGE', `invalid file hash ${JSON.stringify(fileHash)}: 8 lower-case hex digits`);

    let mirrorUrl = str('mirror-url') ?? settings().binaryMirror.url;
    const tufRoot = str('root') ?? (await readBinaryMirrorSetting(str('config') ?? '.buckconfig')).binaryMirrorRoot ?? undefined;
    const trustOnFirstUse = Boolean(values['trust-on-first-use']);
    if (!mirrorUrl) {
      const setting = await readBinaryMirrorSetting(str('config') ?? '.buckconfig');
      mirrorUrl = setting.binaryMirror ?? undefined;
      if (!mirrorUrl) {
        throw new OsforgeError(
          'USAGE',
          `no mirror: pass --mirror-url, set $BINARY_MIRROR, or set binary_mirror in the [buckos] section of ${setting.configPath ?? (str('config') ?? './.buckconfig') + ' (not found)'}`,
        );
      }
    }
    const log = (m: string) => process.stderr.write(`${m}\n`);

    let publicKey: KeyObject | undefined;
    const keyPath = str('key');
    if (keyPath) publicKey = await loadVerifyKey(keyPath);
    const cacheDir = str('cache-dir') ?? join(homedir(), '.cache', 'buckos-binaries');
    if (values.list) {
      const { mirror, entries, otherNames } = await listAvailable(mirrorUrl, name, { limits, publicKey, tufRoot, trustOnFirstUse, cacheDir, log });
      if (!entries.length) {
        throw new OsforgeError(
          'SOURCE_FETCH',
          `package ${JSON.stringify(name)} is not on ${mirror}; available: ${otherNames.length ? otherNames.join(', ') : '(no packages)'}`,
        );
      }
      process.stdout.write(`${name} on ${mirror}:\n`);
      for (const e of entries)
        process.stdout.write(
          `  ${e.version}\t${e.arch}${e.arch === arch ? '*' : ' '}\tconfig ${e.config_hash}\tfile ${e.file_hash}\t${e.size} bytes\t${e.filename}\n`,
        );
      process.stdout.write(`(* = ${arch}, the arch that would be installed)\n`);
      return 0;
    }

    const prefix = str('prefix') ?? '/usr';
    const result = await installBinary({
      name,
      arch,
      version: str('version'),
      configHash: str('config-hash'),
      fileHash,
      mirrorUrl,
      prefix,
      cacheDir,
      downloadOnly: Boolean(values['download-only']),
      publicKey,
      log,
      limits,
      waitForLock: !values['no-wait'],
      tufRoot,
      trustOnFirstUse,
    });
    const what = describeEntry(result.entry);
    if (result.action === 'downloaded') process.stdout.write(`downloaded ${what} to ${result.path}\n`);
    else if (result.action === 'already-installed') process.stdout.write(`already installed: ${what} in ${prefix}\n`);
    else if (result.action === 'downgraded')
      process.stdout.write(`downgraded ${name} from ${result.from} to ${what} into ${prefix} (${result.files} files), as --version asked\n`);
    else process.stdout.write(`${result.action} ${what} into ${prefix} (${result.files} files)\n`);
    return 0;
  }
}
