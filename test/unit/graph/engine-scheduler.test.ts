// The scheduler driving containers through the one step funnel (runStep) on
// a fake engine, with hundreds of stages: order, the job budget, failure
// propagation and cancellation, as seen from the engine's side.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runGraph, type Stage } from '../../../pipeline/graph/scheduler.ts';
import { runStep } from '../../../pipeline/steps/step.ts';
import { openStepLog } from '../../../pipeline/steps/step-log.ts';
import { OsforgeError } from '../../../pipeline/errors.ts';
import { FakeEngine } from './fake-engine.ts';

const logDir = mkdtempSync(join(tmpdir(), 'osforge-fake-engine-'));
test.after(() => rmSync(logDir, { recursive: true, force: true }));

/** A layered random DAG (seeded): `n` stages, each depending on up to 3 earlier ones. */
function dag(n: number, seed = 7): { id: string; deps: string[] }[] {
  let x = seed;
  const rand = () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  };
  const out: { id: string; deps: string[] }[] = [];
  for (let i = 0; i < n; i++) {
    const deps = new Set<string>();
    const k = i === 0 ? 0 : Math.floor(rand() * 4);
    for (let j = 0; j < k; j++) deps.add(`s${Math.floor(rand() * i)}`);
    out.push({ id: `s${i}`, deps: [...deps] });
  }
  return out;
}

function stagesOn(engine: FakeEngine, shape: { id: string; deps: string[] }[]): Stage<string>[] {
  return shape.map((s) => ({
    ...s,
    run: async () => {
      await runStep({ engine, image: 'fake', cmd: ['true'], runId: 'r', stage: s.id, log: openStepLog(logDir, s.id) });
      return s.id;
    },
  }));
}

const endOf = (e: FakeEngine) => new Map(e.ran.map((r) => [r.stage, r]));

test("300 stages: each container starts only after its dependencies' containers ended; the budget holds", async () => {
  const shape = dag(300);
  const engine = new FakeEngine((s) => ({ ms: 1 + (Number(s.slice(1)) % 3) }));
  const run = await runGraph(stagesOn(engine, shape), { budget: 4 });
  assert.ok(run.ok);
  assert.is(engine.ran.length, 300);
  const by = endOf(engine);
  for (const s of shape) for (const d of s.deps) assert.ok(by.get(d)!.endedAt < by.get(s.id)!.startedAt, `${s.id} started before ${d} ended`);
  assert.ok(engine.maxRunning <= 4, `max ${engine.maxRunning} containers at once`);
  assert.ok(engine.maxRunning >= 2, 'independent stages ran concurrently');
});

test('a failing container: its dependents never start a container, everything independent still runs', async () => {
  const shape = dag(300, 11);
  const failing = 's40';
  const engine = new FakeEngine((s) => ({ exitCode: s === failing ? 2 : 0 }));
  const run = await runGraph(stagesOn(engine, shape), { budget: 3 });
  assert.not.ok(run.ok);
  const err = run.errors.get(failing) as OsforgeError;
  assert.instance(err, OsforgeError);
  assert.is(err.code, 'CONTAINER_FAILED');
  assert.match(err.message, /s40 failed with exit code 2/);
  const downstream = new Set<string>();
  const visit = (id: string) => {
    for (const s of shape)
      if (s.deps.includes(id) && !downstream.has(s.id)) {
        downstream.add(s.id);
        visit(s.id);
      }
  };
  visit(failing);
  assert.ok(downstream.size > 0, 'the failing stage has dependents');
  const started = new Set(engine.ran.map((r) => r.stage));
  for (const d of downstream) {
    assert.not.ok(started.has(d), `${d} started`);
    assert.is(run.status.get(d), 'skipped');
  }
  for (const s of shape) if (s.id !== failing && !downstream.has(s.id)) assert.is(run.status.get(s.id), 'done', s.id);
});

test('cancellation: shutdown kills the running containers and no container starts afterwards', async () => {
  const shape = dag(300, 5);
  const engine = new FakeEngine(() => ({ ms: 5 }));
  const abort = new AbortController();
  let starts = 0;
  const pending = runGraph(stagesOn(engine, shape), {
    budget: 3,
    signal: abort.signal,
    onEvent: (e) => {
      if (e.type === 'start' && ++starts === 20) {
        abort.abort();
        void engine.shutdown();
      }
    },
  });
  const run = await pending;
  assert.not.ok(run.ok);
  const ranAfter = engine.ran.filter((r) => r.exitCode !== 137).length;
  assert.ok(engine.ran.length <= 22, `${engine.ran.length} containers ran`);
  assert.ok(ranAfter < 20);
  const statuses = [...run.status.values()];
  assert.ok(statuses.filter((s) => s === 'cancelled').length >= 270, 'the rest was cancelled');
  assert.not.ok(statuses.includes('skipped'), "cancelled, not reported as failures' dependents");
});

test.run();
