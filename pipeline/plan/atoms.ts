// Package atoms (seed 001, "Multi-Version Package Support"): a dependency
// names a package, optionally a slot, and optionally version constraints:
//   zlib   zlib:1   zlib >=1.3   zlib ~>1.3   openssl >=3.0 <4.0
// "~>" is the pessimistic operator: ~>1.3 means >=1.3 and <2, ~>1.3.1 means
// >=1.3.1 and <1.4. Pure.
import { OsforgeError } from '../errors.ts';

export type Op = '>=' | '>' | '<=' | '<' | '=' | '~>';
export interface Constraint {
  op: Op;
  version: string;
}
export interface Atom {
  name: string;
  slot?: string;
  constraints: Constraint[];
  text: string;
}

const NAME = '[a-z0-9][a-z0-9+._-]*?';
const SLOT = '[A-Za-z0-9][A-Za-z0-9.+_-]*';
const VERSION = '[0-9][0-9A-Za-z.+~-]*';
const ATOM_RE = new RegExp(`^(${NAME})(?::(${SLOT}))?((?:\\s*(?:>=|<=|~>|>|<|=)\\s*${VERSION})*)$`);
const CONSTRAINT_RE = new RegExp(`(>=|<=|~>|>|<|=)\\s*(${VERSION})`, 'g');

/** The atom grammar, for error messages and the schema. */
export const ATOM_SYNTAX = 'name[:slot] [op version]... with op one of >= > <= < = ~> (e.g. "zlib", "zlib:1", "zlib >=1.3", "openssl >=3.0 <4.0")';

export function isAtom(text: string): boolean {
  return ATOM_RE.test(text.trim());
}

export function parseAtom(text: string, from: string): Atom {
  const m = ATOM_RE.exec(text.trim());
  if (!m)
    throw new OsforgeError('CONFIG_INVALID', `${from}: ${JSON.stringify(text)} is not a package atom (expected ${ATOM_SYNTAX})`, {
      hint: `fix ${from.replace(/:[^:]*$/, '')}`,
    });
  const constraints = [...m[3]!.matchAll(CONSTRAINT_RE)].map((c) => ({ op: c[1] as Op, version: c[2]! }));
  return { name: m[1]!, ...(m[2] ? { slot: m[2] } : {}), constraints, text: text.trim() };
}

/** Version parts: runs of digits (compared as numbers) and of letters (compared as text); separators split. */
function parts(v: string): (number | string)[] {
  return (v.match(/\d+|[A-Za-z]+/g) ?? []).map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}

/** <0, 0, >0 like a comparator. 1.3 < 1.3.1 < 1.10; a letter part sorts before a number (1.0rc1 < 1.0.1). */
export function compareVersions(a: string, b: string): number {
  const pa = parts(a);
  const pb = parts(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return typeof y === 'string' ? 1 : -1;
    if (y === undefined) return typeof x === 'string' ? -1 : 1;
    if (typeof x === 'number' && typeof y === 'number') {
      if (x !== y) return x - y;
      continue;
    }
    if (typeof x === 'number') return 1;
    if (typeof y === 'number') return -1;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** The exclusive upper bound of "~>v": the next release of the second-to-last numeric part (or of the only one). */
export function pessimisticBound(v: string): string {
  const nums = (v.match(/\d+/g) ?? []).map(Number);
  if (nums.length <= 1) return String((nums[0] ?? 0) + 1);
  const kept = nums.slice(0, -1);
  kept[kept.length - 1]! += 1;
  return kept.join('.');
}

export function satisfies(version: string, c: Constraint): boolean {
  const d = compareVersions(version, c.version);
  switch (c.op) {
    case '>=':
      return d >= 0;
    case '>':
      return d > 0;
    case '<=':
      return d <= 0;
    case '<':
      return d < 0;
    case '=':
      return d === 0;
    case '~>':
      return d >= 0 && compareVersions(version, pessimisticBound(c.version)) < 0;
  }
}

export const showConstraint = (c: Constraint) => (c.op === '~>' ? `~>${c.version} (>=${c.version} <${pessimisticBound(c.version)})` : `${c.op}${c.version}`);

/** Why a version/slot does not fit the atom, or undefined when it does. */
export function mismatch(atom: Atom, version: string, slot: string): string | undefined {
  if (atom.slot !== undefined && atom.slot !== slot) return `slot ${slot}, not ${atom.slot}`;
  const failed = atom.constraints.filter((c) => !satisfies(version, c));
  return failed.length ? `does not satisfy ${failed.map(showConstraint).join(' ')}` : undefined;
}
