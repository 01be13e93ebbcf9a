// `osforge query deps|rdeps <pkg>`: the resolved dependency graph of the plan
// (deps after USE flags' use_deps), as an indented tree. Pure: plan in, text out.
import { OsforgeError } from '../errors.ts';
import type { PackageRecipe, Plan } from './types.ts';

const label = (r: PackageRecipe) =>
  `${r.id} ${r.version}${r.use ? ` [USE: ${r.use.iuse.map((f) => (r.use!.enabled.includes(f) ? f : `-${f}`)).join(' ')}]` : ''}`;

function find(plan: Plan, name: string): PackageRecipe {
  // An instance id (zlib:1), or a name with one instance.
  const exact = plan.packages.find((p) => p.id === name);
  if (exact) return exact;
  const named = plan.packages.filter((p) => p.name === name);
  if (named.length === 1) return named[0]!;
  throw new OsforgeError(
    'USAGE',
    named.length ? `package ${JSON.stringify(name)} has ${named.length} instances in the plan; name one` : `no package ${JSON.stringify(name)} in the plan`,
    { hint: `one of: ${(named.length ? named : plan.packages).map((p) => p.id).join(', ')}` },
  );
}

/**
 * The tree below `name`: each package's deps (or, reversed, the packages that
 * depend on it), recursively. A package met again is shown once more with
 * "(see above)" instead of its subtree, so a diamond stays short.
 */
export function queryTree(plan: Plan, name: string, direction: 'deps' | 'rdeps'): string {
  const byId = new Map(plan.packages.map((p) => [p.id, p]));
  const next = (r: PackageRecipe): PackageRecipe[] =>
    (direction === 'deps' ? r.deps.map((d) => byId.get(d)!) : plan.packages.filter((p) => p.deps.includes(r.id))).sort((a, b) => (a.id < b.id ? -1 : 1));
  const root = find(plan, name);
  const lines = [label(root)];
  const seen = new Set<string>([root.id]);
  const walk = (r: PackageRecipe, prefix: string) => {
    const kids = next(r);
    kids.forEach((k, i) => {
      const last = i === kids.length - 1;
      const again = seen.has(k.id);
      lines.push(`${prefix}${last ? '└─ ' : '├─ '}${label(k)}${again ? ' (see above)' : ''}`);
      if (again) return;
      seen.add(k.id);
      walk(k, prefix + (last ? '   ' : '│  '));
    });
  };
  walk(root, '');
  if (lines.length === 1) lines.push(direction === 'deps' ? '(no dependencies)' : '(nothing depends on it)');
  return lines.join('\n') + '\n';
}
