// USE flags, the Gentoo way (seed 001, "USE Flags"): a recipe declares the
// flags it understands (iuse), which are on by default, the deps a flag adds
// and the configure arguments a flag (or its absence, "-flag") adds. The
// effective flags of a package are, in order of precedence (later wins):
//   recipe defaults < global USE (buckos.json / the profile) < images/package.use < --use
// Global USE names flags for every package and is ignored where a package
// lacks the flag; package.use and --use name a package, so an unknown flag
// there is an error. REQUIRED_USE-style constraints are checked at plan time.
import { OsforgeError } from '../errors.ts';

export interface UseSpec {
  iuse: string[];
  defaults: string[];
  /** flag → extra deps when the flag is on. */
  deps: Record<string, string[]>;
  /** "flag" or "-flag" → configure arguments when the flag is on (off). */
  configure: Record<string, string[]>;
  requiredUse?: string;
}

/** A flag setting: "+ssl" / "ssl" turns it on, "-ssl" off. */
export interface UseToken {
  flag: string;
  on: boolean;
}
/** Where a package's overrides came from, for the error that names it. */
export interface UseOverride {
  tokens: UseToken[];
  from: string;
}

export interface UseInputs {
  global: UseToken[];
  /** package → overrides from images/package.use, then from --use. */
  perPackage: Map<string, UseOverride[]>;
}

const FLAG = /^[a-z0-9][a-z0-9_+-]*$/;

const invalid = (from: string, message: string, hint: string) => new OsforgeError('CONFIG_INVALID', `${from}: ${message}`, { hint });

export function parseToken(raw: string, from: string): UseToken {
  const on = !raw.startsWith('-');
  const flag = raw.replace(/^[+-]/, '');
  if (!FLAG.test(flag))
    throw invalid(from, `${JSON.stringify(raw)} is not a USE flag (expected [+|-]name, name matching ${FLAG.source})`, 'write flags as ssl, +ssl or -ssl');
  return { flag, on };
}

/** `--use 'zlib:+static,-shared util-linux:-fdisk'`: package:flags, several separated by spaces or ';'. */
export function parseUseArg(arg: string): Map<string, UseOverride> {
  const out = new Map<string, UseOverride>();
  for (const part of arg.split(/[\s;]+/).filter(Boolean)) {
    const m = /^([^:]+):(.+)$/.exec(part);
    if (!m) throw new OsforgeError('USAGE', `--use ${JSON.stringify(part)}: expected <package>:<flags>, e.g. zlib:+static,-shared`);
    const tokens = m[2]!
      .split(',')
      .filter(Boolean)
      .map((t) => parseToken(t, `--use ${part}`));
    const prev = out.get(m[1]!);
    out.set(m[1]!, { tokens: [...(prev?.tokens ?? []), ...tokens], from: '--use' });
  }
  return out;
}

/** images/package.use: `<package> <flag> [-flag ...]` per line; # comments. */
export function parsePackageUse(text: string, file: string): Map<string, UseOverride> {
  const out = new Map<string, UseOverride>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) return;
    const [pkg, ...flags] = line.split(/\s+/);
    const from = `${file}:${i + 1}`;
    if (!flags.length) throw invalid(from, `${JSON.stringify(pkg)} names no flag`, 'write "<package> <flag> [-flag ...]"');
    const prev = out.get(pkg!);
    out.set(pkg!, { tokens: [...(prev?.tokens ?? []), ...flags.map((f) => parseToken(f, from))], from });
  });
  return out;
}

/** The enabled flags of one package, sorted. */
export function effectiveUse(pkg: string, spec: UseSpec, inputs: UseInputs): string[] {
  const on = new Set(spec.defaults);
  const apply = (t: UseToken) => (t.on ? on.add(t.flag) : on.delete(t.flag));
  for (const t of inputs.global) if (spec.iuse.includes(t.flag)) apply(t);
  for (const o of inputs.perPackage.get(pkg) ?? []) {
    for (const t of o.tokens) {
      if (!spec.iuse.includes(t.flag)) {
        throw invalid(
          o.from,
          `package ${JSON.stringify(pkg)} has no USE flag ${JSON.stringify(t.flag)} (its iuse: ${spec.iuse.join(', ') || 'none'})`,
          `use one of its flags, or add ${t.flag} to iuse in images/packages/${pkg}/recipe.json`,
        );
      }
      apply(t);
    }
  }
  const enabled = [...on].sort();
  if (spec.requiredUse) checkRequiredUse(pkg, spec.requiredUse, enabled);
  return enabled;
}

/**
 * `record[key]` only when the record itself has it: a flag named
 * "constructor" must not find Object.prototype.constructor in a recipe's
 * use_deps or use_configure (a parsed JSON object has the usual prototype).
 */
export function ownEntry<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** The configure arguments the flags select: "flag" entries when on, "-flag" entries when off, in iuse order. */
export function useConfigure(spec: UseSpec, enabled: readonly string[]): string[] {
  return spec.iuse.flatMap((f) => ownEntry(spec.configure, enabled.includes(f) ? f : `-${f}`) ?? []);
}

/** The deps the enabled flags add. */
export function useDeps(spec: UseSpec, enabled: readonly string[]): string[] {
  return enabled.flatMap((f) => ownEntry(spec.deps, f) ?? []);
}

// ---- REQUIRED_USE -------------------------------------------------------------
// PMS grammar: flag, !flag, flag? ( ... ), !flag? ( ... ), || ( ... ), ^^ ( ... ), ?? ( ... ), ( ... ).

type Node =
  | { kind: 'flag'; flag: string; negated: boolean }
  | { kind: 'if'; flag: string; negated: boolean; body: Node[] }
  | { kind: 'any' | 'one' | 'most' | 'all'; body: Node[] };

export function parseRequiredUse(expr: string, from = 'required_use'): Node[] {
  const tokens = expr
    .replace(/([()])/g, ' $1 ')
    .split(/\s+/)
    .filter(Boolean);
  let i = 0;
  const bad = (m: string) =>
    invalid(from, `${JSON.stringify(expr)}: ${m}`, 'write it as Gentoo REQUIRED_USE: flag, !flag, flag? ( ... ), || ( ... ), ^^ ( ... ), ?? ( ... )');
  const group = (): Node[] => {
    if (tokens[i++] !== '(') throw bad(`expected "(" after "${tokens[i - 2]}"`);
    const body: Node[] = [];
    while (tokens[i] !== ')') {
      if (i >= tokens.length) throw bad('unclosed "("');
      body.push(item());
    }
    i++;
    return body;
  };
  const item = (): Node => {
    const t = tokens[i++]!;
    if (t === '||') return { kind: 'any', body: group() };
    if (t === '^^') return { kind: 'one', body: group() };
    if (t === '??') return { kind: 'most', body: group() };
    if (t === '(') {
      i--;
      return { kind: 'all', body: group() };
    }
    if (t === ')') throw bad('unexpected ")"');
    const m = /^(!?)([a-z0-9][a-z0-9_+-]*)(\??)$/.exec(t);
    if (!m) throw bad(`unexpected ${JSON.stringify(t)}`);
    return m[3] ? { kind: 'if', flag: m[2]!, negated: m[1] === '!', body: group() } : { kind: 'flag', flag: m[2]!, negated: m[1] === '!' };
  };
  const out: Node[] = [];
  while (i < tokens.length) out.push(item());
  return out;
}

function show(n: Node): string {
  const inner = (b: Node[]) => `( ${b.map(show).join(' ')} )`;
  switch (n.kind) {
    case 'flag':
      return `${n.negated ? '!' : ''}${n.flag}`;
    case 'if':
      return `${n.negated ? '!' : ''}${n.flag}? ${inner(n.body)}`;
    case 'any':
      return `|| ${inner(n.body)}`;
    case 'one':
      return `^^ ${inner(n.body)}`;
    case 'most':
      return `?? ${inner(n.body)}`;
    case 'all':
      return inner(n.body);
  }
}

/** The first unmet constraint, with what it requires, or undefined. */
export function unmetRequiredUse(nodes: Node[], enabled: ReadonlySet<string>): { constraint: string; needs: string } | undefined {
  const holds = (n: Node): boolean => {
    switch (n.kind) {
      case 'flag':
        return enabled.has(n.flag) !== n.negated;
      case 'if':
        return enabled.has(n.flag) === n.negated || n.body.every(holds);
      case 'any':
        return n.body.some(holds);
      case 'one':
        return n.body.filter(holds).length === 1;
      case 'most':
        return n.body.filter(holds).length <= 1;
      case 'all':
        return n.body.every(holds);
    }
  };
  const needs = (n: Node): string => {
    const names = (b: Node[]) => b.map(show).join(', ');
    switch (n.kind) {
      case 'flag':
        return `${n.flag} must be ${n.negated ? 'off' : 'on'}`;
      case 'if':
        return `with ${n.flag} ${n.negated ? 'off' : 'on'}: ${n.body
          .filter((b) => !holds(b))
          .map(needs)
          .join('; ')}`;
      case 'any':
        return `at least one of ${names(n.body)} must hold`;
      case 'one':
        return `exactly one of ${names(n.body)} must hold`;
      case 'most':
        return `at most one of ${names(n.body)} may hold`;
      case 'all':
        return n.body
          .filter((b) => !holds(b))
          .map(needs)
          .join('; ');
    }
  };
  for (const n of nodes) if (!holds(n)) return { constraint: show(n), needs: needs(n) };
  return undefined;
}

export function checkRequiredUse(pkg: string, expr: string, enabled: readonly string[]): void {
  const unmet = unmetRequiredUse(parseRequiredUse(expr, `images/packages/${pkg}/recipe.json: required_use`), new Set(enabled));
  if (!unmet) return;
  throw new OsforgeError(
    'CONFIG_INVALID',
    `package ${JSON.stringify(pkg)}: USE flags [${enabled.join(' ') || 'none'}] violate required_use "${unmet.constraint}": ${unmet.needs}`,
    { hint: `change the flags (images/package.use, --use ${pkg}:+flag,-flag, or the profile's use), or the constraint in images/packages/${pkg}/recipe.json` },
  );
}
