import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { jsonView } from '../../../pipeline/graph/progress.ts';
import type { BuildStage } from '../../../pipeline/graph/stage.ts';

const stage = (id: string): BuildStage => ({
  id,
  deps: [],
  inputs: [],
  key: `${id}-key`,
  title: id,
  weight: 1,
  cost: 1,
  present: async () => false,
  run: async () => {
    throw new Error('unused');
  },
});

test('--json: one parseable line per start, end and skip, with key, hit, duration, bytes and wait', () => {
  const lines: string[] = [];
  const v = jsonView((l) => lines.push(l));
  v.start();
  const t = performance.now();
  v.event({ type: 'start', id: 'a', at: t + 5, running: 1, readyAt: t + 2 }, stage('a'), undefined);
  v.event({ type: 'end', id: 'a', at: t + 50, status: 'done', durationMs: 45 }, stage('a'), { hit: false, title: 'a', bytes: 123, value: null });
  v.event({ type: 'end', id: 'b', at: t + 60, status: 'failed', durationMs: 3, error: new Error('boom') }, stage('b'), undefined);
  v.event({ type: 'skip', id: 'c', at: t + 61, because: 'b failed' }, stage('c'), undefined);
  const events = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.is(events.length, 4);
  assert.equal([events[0]!.event, events[0]!.stage, events[0]!.key, events[0]!.waitedMs], ['start', 'a', 'a-key', 3]);
  assert.equal([events[1]!.event, events[1]!.status, events[1]!.hit, events[1]!.bytes, events[1]!.durationMs], ['end', 'done', false, 123, 45]);
  assert.equal([events[2]!.status, events[2]!.error], ['failed', 'boom']);
  assert.equal([events[3]!.event, events[3]!.because], ['skip', 'b failed']);
});

test.run();
