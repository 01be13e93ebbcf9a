import { OsforgeError } from '../errors.ts';
import { guarded, nonEmpty } from '../binpkg/cli-guard.ts';
import { lockDb } from '../binpkg/db-lock.ts';
import { recover, uninstallTree } from '../binpkg/install-tree.ts';
import { assertPackageId } from '../binpkg/naming.ts';
import { assertDbLocation, realPrefixOf } from '../binpkg/prefix-paths.ts';
import { listInstalled } from '../binpkg/vdb.ts';
import type { Command } from './types.ts';

const help = `usage: osforge uninstall <package> [--prefix PATH] [--no-wait]

Removes a package installed by \`osforge install\`, using its record in
<prefix>/var/db/pkg/<name>-<version>/CONTENTS: exactly the files and symlinks
it installed (a file changed since installation, or a symlink re-pointed, is
kept and reported), then the directories in its record that are now empty
and not listed by another installed package, then the record itself (and
var/db/pkg, var/db and var when that leaves them empty).

A symlink it installed that other installed packages' files go through
(lib -> usr/lib, with another package's files under lib/) is kept, recorded
in <prefix>/var/db/pkg/.held, and removed when the last such package is
uninstalled. A config file edited since installation (see \`osforge
config-update\`) is kept like any changed file; its pending ._cfgNNNN_
update is removed.

Every recorded path is resolved through the prefix's own symlinks first; if
any would lead outside the prefix (a directory replaced by a symlink to
elsewhere), nothing is removed and those paths are reported. A prefix whose
var, var/db or var/db/pkg is a symlink is refused.

Like install, it takes the lock <prefix>/var/db/pkg/.lock (waiting for, or
with --no-wait failing on, another command that holds it), journals what it
removes, and first finishes whatever a killed install or uninstall left.

options:
  -p, --prefix PATH   installation prefix (default: /usr, as for install)
      --no-wait       fail at once if another command holds the database lock
  -h, --help          show this help`;

export const uninstallCommand: Command = {
  name: 'uninstall',
  summary: 'remove a binary package installed by `osforge install`',
  help,
  positionals: true,
  options: { prefix: { type: 'string', short: 'p' }, 'no-wait': { type: 'boolean' } },
  run(values, positionals) {
    return guarded(`osforge uninstall ${positionals.join(' ')}`.trim(), async () => {
      if (positionals.length !== 1) throw new OsforgeError('USAGE', 'give exactly one package name: osforge uninstall <package>');
      const name = positionals[0]!;
      assertPackageId({ name });
      const given = nonEmpty(values, 'prefix') ?? '/usr';
      const prefix = await realPrefixOf(given);
      assertDbLocation(prefix);
      const log = (m: string) => process.stderr.write(`${m}\n`);
      const lock = await lockDb(prefix, { command: `osforge uninstall ${name}`, wait: !values['no-wait'], log });
      try {
        await recover(prefix, log);
        const all = await listInstalled(prefix);
        const pkg = all.find((i) => i.record.name === name);
        if (!pkg) {
          const names = all.map((i) => `${i.record.name}-${i.record.version}`);
          throw new OsforgeError('USAGE', `${name} is not installed in ${given}; installed: ${names.length ? names.join(', ') : '(nothing)'}`);
        }
        await uninstallTree(
          prefix,
          pkg,
          all.filter((i) => i !== pkg),
          log,
        );
        process.stdout.write(`uninstalled ${pkg.record.name}-${pkg.record.version} (config ${pkg.record.config_hash}) from ${given}\n`);
      } finally {
        await lock.release({ pruneEmpty: true });
      }
      return 0;
    });
  },
};
