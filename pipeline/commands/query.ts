import { profileList } from '../plan/profiles.ts';
import type { Command } from './types.ts';
import { OsforgeError } from '../errors.ts';
import { loadPlan } from '../plan/load.ts';
import { paths } from '../paths.ts';
import { queryTree } from '../plan/query.ts';
import { settings } from '../settings.ts';

export const queryCommand: Command = {
  name: 'query',
  summary: "print a package's resolved dependencies or reverse dependencies",
  help: `usage: osforge query deps <package> [--use PKG:FLAGS]... [--profile NAME]...
       osforge query rdeps <package> [--use PKG:FLAGS]... [--profile NAME]...

Reads the plan (images/, or $OSFORGE_IMAGES) and prints, as a tree, what
<package> depends on (deps) or what depends on it (rdeps), with versions and
USE flags (-flag: off). Dependencies are resolved as dist resolves them:
the recipe's deps plus the use_deps of its enabled flags; --use takes the
same overrides as \`osforge dist --use\`, and --profile resolves the
profiles' image sets instead of buckos.json's selection. <package> is a name,
or an instance id (zlib:1) when the plan has two slots of it. Nothing is
built or run.`,
  options: { use: { type: 'string', multiple: true }, profile: { type: 'string', multiple: true } },
  positionals: true,
  async run(values, positionals) {
    const [what, pkg, ...rest] = positionals;
    if ((what !== 'deps' && what !== 'rdeps') || !pkg || rest.length) {
      throw new OsforgeError('USAGE', `expected "query deps <package>" or "query rdeps <package>", got ${JSON.stringify(positionals.join(' '))}`, {
        hint: 'osforge query deps util-linux',
      });
    }
    const plan = loadPlan(paths.images, {
      use: values.use as string[] | undefined,
      profiles: profileList(values.profile),
      ...(settings().patches ? { patchesDir: settings().patches } : {}),
    });
    process.stdout.write(queryTree(plan, pkg, what));
  },
};
