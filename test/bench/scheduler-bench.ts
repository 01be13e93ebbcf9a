// Scheduler overhead: 500 fake stages (a random DAG, each depending on up to
// three earlier ones) on a budget of 2, every stage an instant no-op, so all
// the time measured is the scheduler's own. Also reports how long a ready
// stage waits from its last dependency's end to its start.
import { runGraph, type Stage, type StageEvent } from '../../pipeline/graph/scheduler.ts';

export async function schedulerBench(n = 500): Promise<{ stages: number; wallMs: number; medianReadyToStartMs: number; p99ReadyToStartMs: number }> {
  let x = 42;
  const rnd = () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
  const stages: Stage<number>[] = Array.from({ length: n }, (_, i) => ({
    id: `s${i}`,
    deps: i === 0 ? [] : [...new Set(Array.from({ length: Math.floor(rnd() * 4) }, () => `s${Math.floor(rnd() * i)}`))],
    run: async () => i,
  }));
  const waits: number[] = [];
  const onEvent = (e: StageEvent) => {
    if (e.type === 'start') waits.push(e.at - e.readyAt);
  };
  const t0 = performance.now();
  const r = await runGraph(stages, { budget: 2, onEvent });
  const wallMs = performance.now() - t0;
  if (!r.ok) throw new Error('scheduler bench: a fake stage did not finish');
  waits.sort((a, b) => a - b);
  return { stages: n, wallMs, medianReadyToStartMs: waits[Math.floor(waits.length / 2)]!, p99ReadyToStartMs: waits[Math.floor(waits.length * 0.99)]! };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await schedulerBench();
  process.stdout.write(
    `scheduler: ${r.stages} fake stages in ${r.wallMs.toFixed(1)} ms (target <= 2000 ms, ${(2000 / r.wallMs).toFixed(0)}x under); ` +
      `ready -> started median ${r.medianReadyToStartMs.toFixed(3)} ms, p99 ${r.p99ReadyToStartMs.toFixed(3)} ms\n`,
  );
}
