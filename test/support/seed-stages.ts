// Copies the stage-store entries of some kinds (kernel, grub: the minutes-long
// compiles) from one state dir to another, so a cold-build check (chaos,
// repro-check's reduced form, the binary-mirror dist, the scale probe) spends
// its time on what it checks. Entries are copied whole (meta.json + output),
// and an entry the target has already is left alone.
//
//   tsx test/support/seed-stages.ts <from-state> <to-state> <kind>...   prints the count
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** An entry's recorded kind and arch, or undefined for anything that is not a complete entry. */
export function entryMeta(stagesDir: string, key: string): { arch?: string; kind?: string } | undefined {
  try {
    return JSON.parse(readFileSync(join(stagesDir, key, 'meta.json'), 'utf8')) as { arch?: string; kind?: string };
  } catch {
    return undefined;
  }
}

export function seedStages(fromState: string, toState: string, kinds: readonly string[]): number {
  const from = join(fromState, 'stages');
  const to = join(toState, 'stages');
  if (!kinds.length || !existsSync(from)) return 0;
  mkdirSync(to, { recursive: true });
  let n = 0;
  for (const key of readdirSync(from)) {
    const kind = entryMeta(from, key)?.kind;
    if (!kind || !kinds.includes(kind) || existsSync(join(to, key))) continue;
    cpSync(join(from, key), join(to, key), { recursive: true });
    n++;
  }
  return n;
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const [from, to, ...kinds] = process.argv.slice(2);
  if (!from || !to || !kinds.length) {
    console.error('usage: seed-stages.ts <from-state> <to-state> <kind>...');
    process.exit(2);
  }
  console.log(seedStages(from, to, kinds));
}
