// The kernel's configuration fragments, as data: which fragments an arch
// uses, what each requests, and whether every request landed in the final
// .config. Kconfig drops a request whose dependencies are unmet without an
// error (merge_config.sh only warns), so this check is what makes a fragment
// a promise rather than a wish. Pure.
import { archInfo } from '../model/arch.ts';

/** A fragment file: its path under images/kernel/config/ and its text. */
export interface Fragment {
  path: string;
  text: string;
}

/** `CONFIG_X` → its requested value: `y`, `m`, a number, a quoted string, or `n` for "is not set". */
export type ConfigValues = Map<string, string>;

/** One request that did not land, with the fragment that made it. */
export interface Mismatch {
  option: string;
  requested: string;
  actual: string | undefined;
  fragment: string;
}

const SET_RE = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/;
const UNSET_RE = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/;

/** Parses a fragment or a .config: `CONFIG_X=v` lines and `# CONFIG_X is not set` (as `n`); other lines are comments. */
export function parseConfig(text: string, where = 'config'): ConfigValues {
  const out: ConfigValues = new Map();
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    const set = SET_RE.exec(line);
    const unset = UNSET_RE.exec(line);
    if (set) out.set(set[1]!, set[2]!);
    else if (unset) out.set(unset[1]!, 'n');
    else if (line !== '' && !line.startsWith('#'))
      throw new Error(`${where}:${i + 1}: expected CONFIG_X=value or "# CONFIG_X is not set", found ${JSON.stringify(line)}`);
  }
  return out;
}

/** The fragments one arch's kernel is made of, in merge order: the shared ones (sorted), then arch/<arch>.config. */
export function fragmentsFor(all: readonly Fragment[], arch: string): Fragment[] {
  archInfo(arch);
  const shared = all.filter((f) => !f.path.includes('/')).sort((a, b) => (a.path < b.path ? -1 : 1));
  const own = all.filter((f) => f.path === `arch/${arch}.config`);
  // base.config first: it is the foundation the others add to, so it reads first in merge_config's output too.
  return [...shared.filter((f) => f.path === 'base.config'), ...shared.filter((f) => f.path !== 'base.config'), ...own];
}

/**
 * Every request of every fragment that the final .config does not carry
 * with the requested value. "Is not set" is met by an absent option too
 * (Kconfig leaves out options whose menu is off, e.g. MODULE_SIG without MODULES).
 */
export function missingOptions(fragments: readonly Fragment[], finalConfig: string): Mismatch[] {
  const final = parseConfig(finalConfig, '.config');
  const out: Mismatch[] = [];
  for (const f of fragments) {
    for (const [option, requested] of parseConfig(f.text, f.path)) {
      const actual = final.get(option);
      const landed = requested === 'n' ? actual === undefined || actual === 'n' : actual === requested;
      if (!landed) out.push({ option, requested, actual, fragment: f.path });
    }
  }
  return out;
}

/** One line per mismatch, for the step's failure message. */
export function describeMismatches(list: readonly Mismatch[]): string {
  const show = (v: string | undefined) => (v === undefined ? 'absent' : v === 'n' ? 'not set' : v);
  return list.map((m) => `${m.option}: ${m.fragment} requests ${show(m.requested)}, .config has ${show(m.actual)}`).join('\n');
}
