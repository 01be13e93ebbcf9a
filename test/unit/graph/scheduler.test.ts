import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runGraph, validateGraph, criticalPath, type Stage, type StageEvent } from '../../../pipeline/graph/scheduler.ts';

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(new Error('aborted'));
      },
      { once: true },
    );
  });

/** A random DAG of n stages; each depends on up to 3 earlier ones. Deterministic (LCG). */
function randomDag(n: number, seed = 7, ms = () => 0): Stage<string>[] {
  let x = seed;
  const rnd = () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
  return Array.from({ length: n }, (_, i) => {
    const deps = i === 0 ? [] : [...new Set(Array.from({ length: Math.floor(rnd() * 4) }, () => `s${Math.floor(rnd() * i)}`))];
    return {
      id: `s${i}`,
      deps,
      run: async ({ signal }) => {
        await sleep(ms(), signal);
        return `out${i}`;
      },
    };
  });
}

function record() {
  const events: StageEvent[] = [];
  return { events, onEvent: (e: StageEvent) => events.push(e) };
}

test('every stage starts only after all its dependencies ended, and sees their outputs', async () => {
  const stages = randomDag(300, 3, () => Math.floor(Math.random() * 3));
  const seen = new Map<string, string[]>();
  for (const s of stages) {
    const run = s.run;
    s.run = async (ctx) => {
      seen.set(s.id, [...ctx.deps.values()]);
      return run(ctx);
    };
  }
  const { events, onEvent } = record();
  const r = await runGraph(stages, { budget: 4, onEvent });
  assert.ok(r.ok);
  const ended = new Set<string>();
  for (const e of events) {
    if (e.type === 'end') ended.add(e.id);
    if (e.type === 'start') {
      for (const d of stages.find((s) => s.id === e.id)!.deps) assert.ok(ended.has(d), `${e.id} started before ${d} ended`);
    }
  }
  for (const s of stages)
    assert.equal(
      seen.get(s.id),
      s.deps.map((d) => `out${d.slice(1)}`),
    );
});

test('independent stages run concurrently up to the budget, never beyond', async () => {
  const stages: Stage<number>[] = Array.from({ length: 40 }, (_, i) => ({
    id: `p${i}`,
    deps: [],
    run: async () => {
      await sleep(5);
      return i;
    },
  }));
  const { events, onEvent } = record();
  await runGraph(stages, { budget: 4, onEvent });
  const peak = Math.max(...events.filter((e) => e.type === 'start').map((e) => (e as { running: number }).running));
  assert.is(peak, 4);
});

test('weights: a heavy stage holds the budget, so nothing else runs beside it', async () => {
  let now = 0,
    peakWeight = 0;
  const weights: Record<string, number> = { kernel: 2, a: 1, b: 1, c: 1 };
  const stages: Stage<void>[] = Object.keys(weights).map((id) => ({
    id,
    deps: [],
    weight: weights[id],
    cost: id === 'kernel' ? 10 : 1,
    run: async () => {
      now += weights[id]!;
      peakWeight = Math.max(peakWeight, now);
      await sleep(3);
      now -= weights[id]!;
    },
  }));
  const { events, onEvent } = record();
  await runGraph(stages, { budget: 2, onEvent });
  assert.is(peakWeight, 2);
  assert.is(events.find((e) => e.type === 'start')!.id, 'kernel', 'the critical path starts first');
});

test('a stage heavier than the whole budget still runs (alone)', async () => {
  const r = await runGraph([{ id: 'huge', deps: [], weight: 16, run: async () => 1 }], { budget: 2 });
  assert.ok(r.ok);
});

test('a failure skips exactly its dependents; the rest of the graph finishes and is reported', async () => {
  const stages: Stage<string>[] = [
    { id: 'base', deps: [], run: async () => 'b' },
    {
      id: 'zlib',
      deps: ['base'],
      run: async () => {
        throw new Error('compile failed');
      },
    },
    { id: 'curl', deps: ['zlib'], run: async () => 'c' },
    { id: 'image', deps: ['curl', 'busybox'], run: async () => 'i' },
    {
      id: 'busybox',
      deps: ['base'],
      run: async () => {
        await sleep(5);
        return 'bb';
      },
    },
    { id: 'docs', deps: ['base'], run: async () => 'd' },
  ];
  const { events, onEvent } = record();
  const r = await runGraph(stages, { budget: 2, onEvent });
  assert.not.ok(r.ok);
  assert.equal(Object.fromEntries(r.status), { base: 'done', zlib: 'failed', curl: 'skipped', image: 'skipped', busybox: 'done', docs: 'done' });
  assert.match(String(r.errors.get('zlib')), /compile failed/);
  assert.ok(events.some((e) => e.type === 'skip' && e.id === 'image' && /zlib failed/.test(e.because)));
});

test('abort: nothing new starts, running stages see the signal, every unfinished stage is cancelled', async () => {
  const controller = new AbortController();
  const sawAbort: string[] = [];
  const stages: Stage<void>[] = Array.from({ length: 20 }, (_, i) => ({
    id: `s${i}`,
    deps: i < 2 ? [] : [`s${i - 2}`],
    run: async ({ signal }) => {
      if (i === 4) setTimeout(() => controller.abort(new Error('SIGINT')), 1);
      try {
        await sleep(20, signal);
      } catch (err) {
        sawAbort.push(`s${i}`);
        throw err;
      }
    },
  }));
  const { events, onEvent } = record();
  const r = await runGraph(stages, { budget: 2, signal: controller.signal, onEvent });
  assert.not.ok(r.ok);
  assert.ok(sawAbort.length >= 1);
  const startsAfterAbort = events.filter((e) => e.type === 'start' && Number(e.id.slice(1)) > 5);
  assert.is(startsAfterAbort.length, 0);
  assert.ok([...r.status.values()].every((s) => s === 'done' || s === 'cancelled'));
  assert.is(r.status.get('s19'), 'cancelled');
});

test('an already-aborted signal starts nothing', async () => {
  const c = new AbortController();
  c.abort();
  let ran = 0;
  const r = await runGraph(
    [
      {
        id: 'a',
        deps: [],
        run: async () => {
          ran++;
        },
      },
    ],
    { signal: c.signal },
  );
  assert.is(ran, 0);
  assert.is(r.status.get('a'), 'cancelled');
});

test('critical path first: with one slot, the head of the longest chain runs before a lone leaf', async () => {
  const order: string[] = [];
  const mk = (id: string, deps: string[], cost = 1): Stage<void> => ({
    id,
    deps,
    cost,
    run: async () => {
      order.push(id);
    },
  });
  await runGraph([mk('leaf', []), mk('chain1', []), mk('chain2', ['chain1']), mk('chain3', ['chain2'], 5)], { budget: 1 });
  assert.is(order[0], 'chain1');
  assert.equal(
    criticalPath([
      { id: 'a', deps: [], cost: 2 },
      { id: 'b', deps: ['a'], cost: 3 },
    ]).get('a'),
    5,
  );
});

test('bad graphs are refused, naming the stages', () => {
  assert.throws(() => validateGraph([{ id: 'a', deps: ['nope'] }]), /"a" depends on unknown stage "nope"/);
  assert.throws(
    () =>
      validateGraph([
        { id: 'a', deps: [] },
        { id: 'a', deps: [] },
      ]),
    /"a" is defined twice/,
  );
  assert.throws(
    () =>
      validateGraph([
        { id: 'a', deps: ['c'] },
        { id: 'b', deps: ['a'] },
        { id: 'c', deps: ['b'] },
      ]),
    /cycle: a -> c -> b -> a/,
  );
});

test('hundreds of stages: every one done exactly once', async () => {
  const stages = randomDag(800, 11);
  const runs = new Map<string, number>();
  for (const s of stages) {
    const run = s.run;
    s.run = (ctx) => {
      runs.set(s.id, (runs.get(s.id) ?? 0) + 1);
      return run(ctx);
    };
  }
  const r = await runGraph(stages, { budget: 8 });
  assert.ok(r.ok);
  assert.is(runs.size, 800);
  assert.ok([...runs.values()].every((n) => n === 1));
});

test.run();
