import { OsforgeError } from '../errors.ts';
import { uninstallTree } from '../binpkg/install-tree.ts';
import { assertPackageId } from '../binpkg/naming.ts';
import { listInstalled } from '../binpkg/vdb.ts';
import type { Command } from './types.ts';

const help = `usage: osforge uninstall <package> [--prefix PATH]

Removes a package installed by \`osforge install\`, using its record in
<prefix>/var/db/pkg/<name>-<version>/CONTENTS: exactly the files and symlinks
it installed (a file changed since installation, or a symlink re-pointed, is
kept and reported), then the directories in its record that are now empty
and not listed by another installed package, then the record itself (and
var/db/pkg, var/db and var when that leaves them empty).

options:
  -p, --prefix PATH   installation prefix (default: /usr, as for install)
  -h, --help          show this help`;

export const uninstallCommand: Command = {
  name: 'uninstall',
  summary: 'remove a binary package installed by `osforge install`',
  help,
  positionals: true,
  options: { prefix: { type: 'string', short: 'p' } },
  async run(values, positionals) {
    if (positionals.length !== 1) throw new OsforgeError('USAGE', 'give exactly one package name: osforge uninstall <package>');
    const name = positionals[0]!;
    assertPackageId({ name });
    const prefix = (values.prefix as string | undefined) ?? '/usr';
    const all = await listInstalled(prefix);
    const pkg = all.find((i) => i.record.name === name);
    if (!pkg) {
      const names = all.map((i) => `${i.record.name}-${i.record.version}`);
      throw new OsforgeError('USAGE', `${name} is not installed in ${prefix}; installed: ${names.length ? names.join(', ') : '(nothing)'}`);
    }
    await uninstallTree(prefix, pkg, all.filter((i) => i !== pkg), (m) => process.stderr.write(`${m}\n`));
    process.stdout.write(`uninstalled ${pkg.record.name}-${pkg.record.version} (config ${pkg.record.config_hash}) from ${prefix}\n`);
    return 0;
  },
};
