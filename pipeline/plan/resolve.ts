// Package resolution: atoms (plan/atoms.ts) → recipe instances. A package
// directory holds one recipe (images/packages/<name>/recipe.json) or one per
// version (images/packages/<name>/<version>/recipe.json), each in a slot
// ("slot", default "0"). An atom resolves to the newest version that fits it
// and is not masked; when none does, the error lists every candidate and why
// it was rejected. Two slots of one package are two instances (ids "zlib:1",
// "zlib:2"), built side by side; two different versions in one slot are a
// conflict. Reads recipe files only when an atom reaches them.
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { OsforgeError } from '../errors.ts';
import { compareVersions, mismatch, parseAtom, type Atom } from './atoms.ts';
import { NAME_RE } from './schema.ts';

/** One version of a package as found on disk, before USE and patches. */
export interface Candidate<R = unknown> {
  name: string;
  version: string;
  slot: string;
  /** The recipe.json path, for errors. */
  file: string;
  /** The recipe's directory (its files are the build's files). */
  dir: string;
  recipe: R;
}

/** A mask entry: an atom and where it was written (images/package.mask:3, or a profile). */
export interface MaskEntry {
  atom: Atom;
  from: string;
}

export function parseMaskFile(text: string, file: string): MaskEntry[] {
  const out: MaskEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line) out.push({ atom: parseAtom(line, `${file}:${i + 1}`), from: `${file}:${i + 1}` });
  });
  return out;
}

/** The instance id: the name for the default slot "0", else name:slot. */
export const instanceId = (name: string, slot: string) => (slot === '0' ? name : `${name}:${slot}`);

/**
 * Finds a package's candidates under packagesDir, loading each recipe with
 * `load` (which validates it). Cached per name.
 */
export class CandidateIndex<R extends { name: string; version: string; slot?: string }> {
  private readonly cache = new Map<string, Candidate<R>[]>();
  constructor(
    private readonly imagesDir: string,
    private readonly load: (file: string) => R,
  ) {}

  get(name: string, from: string): Candidate<R>[] {
    const hit = this.cache.get(name);
    if (hit) return hit;
    if (!NAME_RE.test(name))
      throw new OsforgeError('CONFIG_INVALID', `${from}: ${JSON.stringify(name)} is not a package name`, { hint: `package names match ${NAME_RE.source}` });
    const dir = join(this.imagesDir, 'packages', name);
    const rel = relative(this.imagesDir, dir);
    if (!existsSync(dir))
      throw new OsforgeError('CONFIG_INVALID', `${from}: package ${JSON.stringify(name)} has no ${rel}/recipe.json`, {
        hint: `add the recipe, or remove ${name} from ${from.replace(/:.*$/, '')}`,
      });
    if (lstatSync(dir).isSymbolicLink())
      throw new OsforgeError('CONFIG_INVALID', `${dir}: is a symlink; only regular files and directories are read`, { hint: `replace ${dir} with a copy` });
    const single = join(dir, 'recipe.json');
    const found: Candidate<R>[] = [];
    const add = (recipeDir: string, file: string, versionDir?: string) => {
      const r = this.load(file);
      if (r.name !== name)
        throw new OsforgeError('CONFIG_INVALID', `${file}: name: expected ${JSON.stringify(name)} (the directory name), found ${JSON.stringify(r.name)}`, {
          hint: `edit ${file}`,
        });
      if (versionDir !== undefined && r.version !== versionDir) {
        throw new OsforgeError(
          'CONFIG_INVALID',
          `${file}: version: expected ${JSON.stringify(versionDir)} (the directory name), found ${JSON.stringify(r.version)}`,
          { hint: `rename the directory or fix "version" in ${file}` },
        );
      }
      found.push({ name, version: r.version, slot: r.slot ?? '0', file, dir: recipeDir, recipe: r });
    };
    if (existsSync(single)) add(dir, single);
    else {
      for (const v of readdirSync(dir).sort()) {
        const sub = join(dir, v);
        if (lstatSync(sub).isDirectory() && existsSync(join(sub, 'recipe.json'))) add(sub, join(sub, 'recipe.json'), v);
      }
      if (!found.length)
        throw new OsforgeError('CONFIG_INVALID', `${from}: package ${JSON.stringify(name)} has no ${rel}/recipe.json and no ${rel}/<version>/recipe.json`, {
          hint: `add a recipe for ${name}`,
        });
    }
    found.sort((a, b) => compareVersions(b.version, a.version));
    this.cache.set(name, found);
    return found;
  }
}

/**
 * The newest candidate that fits `atom` and is not masked. Fails listing every
 * candidate with the reason it was rejected.
 */
export function pickCandidate<R>(atom: Atom, candidates: Candidate<R>[], mask: MaskEntry[], from: string): Candidate<R> {
  const reasons: string[] = [];
  for (const c of candidates) {
    const why = mismatch(atom, c.version, c.slot);
    const masked = why ? undefined : mask.find((m) => m.atom.name === c.name && !mismatch(m.atom, c.version, c.slot));
    if (!why && !masked) return c;
    reasons.push(`${c.name} ${c.version} (slot ${c.slot}): ${why ?? `masked by ${masked!.from} ("${masked!.atom.text}")`}`);
  }
  throw new OsforgeError('CONFIG_INVALID', `${from}: no version of ${atom.name} fits "${atom.text}"; candidates: ${reasons.join('; ')}`, {
    hint: `relax the constraint, unmask a version (images/package.mask or the profile's "mask"), or add a recipe images/packages/${atom.name}/<version>/recipe.json`,
  });
}
