// Profiles and package sets (seed 001, "Package Sets"): an image set is the
// packages one image is made of. The default set is buckos.json "packages";
// a profile (images/profiles/<name>/profile.json) composes its own:
//   inherited profiles' packages + its packages (atoms and @sets from
//   images/sets.json) - its "remove"
// with the profile's USE (global USE for its packages), masks and patches
// (images/profiles/<name>/patches/<pkg>/). Inherited profiles apply first.
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OsforgeError } from '../errors.ts';
import { parseAtom, type Atom } from './atoms.ts';
import { parseMaskFile, type MaskEntry } from './resolve.ts';
import { NAME_RE, parseWith, profileSchema, setsSchema } from './schema.ts';
import { readJson } from './read-json.ts';

/** What resolving one image set needs. `profile` is null for buckos.json's default set. */
export interface ImageSetSpec {
  profile: string | null;
  roots: { atom: Atom; from: string }[];
  /** Profile USE, after buckos.json's global USE. */
  use: string[];
  mask: MaskEntry[];
  /** Profile patch directories (<dir>/<pkg>/*.patch), inherited first. */
  patchDirs: { dir: string; label: string }[];
}

export class Profiles {
  /** sets.json as a Map: a set named "constructor" (or an unknown @constructor) must not meet Object.prototype. */
  private sets?: Map<string, string[]>;
  constructor(private readonly imagesDir: string) {}

  /** The available profile names, for errors and --help. */
  names(): string[] {
    const dir = join(this.imagesDir, 'profiles');
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((n) => existsSync(join(dir, n, 'profile.json')))
      .sort();
  }

  private setsFile() {
    return join(this.imagesDir, 'sets.json');
  }

  /** Expands atoms and @sets (recursively; a set that includes itself is an error). */
  expand(entries: string[], from: string, chain: string[] = []): { atom: Atom; from: string }[] {
    const out: { atom: Atom; from: string }[] = [];
    entries.forEach((e, i) => {
      const at = `${from}[${i}]`;
      if (!e.startsWith('@')) {
        out.push({ atom: parseAtom(e, at), from: at });
        return;
      }
      const set = e.slice(1);
      this.sets ??= new Map(
        Object.entries(
          parseWith(
            setsSchema,
            readJson(this.setsFile(), { why: `it defines @${set}`, hint: `create ${this.setsFile()}, or remove the reference to it` }),
            this.setsFile(),
          ) as Record<string, string[]>,
        ),
      );
      const body = this.sets.get(set);
      if (!body)
        throw new OsforgeError('CONFIG_INVALID', `${at}: unknown package set @${set}`, {
          hint: `define it in ${this.setsFile()}; sets there: ${[...this.sets.keys()].map((s) => `@${s}`).join(', ') || 'none'}`,
        });
      if (chain.includes(set))
        throw new OsforgeError('CONFIG_INVALID', `${this.setsFile()}: package set cycle: ${[...chain, set].map((s) => `@${s}`).join(' -> ')}`, {
          hint: 'remove one of these @set references',
        });
      out.push(...this.expand(body, `${this.setsFile()}: ${set}`, [...chain, set]));
    });
    return out;
  }

  /** A profile's image set, its inherited profiles composed first. */
  load(name: string, chain: string[] = []): ImageSetSpec {
    const dir = join(this.imagesDir, 'profiles', name);
    const file = join(dir, 'profile.json');
    if (!NAME_RE.test(name) || !existsSync(file)) {
      throw new OsforgeError('CONFIG_INVALID', `profile ${JSON.stringify(name)}: no images/profiles/${name}/profile.json`, {
        hint: `one of: ${this.names().join(', ') || '(none: add images/profiles/<name>/profile.json)'}`,
      });
    }
    if (lstatSync(dir).isSymbolicLink())
      throw new OsforgeError('CONFIG_INVALID', `${dir}: is a symlink; only regular files and directories are read`, { hint: `replace ${dir} with a copy` });
    if (chain.includes(name))
      throw new OsforgeError('CONFIG_INVALID', `${file}: profile inheritance cycle: ${[...chain, name].join(' -> ')}`, {
        hint: 'remove one of these "inherits" entries',
      });
    const p = parseWith(profileSchema, readJson(file, { why: `profile ${name}`, hint: `create ${file}, or remove the reference to it` }), file);
    const parents = (p.inherits ?? []).map((n) => this.load(n, [...chain, name]));
    const removed = new Set(p.remove ?? []);
    const roots = [...parents.flatMap((x) => x.roots), ...this.expand(p.packages ?? [], `${file}: packages`)];
    for (const r of removed) {
      if (!roots.some((x) => x.atom.name === r))
        throw new OsforgeError('CONFIG_INVALID', `${file}: remove: ${JSON.stringify(r)} is not in the profile's packages`, {
          hint: `remove it from "remove", or check the spelling`,
        });
    }
    const seen = new Set<string>();
    const kept = roots.filter((r) => !removed.has(r.atom.name) && !seen.has(r.atom.text) && seen.add(r.atom.text));
    const patches = join(dir, 'patches');
    return {
      profile: name,
      roots: kept,
      use: [...parents.flatMap((x) => x.use), ...(p.use ?? [])],
      mask: [...parents.flatMap((x) => x.mask), ...(p.mask ?? []).map((m, i) => ({ atom: parseAtom(m, `${file}: mask[${i}]`), from: `${file}: mask[${i}]` }))],
      patchDirs: [...parents.flatMap((x) => x.patchDirs), ...(existsSync(patches) ? [{ dir: patches, label: `profile:${name}` }] : [])],
    };
  }
}

/** images/package.mask, when present. */
export function loadMaskFile(imagesDir: string): MaskEntry[] {
  const file = join(imagesDir, 'package.mask');
  return existsSync(file) ? parseMaskFile(readFileSync(file, 'utf8'), file) : [];
}

/** --profile values ("a,b", repeatable) as a list, or undefined when none was given. */
export function profileList(values: unknown): string[] | undefined {
  const list = ((values as string[] | undefined) ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
  for (const p of list) {
    if (!NAME_RE.test(p))
      throw new OsforgeError('USAGE', `--profile ${JSON.stringify(p)}: not a profile name`, {
        hint: 'name a directory of images/profiles/, e.g. --profile server',
      });
  }
  return list.length ? [...new Set(list)] : undefined;
}
