// `osforge config-update`: lists the config updates CONFIG_PROTECT set aside
// (._cfgNNNN_<name> beside a file the user edited) and merges or discards
// them, one file at a time, under the database lock (config-protect.ts).
import { existsSync } from 'node:fs';
import { OsforgeError } from '../errors.ts';
import { guarded, nonEmpty } from '../binpkg/cli-guard.ts';
import { listPending, resolvePending } from '../binpkg/config-protect.ts';
import { lockDb } from '../binpkg/db-lock.ts';
import { recover } from '../binpkg/install-tree.ts';
import { assertDbLocation, realPrefixOf } from '../binpkg/prefix-paths.ts';
import { printable } from '../util/printable.ts';
import type { Command } from './types.ts';

const help = `usage: osforge config-update [--prefix PATH] [--merge FILE | --discard FILE]

When an upgrade brings a new version of a file under a protected directory
(default /etc; set $OSFORGE_CONFIG_PROTECT to space-separated directories,
"" for none) that was edited since it was installed, the edited file is kept
and the new one is written beside it as ._cfg0000_<name> (the next free
number). install reports each one.

Without --merge or --discard, lists the pending updates: one line per file,
"/etc/foo  /etc/._cfg0000_foo  (pkg-1.0)", newest update last; nothing when
none are pending.

  --merge FILE     the newest pending update replaces FILE (older ones are
                   deleted); the database records the merged file
  --discard FILE   the pending updates of FILE are deleted; FILE stays as
                   edited (uninstalling its package keeps it, as a file
                   changed since installation)

FILE is prefix-relative or starts with /, e.g. etc/foo or /etc/foo. Like
install, it takes the lock <prefix>/var/db/pkg/.lock and first finishes
whatever a killed install or uninstall left.

options:
  -p, --prefix PATH   installation prefix (default: /usr, as for install)
      --merge FILE    take the new version of FILE
      --discard FILE  keep the edited FILE, drop its new version
      --no-wait       fail at once if another command holds the database lock
  -h, --help          show this help`;

export const configUpdateCommand: Command = {
  name: 'config-update',
  summary: 'list, merge or discard config files an upgrade set aside (CONFIG_PROTECT)',
  help,
  positionals: false,
  options: { prefix: { type: 'string', short: 'p' }, merge: { type: 'string' }, discard: { type: 'string' }, 'no-wait': { type: 'boolean' } },
  run(values) {
    return guarded('osforge config-update', async () => {
      const merge = nonEmpty(values, 'merge');
      const discard = nonEmpty(values, 'discard');
      if (merge !== undefined && discard !== undefined)
        throw new OsforgeError('USAGE', '--merge and --discard cannot be combined: give one file and one action');
      const file = merge ?? discard;
      if (file !== undefined && file.split('/').includes('..'))
        throw new OsforgeError('USAGE', `--${merge !== undefined ? 'merge' : 'discard'} ${printable(file)}: a file inside the prefix has no ".." in its path`, {
          hint: 'give the path as listed by `osforge config-update --prefix P`, e.g. etc/foo',
        });
      const given = nonEmpty(values, 'prefix') ?? '/usr';
      // Listing must not create the prefix (the lock would): a mistyped one is an error, not an empty list.
      if (!existsSync(given))
        throw new OsforgeError('USAGE', `prefix ${printable(given)} does not exist: nothing is installed there`, {
          hint: 'pass the --prefix given to `osforge install`',
        });
      const prefix = await realPrefixOf(given);
      assertDbLocation(prefix);
      const log = (m: string) => process.stderr.write(`${m}\n`);
      const lock = await lockDb(prefix, { command: 'osforge config-update', wait: !values['no-wait'], log });
      try {
        await recover(prefix, log);
        if (merge !== undefined || discard !== undefined) {
          process.stdout.write(`${printable(await resolvePending(prefix, (merge ?? discard)!, merge !== undefined ? 'merge' : 'discard'), 8192)}\n`);
          return 0;
        }
        for (const p of await listPending(prefix)) {
          process.stdout.write(
            `${printable(`/${p.target}  ${p.pending.map((x) => `/${x}`).join(' ')}  (${p.owner.record.name}-${p.owner.record.version})`, 8192)}\n`,
          );
        }
      } finally {
        await lock.release({ pruneEmpty: true });
      }
      return 0;
    });
  },
};
