// Patches of a package, in the order they apply (seed 001, "Patch System"):
//   1. the package's own:  images/packages/<pkg>/patches/*.patch
//   2. the profile's:       images/profiles/<profile>/patches/<pkg>/*.patch (inherited profiles first)
//   3. its USE flags':      images/packages/<pkg>/patches/use/<flag>/*.patch (enabled flags, iuse order)
//   4. the user's:          <patches dir>/<pkg>/*.patch (images/patches/, or OSFORGE_PATCHES)
// Each is a named input of the package's stage key, so adding, removing or
// editing one rebuilds exactly that package and its dependents. The build
// script applies them with "$APPLY_PATCHES" <dir> after unpacking; a plan that
// has patches for a package whose build.sh never calls it is refused, so no
// patch is silently ignored.
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OsforgeError } from '../errors.ts';

export interface Patch {
  name: string;
  data: Buffer;
}

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

/** <dir>/<pkg>/*.patch, as plain files, named <label>:<pkg>/<file>. */
function dirPatches(root: string, pkg: string, label: string): Patch[] {
  const dir = join(root, pkg);
  const out: Patch[] = [];
  const st = lstatSync(dir, { throwIfNoEntry: false });
  if (!st) return out;
  // lstat, not stat: a symlinked <pkg> directory would feed the build patches from wherever it points, unseen in the tree.
  if (!st.isDirectory()) {
    throw new OsforgeError(
      'CONFIG_INVALID',
      `${dir}: not a directory (${st.isSymbolicLink() ? 'a symlink' : 'a file'}); a package's patch directory is read only as a plain directory`,
      {
        hint: `replace ${dir} with a directory holding copies of the patches`,
      },
    );
  }
  for (const f of sorted(readdirSync(dir).filter(isPatch))) {
    const p = join(dir, f);
    if (!lstatSync(p).isFile())
      throw new OsforgeError('CONFIG_INVALID', `${p}: not a regular file (a symlink or directory); patches are read as plain files`, {
        hint: `replace ${p} with a copy of the patch`,
      });
    out.push({ name: `${label}:${pkg}/${f}`, data: readFileSync(p) });
  }
  return out;
}

export function packagePatches(o: {
  pkg: string;
  files: Record<string, Buffer>;
  enabledFlags: readonly string[];
  iuse: readonly string[];
  userDir: string;
  recipeFile: string;
  /** The profile's patch directories, inherited first. */
  profileDirs?: { dir: string; label: string }[];
  /** How the package's own files are named (packages/<pkg>, or packages/<pkg>/<version>). */
  recipeLabel?: string;
}): Patch[] {
  const ownLabel = o.recipeLabel ?? `packages/${o.pkg}`;
  const own = sorted(Object.keys(o.files).filter((p) => /^patches\/[^/]+$/.test(p) && isPatch(p))).map((p) => ({
    name: `${ownLabel}/${p}`,
    data: o.files[p]!,
  }));
  const profile = (o.profileDirs ?? []).flatMap((d) => dirPatches(d.dir, o.pkg, d.label));
  const use = o.iuse
    .filter((f) => o.enabledFlags.includes(f))
    .flatMap((flag) =>
      sorted(Object.keys(o.files).filter((p) => p.startsWith(`patches/use/${flag}/`) && isPatch(p))).map((p) => ({
        name: `${ownLabel}/${p}`,
        data: o.files[p]!,
      })),
    );
  const all = [...own, ...profile, ...use, ...dirPatches(o.userDir, o.pkg, 'user')];
  const buildSh = o.files['build.sh']?.toString('utf8') ?? '';
  if (all.length && !buildSh.includes('$APPLY_PATCHES')) {
    throw new OsforgeError(
      'CONFIG_INVALID',
      `${o.recipeFile}: package ${JSON.stringify(o.pkg)} has ${all.length} patch(es) (${all.map((p) => p.name).join(', ')}) but its build.sh never runs "$APPLY_PATCHES"`,
      {
        hint: `add  "$APPLY_PATCHES" <source dir>  to images/packages/${o.pkg}/build.sh after it unpacks the source`,
      },
    );
  }
  return all;
}
