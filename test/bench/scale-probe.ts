// make bench, scale probe (issue 12): a generated distribution of 50 small
// packages with a layered dependency graph (each a static C program built
// with the seed toolchain, depending on up to three earlier ones) plus one
// package whose output is 1 GiB of incompressible files, built for one arch
// by a real `osforge dist --json` in its own state dir. Reported: wall time,
// the orchestrator's peak RSS (VmHWM), stage2 concurrency, and the time from
// a stage's dependencies finishing to its container starting.
// Sources, Debian layers, tools-cache/ and the kernel entries are shared
// with the normal state dir (inputs, not build work); every other stage and
// image step starts empty.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { paths, repoRoot, stateDir } from '../../pipeline/paths.ts';
import { seedStages } from '../support/seed-stages.ts';

const SMALL = Number(process.env.PROBE_PACKAGES ?? 50);
const BIG_MIB = Number(process.env.PROBE_BIG_MIB ?? 1024);
const RSS_TARGET_MB = 250;
const LATENCY_TARGET_MS = 100;

const work = mkdtempSync(join(process.env.PROBE_DIR ?? tmpdir(), 'osforge-probe-'));
const images = join(work, 'images');
cpSync(paths.images, images, { recursive: true });
const plan = JSON.parse(readFileSync(join(images, 'buckos.json'), 'utf8')) as { arches: string[]; packages: string[] };

// A seeded layered graph, so every run of the probe builds the same distribution.
let seed = 12;
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};
const generated: string[] = [];
for (let i = 0; i < SMALL; i++) {
  const name = `gen${String(i).padStart(2, '0')}`;
  const deps = new Set<string>();
  for (let k = Math.floor(rand() * 4); k > 0 && generated.length > 0; k--) deps.add(generated[Math.floor(rand() * generated.length)]!);
  const dir = join(images, 'packages', name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'recipe.json'), JSON.stringify({ name, version: '1.0.0', license: 'MIT', sources: [], deps: [...deps] }, null, 2));
  writeFileSync(join(dir, 'main.c'), `#include <stdio.h>\nint main(void) { puts("${name}"); return 0; }\n`);
  writeFileSync(
    join(dir, 'build.sh'),
    `#!/bin/sh\nset -eu\nmkdir -p "$OUT/usr/bin" "$OUT/usr/share/${name}"\n"$CC" -static -O2 -o "$OUT/usr/bin/${name}" /recipe/main.c\nfor d in ${[...deps].join(' ')}; do test -x "/deps/usr/bin/$d"; done\necho "${name} ${[...deps].join(' ')}" > "$OUT/usr/share/${name}/info"\n`,
  );
  generated.push(name);
}
const big = join(images, 'packages', 'bigdata');
mkdirSync(big, { recursive: true });
writeFileSync(join(big, 'recipe.json'), JSON.stringify({ name: 'bigdata', version: '1.0.0', license: 'MIT', sources: [], deps: [] }, null, 2));
writeFileSync(
  join(big, 'build.sh'),
  `#!/bin/sh\nset -eu\nmkdir -p "$OUT/usr/share/bigdata"\ni=0\nwhile [ $i -lt ${BIG_MIB / 64} ]; do head -c 67108864 /dev/urandom > "$OUT/usr/share/bigdata/blob-$i"; i=$((i + 1)); done\n`,
);
plan.arches = ['amd64'];
plan.packages = [...plan.packages, ...generated, 'bigdata'];
writeFileSync(join(images, 'buckos.json'), JSON.stringify(plan, null, 2));

const state = join(work, 'state');
mkdirSync(state, { recursive: true });
for (const shared of ['sources', 'layers']) if (existsSync(join(stateDir(), shared))) symlinkSync(join(stateDir(), shared), join(state, shared));
// The kernel and GRUB are not what the probe measures (dist-bench times them): their entries are taken like the sources.
seedStages(stateDir(), state, ['kernel', 'grub', 'tools-cache-index']);

interface Event {
  event: string;
  stage: string;
  at: number;
  readyAt?: number;
  durationMs?: number;
  status?: string;
  hit?: boolean;
}
const events: Event[] = [];
let peakKb = 0;
const started = performance.now();
const code = await new Promise<number>((resolve) => {
  const child = spawn(process.execPath, [join(repoRoot, 'pipeline/bin/osforge.js'), 'dist', '--json', '--jobs', String(process.env.PROBE_JOBS ?? 2)], {
    env: {
      ...process.env,
      OSFORGE_IMAGES: images,
      OSFORGE_STATE_DIR: state,
      OSFORGE_DIST: join(work, 'dist'),
      OSFORGE_TOOLS_CACHE: paths.toolsCache(),
      SOURCE_DATE_EPOCH: '1700000000',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // VmHWM is the process's own peak resident set; sampled until it exits.
  const poll = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m) peakKb = Math.max(peakKb, Number(m[1]));
    } catch {
      /* exited */
    }
  }, 100);
  let pending = '';
  child.stdout.on('data', (c: Buffer) => {
    pending += c.toString();
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const l of lines) if (l.startsWith('{')) events.push(JSON.parse(l) as Event);
  });
  child.on('exit', (c) => {
    clearInterval(poll);
    resolve(c ?? 1);
  });
});
const wallS = (performance.now() - started) / 1000;
if (code !== 0) {
  console.error(`scale probe: osforge dist exited ${code}; state kept in ${work}`);
  process.exit(1);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : NaN;
};
const starts = new Map(events.filter((e) => e.event === 'start').map((e) => [e.stage, e]));
const containers = events.filter((e) => e.event === 'container' && e.stage.startsWith('stage2/'));
const readyToContainer = containers.map((c) => c.at - starts.get(c.stage)!.readyAt!);
// Stages that found a free job slot at once: there, ready -> container is all orchestration.
const unqueued = containers.filter((c) => starts.get(c.stage)!.at - starts.get(c.stage)!.readyAt! < 5).map((c) => c.at - starts.get(c.stage)!.readyAt!);
const startToContainer = containers.map((c) => c.at - starts.get(c.stage)!.at);
// Most stage2 containers running at once, from their start and end events.
const spans = events.filter((e) => e.event === 'end' && e.stage.startsWith('stage2/')).map((e) => [starts.get(e.stage)!.at, e.at] as const);
let concurrent = 0;
for (const [s] of spans) concurrent = Math.max(concurrent, spans.filter(([a, b]) => a <= s && s < b).length);
const stageMs = events.filter((e) => e.event === 'end').reduce((n, e) => n + (e.durationMs ?? 0), 0);

const peakMb = peakKb / 1024;
console.log(`scale probe (${SMALL} packages + ${BIG_MIB} MiB package, amd64, --jobs ${process.env.PROBE_JOBS ?? 2}):`);
console.log(`  wall time                       ${wallS.toFixed(1)} s`);
console.log(`  orchestrator peak RSS           ${peakMb.toFixed(0)} MB (target <= ${RSS_TARGET_MB} MB: ${peakMb <= RSS_TARGET_MB ? 'met' : 'NOT met'})`);
console.log(
  `  stage2 ready -> container start median ${median(readyToContainer).toFixed(0)} ms (includes waiting for a free job slot), max ${Math.max(...readyToContainer).toFixed(0)} ms`,
);
console.log(`  stage2 ready -> container start median ${median(unqueued).toFixed(0)} ms over the ${unqueued.length} that found a free slot at once`);
console.log(
  `  stage2 start -> container start median ${median(startToContainer).toFixed(0)} ms (target <= ${LATENCY_TARGET_MS} ms: ${median(startToContainer) <= LATENCY_TARGET_MS ? 'met' : 'NOT met'})`,
);
console.log(`  stage2 packages running at once  up to ${concurrent}`);
console.log(`  stages ${starts.size}, summed stage time ${(stageMs / 1000).toFixed(1)} s, ratio to wall ${(stageMs / 1000 / wallS).toFixed(2)}`);
if (!process.env.PROBE_KEEP) rmSync(work, { recursive: true, force: true });
else console.log(`  kept in ${work}`);
