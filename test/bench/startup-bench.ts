// make bench: start-up of the compiled bin against the tsx start, in the
// same run. `osforge --help` (target ≤ 0.3 s) and a warm `make dist` no-op,
// setup included (target ≤ 1 s): the no-op needs a dist/ that is current, so
// it first runs `make dist` once into STARTUP_DIST (default: $OSFORGE_DIST or
// ./dist) and then times the repeats. Medians of STARTUP_RUNS (default 5).
// Exits 1 when the compiled start misses a target (STARTUP_NO_FAIL=1 only reports).
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '../..');
const runs = Number(process.env.STARTUP_RUNS ?? 5);
const distDir = process.env.STARTUP_DIST ?? process.env.OSFORGE_DIST ?? resolve(repo, 'dist');

function median(cmd: string, args: string[], env: Record<string, string>): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const r = spawnSync(cmd, args, { cwd: repo, env: { ...process.env, ...env }, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.slice(-500)}`);
    times.push((performance.now() - t) / 1000);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

// The compiled build must be current, or the "compiled" runs would be tsx runs.
spawnSync(process.execPath, ['pipeline/bin/build.mjs', '--if-stale'], { cwd: repo, stdio: 'inherit' });
const bin = ['pipeline/bin/osforge.js'];
const help = { compiled: median(process.execPath, [...bin, '--help'], {}), tsx: median(process.execPath, [...bin, '--help'], { OSFORGE_NO_BUILD: '1' }) };
const once = spawnSync('make', ['dist'], { cwd: repo, env: { ...process.env, OSFORGE_DIST: distDir }, encoding: 'utf8' });
if (once.status !== 0) throw new Error(`make dist failed: ${once.stderr.slice(-800)}`);
const noop = {
  compiled: median('make', ['-s', 'dist'], { OSFORGE_DIST: distDir }),
  tsx: median('make', ['-s', 'dist'], { OSFORGE_DIST: distDir, OSFORGE_NO_BUILD: '1' }),
};
const rows: [string, { compiled: number; tsx: number }, number][] = [
  ['osforge --help', help, 0.3],
  ['make dist (warm no-op, setup included)', noop, 1],
];
let missed = 0;
for (const [what, t, target] of rows) {
  const ok = t.compiled <= target;
  if (!ok) missed++;
  process.stdout.write(`startup: ${what}: compiled ${t.compiled.toFixed(2)} s, tsx ${t.tsx.toFixed(2)} s (target ≤ ${target} s: ${ok ? 'met' : 'MISSED'})\n`);
}
if (missed && process.env.STARTUP_NO_FAIL !== '1') process.exitCode = 1;
