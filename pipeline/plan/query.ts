// `osforge query deps|rdeps <pkg>`: the resolved dependency graph of the plan
// (deps after USE flags' use_deps), as an indented tree. Pure: plan in, text out.
import { OsforgeError } from '../errors.ts';
import type { PackageRecipe, Plan } from './types.ts';

const label = (r: PackageRecipe) => `${r.name} ${r.version}${r.use ? ` [USE: ${r.use.iuse.map((f) => (r.use!.enabled.includes(f) ? f : `-${f}`)).join(' ')}]` : ''}`;

function find(plan: Plan, name: string): PackageRecipe {
  const r = plan.packages.find((p) => p.name === name);
  if (!r) throw new OsforgeError('USAGE', `no package ${JSON.stringify(name)} in the plan`, { hint: `one of: ${plan.packages.map((p) => p.name).join(', ')}` });
  return r;
}

/**
 * The tree below `name`: each package's deps (or, reversed, the packages that
 * depend on it), recursively. A package met again is shown once more with
 * "(see above)" instead of its subtree, so a diamond stays short.
 */
export function queryTree(plan: Plan, name: string, direction: 'deps' | 'rdeps'): string {
  const byName = new Map(plan.packages.map((p) => [p.name, p]));
  const next = (r: PackageRecipe): PackageRecipe[] => (direction === 'deps'
    ? r.deps.map((d) => byName.get(d)!)
    : plan.packages.filter((p) => p.deps.includes(r.name))).sort((a, b) => (a.name < b.name ? -1 : 1));
  const lines = [label(find(plan, name))];
  const seen = new Set<string>([name]);
  const walk = (r: PackageRecipe, prefix: string) => {
    const kids = next(r);
    kids.forEach((k, i) => {
      const last = i === kids.length - 1;
      const again = seen.has(k.name);
      lines.push(`${prefix}${last ? '└─ ' : '├─ '}${label(k)}${again ? ' (see above)' : ''}`);
      if (again) return;
      seen.add(k.name);
      walk(k, prefix + (last ? '   ' : '│  '));
    });
  };
  walk(find(plan, name), '');
  if (lines.length === 1) lines.push(direction === 'deps' ? '(no dependencies)' : '(nothing depends on it)');
  return lines.join('\n') + '\n';
}
