// Patches of a package, in the order they apply (seed 001, "Patch System"):
//   1. the package's own:  images/packages/<pkg>/patches/*.patch
//   2. its USE flags':      images/packages/<pkg>/patches/use/<flag>/*.patch (enabled flags, iuse order)
//   3. the user's:          <patches dir>/<pkg>/*.patch (images/patches/, or OSFORGE_PATCHES)
// Each is a named input of the package's stage key, so adding, removing or
// editing one rebuilds exactly that package and its dependents. The build
// script applies them with "$APPLY_PATCHES" <dir> after unpacking; a plan that
// has patches for a package whose build.sh never calls it is refused, so no
// patch is silently ignored.
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OsforgeError } from '../errors.ts';

export interface Patch { name: string; data: Buffer }

const isPatch = (f: string) => /\.(patch|diff)$/.test(f);
const sorted = (names: string[]) => [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/** The step-side script build.sh runs as "$APPLY_PATCHES" <dir>: every patch of /patches/series, -p1, stopping at the first that fails. */
export const APPLY_PATCHES_SCRIPT = `#!/bin/sh
# apply-patches <dir>: applies $PATCHES_DIR/series (default /patches) in order (lines: <file> <name>) with -p1.
set -eu
dir=\${1:-.}
P=\${PATCHES_DIR:-/patches}
rej=\${TMPDIR:-/tmp}/osforge-rej
[ -f "$P/series" ] || exit 0
while read -r file name; do
  rm -f "$rej"
  if ! out=$(patch -p1 -N --no-backup-if-mismatch -r "$rej" -d "$dir" -i "$P/$file" 2>&1); then
    printf '%s\\n' "$out"
    echo "osforge: patch $name does not apply to $PACKAGE"
    if [ -s "$rej" ]; then echo "osforge: rejected hunk(s) of $name:"; cat "$rej"; fi
    exit 1
  fi
  echo "osforge: applied $name"
done < "$P/series"
`;

export function packagePatches(o: {
  pkg: string; files: Record<string, Buffer>; enabledFlags: readonly string[]; iuse: readonly string[]; userDir: string; recipeFile: string;
}): Patch[] {
  const own = sorted(Object.keys(o.files).filter((p) => /^patches\/[^/]+$/.test(p) && isPatch(p)))
    .map((p) => ({ name: `packages/${o.pkg}/${p}`, data: o.files[p]! }));
  const use = o.iuse.filter((f) => o.enabledFlags.includes(f)).flatMap((flag) => sorted(Object.keys(o.files).filter((p) => p.startsWith(`patches/use/${flag}/`) && isPatch(p)))
    .map((p) => ({ name: `packages/${o.pkg}/${p}`, data: o.files[p]! })));
  const dir = join(o.userDir, o.pkg);
  const user: Patch[] = [];
  if (existsSync(dir)) {
    for (const f of sorted(readdirSync(dir).filter(isPatch))) {
      const p = join(dir, f);
      if (!lstatSync(p).isFile()) throw new OsforgeError('CONFIG_INVALID', `${p}: not a regular file (a symlink or directory); patches are read as plain files`, { hint: `replace ${p} with a copy of the patch` });
      user.push({ name: `user:${o.pkg}/${f}`, data: readFileSync(p) });
    }
  }
  const all = [...own, ...use, ...user];
  const buildSh = o.files['build.sh']?.toString('utf8') ?? '';
  if (all.length && !buildSh.includes('$APPLY_PATCHES')) {
    throw new OsforgeError('CONFIG_INVALID', `${o.recipeFile}: package ${JSON.stringify(o.pkg)} has ${all.length} patch(es) (${all.map((p) => p.name).join(', ')}) but its build.sh never runs "$APPLY_PATCHES"`, {
      hint: `add  "$APPLY_PATCHES" <source dir>  to images/packages/${o.pkg}/build.sh after it unpacks the source`,
    });
  }
  return all;
}
