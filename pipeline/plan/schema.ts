// The shape of every file under images/ that the plan reads, as zod schemas,
// and one formatter that turns the first problem into a single line naming
// file, field, what was expected and what was found. Objects are strict: a
// misspelt field ("dpes") is an error, not silently ignored. Pure.
import { z } from 'zod';
import { OsforgeError } from '../errors.ts';
import { ARCHES } from './types.ts';
import { ATOM_SYNTAX, isAtom } from './atoms.ts';

/** Package and source names: they become directory and cache-key parts, so no "/", no "..", no leading dot. */
export const NAME_RE = /^[a-z0-9][a-z0-9+._-]*$/;
const SHA256_RE = /^[0-9a-f]{64}$/;
const VERSION_RE = /^[0-9A-Za-z.+~-]+$/;
const DEBIAN_PKG_RE = /^[a-z0-9][a-z0-9+.-]+$/;
const DEBIAN_VERSION_RE = /^[A-Za-z0-9.+~:-]+$/;
/** A plain file name: no directory part, not hidden. */
const FILE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

const comment = z.string().optional();
const name = z.string().regex(NAME_RE, { error: `a name matching ${NAME_RE.source}` });
const sha256 = z.string().regex(SHA256_RE, { error: 'a sha256 (64 lowercase hex digits)' });
const version = z.string().regex(VERSION_RE, { error: `a plain version string matching ${VERSION_RE.source}` });
const debianPackage = z.string().regex(DEBIAN_PKG_RE, { error: 'a Debian package name' });
const useFlag = z.string().regex(/^[a-z0-9][a-z0-9_+-]*$/, { error: 'a USE flag name' });
const debianVersion = z.string().regex(DEBIAN_VERSION_RE, { error: 'a Debian version' });
const fileName = z.string().regex(FILE_NAME_RE, { error: 'a plain file name (no "/", not starting with ".")' });
const httpUrl = z.string().refine((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol), { error: 'an http(s) URL' });
const arch = z.enum(ARCHES as [string, ...string[]]);
const plainObject = z.custom<object>((v) => v !== null && typeof v === 'object' && !Array.isArray(v), { error: 'an object' });
/** A package atom (plan/atoms.ts): name[:slot] [op version]... */
const atom = z.string().refine(isAtom, { error: `a package atom, ${ATOM_SYNTAX}` });
/** An atom or a package set, "@name" (images/sets.json). */
const atomOrSet = z.string().refine((s) => isAtom(s) || /^@[a-z0-9][a-z0-9_-]*$/.test(s), { error: `a package atom or @set (${ATOM_SYNTAX})` });
const globalUse = z.array(z.string().regex(/^[+-]?[a-z0-9][a-z0-9_+-]*$/, { error: 'a USE flag (ssl, +ssl or -ssl)' }));

/** No two entries alike: a package listed twice would be built twice under one key. */
function unique<T extends z.ZodType<string>>(item: T, what: string) {
  return z.array(item).superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((v, i) => {
      if (seen.has(v)) ctx.addIssue({ code: 'custom', path: [i], message: `${what} listed once (it is a duplicate)` });
      seen.add(v);
    });
  });
}

export const buckosSchema = z
  .strictObject({
    comment,
    name: name.optional(),
    version,
    arches: unique(arch, 'each arch').min(1, { error: 'at least one arch' }).optional(),
    base: z.strictObject({
      comment,
      suite: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, { error: 'a Debian suite name (e.g. "bookworm")' }),
      variant: z
        .string()
        .regex(/^[a-z-]+$/, { error: 'an mmdebstrap variant (e.g. "minbase")' })
        .optional(),
      include: unique(debianPackage, 'each package').optional(),
      sourceDateEpoch: z.int({ error: 'an integer number of seconds since 1970' }).nonnegative({ error: 'a non-negative integer' }),
      pull: z.partialRecord(arch, z.string().regex(/^[^\s@]+@sha256:[0-9a-f]{64}$/, { error: 'a pinned image reference name@sha256:<digest>' })).optional(),
    }),
    toolchain: z.strictObject({ comment, libc: z.literal('musl').optional(), source: name.optional() }).optional(),
    /** The default image set: atoms and @sets. */
    packages: unique(atomOrSet, 'each package').min(1, { error: 'at least one package' }).optional(),
    /** Profiles (images/profiles/<name>/) built by default, each an image set named after it. */
    profiles: unique(name, 'each profile').min(1, { error: 'at least one profile' }).optional(),
    /** Global USE flags (ssl, +ssl, -ssl): a package lacking a flag ignores it. */
    use: globalUse.optional(),
    buck2: z
      .strictObject({
        comment,
        version: z.string().min(1, { error: 'a Buck2 release name' }),
        asset: fileName,
        url: httpUrl,
        sha256: sha256.nullable(),
      })
      .optional(),
  })
  .refine((c) => c.packages !== undefined || c.profiles !== undefined, { error: '"packages" (the default image set) or "profiles"', path: ['packages'] });

/** images/profiles/<name>/profile.json: an image set. Sets compose: inherited + packages - remove. */
export const profileSchema = z.strictObject({
  comment,
  inherits: unique(name, 'each profile').optional(),
  packages: unique(atomOrSet, 'each package').optional(),
  remove: unique(name, 'each package').optional(),
  use: globalUse.optional(),
  mask: unique(atom, 'each atom').optional(),
});

/** images/sets.json: set name → atoms and @sets. */
export const setsSchema = plainObject.pipe(z.record(z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, { error: 'a set name' }), unique(atomOrSet, 'each entry')));

/** A CPE 2.3 vendor or product as NVD spells it: nothing the formatted string would have to quote. */
const cpeName = z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, { error: "an NVD CPE name (lowercase letters, digits, '.', '_', '-')" });

export const sourcesSchema = plainObject.pipe(
  z.record(
    name,
    z
      .strictObject({
        comment,
        version: z.string().min(1, { error: 'a non-empty version' }),
        file: fileName,
        sha256,
        license: z.string().optional(),
        urls: z.array(httpUrl).optional(),
        debian: z
          .strictObject({
            comment,
            package: debianPackage,
            version: debianVersion,
            file: fileName,
            sha256: sha256.optional(),
            suite: z
              .string()
              .regex(/^[a-z0-9][a-z0-9-]*$/, { error: 'a Debian suite name (e.g. "trixie")' })
              .optional(),
          })
          .optional(),
        signature: z
          .strictObject({
            comment,
            file: fileName,
            urls: z.array(httpUrl).optional(),
            key: z.string().regex(/^keys\/[A-Za-z0-9][A-Za-z0-9._+-]*\.asc$/, { error: 'a key file under images/keys/ ("keys/<name>.asc")' }),
            fingerprint: z.string().regex(/^(?:[0-9A-Fa-f]{4} ?){10}$/, { error: 'a full 40-hex-digit OpenPGP fingerprint' }),
          })
          .optional(),
        /** The NVD CPE 2.3 part, vendor and product of what is built from it (the SBOM adds the version), so scanners match it. */
        cpe: z
          .strictObject({
            comment,
            part: z.enum(['a', 'o'], { error: '"a" (an application) or "o" (an operating system)' }),
            vendor: cpeName,
            product: cpeName,
          })
          .optional(),
      })
      .refine((s) => (s.urls?.length ?? 0) > 0 || s.debian !== undefined, { error: 'a fetch location ("urls" or "debian")' }),
  ),
);

export const recipeSchema = z
  .strictObject({
    comment,
    name,
    version,
    license: z.string().optional(),
    sources: unique(name, 'each source').optional(),
    /** Versions of one package in different slots build side by side. */
    slot: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9.+_-]*$/, { error: 'a slot name (e.g. "1")' })
      .optional(),
    deps: unique(atom, 'each dependency').optional(),
    iuse: unique(useFlag, 'each flag').optional(),
    use_defaults: unique(useFlag, 'each flag').optional(),
    use_deps: z.record(useFlag, unique(atom, 'each dependency')).optional(),
    use_configure: z.record(z.string().regex(/^-?[a-z0-9][a-z0-9_+-]*$/, { error: 'a flag or -flag' }), z.array(z.string())).optional(),
    required_use: z.string().min(1).optional(),
  })
  .superRefine((r, ctx) => {
    // Every flag a recipe mentions must be one it declares: a typo would otherwise silently never apply.
    const iuse = new Set(r.iuse ?? []);
    const check = (flag: string, path: PropertyKey[]) => {
      if (!iuse.has(flag)) ctx.addIssue({ code: 'custom', path, message: `a flag listed in iuse (${[...iuse].join(', ') || 'iuse is empty'})`, input: flag });
    };
    (r.use_defaults ?? []).forEach((f, i) => check(f, ['use_defaults', i]));
    for (const f of Object.keys(r.use_deps ?? {})) check(f, ['use_deps', f]);
    for (const f of Object.keys(r.use_configure ?? {})) check(f.replace(/^-/, ''), ['use_configure', f]);
  });

export const builderSchema = z.strictObject({
  comment,
  include: unique(debianPackage, 'each package').min(1, { error: 'at least one build toolchain package' }),
});

export const lockSchema = z.strictObject({
  comment,
  suite: z.string().min(1),
  images: z.partialRecord(
    z.enum(['base', 'buildenv', 'kernel-build']),
    z.partialRecord(arch, z.array(z.string().regex(/^[a-z0-9][a-z0-9+.-]*(:[a-z0-9]+)?=[A-Za-z0-9.+~:-]+$/, { error: 'a "package=version" pin' }))),
  ),
});

/** `packages[2]`, `base.sourceDateEpoch`, `"my src".sha256`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else {
      const s = String(p);
      out += (out ? '.' : '') + (/^[A-Za-z_$][\w$]*$/.test(s) ? s : JSON.stringify(s));
    }
  }
  return out || '(top level)';
}

/** A short rendering of a found value; long values are cut so the message stays one line. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing (the field is missing)';
  if (v === null) return 'null';
  if (Array.isArray(v)) return v.length === 0 ? 'an empty list' : `a list of ${v.length}`;
  if (typeof v === 'object') return 'an object';
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

const TYPE_NAMES: Record<string, string> = {
  object: 'an object',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  null: 'null',
};

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let v = data;
  for (const p of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[p] : undefined;
  return v;
}

/** One line for zod's first issue: `<file>: <field>: expected <what>, found <value>`. */
export function describeIssue(file: string, data: unknown, issue: z.core.$ZodIssue): string {
  const path = issue.path;
  switch (issue.code) {
    case 'unrecognized_keys':
      return `${file}: ${fieldPath(path)}: unknown field ${issue.keys.map((k) => JSON.stringify(k)).join(', ')} (misspelt? only the documented fields are read)`;
    case 'invalid_key': {
      const inner = issue.issues[0];
      const key = path[path.length - 1];
      return `${file}: ${fieldPath(path.slice(0, -1))}: key ${JSON.stringify(String(key))}: expected ${inner?.message ?? 'a valid key'}`;
    }
    case 'invalid_type':
      // A custom error was given where the type names are not enough (e.g. integers).
      return `${file}: ${fieldPath(path)}: expected ${issue.message.startsWith('Invalid input') ? (TYPE_NAMES[issue.expected] ?? issue.expected) : issue.message}, found ${describeValue(valueAt(data, path))}`;
    case 'invalid_value':
      return `${file}: ${fieldPath(path)}: expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, found ${describeValue(valueAt(data, path))}`;
    case 'invalid_union':
      return `${file}: ${fieldPath(path)}: expected ${describeUnion(issue)}, found ${describeValue(valueAt(data, path))}`;
    case 'too_small': {
      const what = issue.message.startsWith('Too small') ? `at least ${String(issue.minimum)}` : issue.message;
      return `${file}: ${fieldPath(path)}: expected ${what}, found ${describeValue(valueAt(data, path))}`;
    }
    default:
      return `${file}: ${fieldPath(path)}: expected ${issue.message}, found ${describeValue(valueAt(data, path))}`;
  }
}

function describeUnion(issue: z.core.$ZodIssueInvalidUnion): string {
  const alts = issue.errors
    .map((errs) => errs[0])
    .filter(Boolean)
    .map((e) => (e!.code === 'invalid_type' ? (TYPE_NAMES[e!.expected] ?? e!.expected) : e!.message));
  return [...new Set(alts)].join(' or ') || 'a valid value';
}

/** Parses `data` with `schema`, or throws CONFIG_INVALID with the one-line description of the first problem. */
export function parseWith<T extends z.ZodType>(schema: T, data: unknown, file: string, hint = `edit ${file}`): z.infer<T> {
  const r = schema.safeParse(data);
  if (r.success) return r.data;
  throw new OsforgeError('CONFIG_INVALID', describeIssue(file, data, r.error.issues[0]!), { hint });
}
