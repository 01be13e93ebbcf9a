// The stage-kind registry (graph/kinds/registry.ts): every kind once, in
// build order, and compile over it gives exactly the stages the one-function
// compile gave (ids, keys, dependencies, weights, titles), recorded in
// compile-snapshot.json from that compile over the fake plan (fake-plan.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stageGraph, type GraphOptions } from '../../../pipeline/graph/keys.ts';
import { compile } from '../../../pipeline/graph/compile.ts';
import { validateGraph } from '../../../pipeline/graph/scheduler.ts';
import { KINDS } from '../../../pipeline/graph/kinds/registry.ts';
import type { ForBuild, StageKind } from '../../../pipeline/graph/kinds/kind.ts';
import { outputFormats } from '../../../pipeline/outputs/formats.ts';
import { Journal, explain } from '../../../pipeline/cache/journal.ts';
import { fakeImagerFiles, fakePlan } from './fake-plan.ts';

const opts: GraphOptions = { buck2Sha256: null, sourceDateEpoch: 1700000000, formats: Object.keys(outputFormats), pipelineHash: 'p' };
const snapshot = JSON.parse(readFileSync(join(import.meta.dirname, 'compile-snapshot.json'), 'utf8')) as unknown[];

/** The kind that added each stage: every kind, wrapped to note the ids it adds. */
function owners(): Map<string, string> {
  const owner = new Map<string, string>();
  const noting =
    <C extends ForBuild, R>(k: StageKind, expand: (c: C) => R) =>
    (c: C): R => {
      const n = c.added().length;
      const r = expand(c);
      for (const id of c.added().slice(n)) owner.set(id, k.name);
      return r;
    };
  const traced = KINDS.map((k): StageKind => {
    switch (k.scope) {
      case 'build':
        return { ...k, expand: noting(k, (c) => k.expand(c)) };
      case 'final':
        return { ...k, expand: noting(k, (c) => k.expand(c)) };
      case 'arch':
        return { ...k, expand: noting(k, (c) => k.expand(c)) };
      case 'set':
        return { ...k, expand: noting(k, (c) => k.expand(c)) };
    }
  });
  compile(fakePlan, stageGraph(fakePlan, opts), 4, fakeImagerFiles, traced);
  return owner;
}

test('every kind is registered once, under a name of its own', () => {
  assert.is(new Set(KINDS).size, KINDS.length);
  assert.is(new Set(KINDS.map((k) => k.name)).size, KINDS.length);
});

test('the registry is in build order: build-wide kinds, per arch, per image set, then dist', () => {
  const rank = { build: 0, arch: 1, set: 2, final: 3 } as const;
  const ranks = KINDS.map((k) => rank[k.scope]);
  assert.equal(
    ranks,
    [...ranks].sort((a, b) => a - b),
  );
  assert.equal(
    KINDS.filter((k) => k.scope === 'final').map((k) => k.name),
    ['dist'],
  );
});

test('every kind adds stages, and depends only on its own stages and those of kinds before it', () => {
  const owner = owners();
  const c = compile(fakePlan, stageGraph(fakePlan, opts), 4, fakeImagerFiles);
  validateGraph(c.stages);
  const position = new Map(KINDS.map((k, i) => [k.name, i]));
  for (const k of KINDS) assert.ok([...owner.values()].includes(k.name), `${k.name} adds no stage`);
  const seen = new Set<string>();
  for (const s of c.stages) {
    const mine = position.get(owner.get(s.id)!)!;
    for (const d of s.deps) {
      assert.ok(seen.has(d), `${s.id} depends on ${d}, which comes after it`);
      assert.ok(position.get(owner.get(d)!)! <= mine, `${s.id} (${owner.get(s.id)}) depends on ${d} of a later kind (${owner.get(d)})`);
    }
    seen.add(s.id);
  }
});

test('compile over the fake plan gives the stages the one-function compile gave: ids, keys, deps, weights, costs, titles', () => {
  const c = compile(fakePlan, stageGraph(fakePlan, opts), 4, fakeImagerFiles);
  const now = c.stages.map((s) => ({
    id: s.id,
    key: s.key,
    deps: s.deps,
    weight: s.weight,
    cost: s.cost,
    ...(s.placement ? { placement: s.placement } : {}),
    ...(s.storeKey ? { storeKey: s.storeKey } : {}),
    title: s.title,
    ...(s.hold ? { hold: true } : {}),
  }));
  assert.equal(now, snapshot);
});

test('the runner gets what it used to special-case from the stages: the builder image, the no-op proof, the report', () => {
  const c = compile(fakePlan, stageGraph(fakePlan, opts), 4, fakeImagerFiles);
  assert.equal(
    c.stages.filter((s) => s.provenOnNoop).map((s) => s.id),
    ['tools'],
  );
  assert.equal(
    c.stages.filter((s) => s.remoteImage).map((s) => s.id),
    c.stages.filter((s) => s.placement).map((s) => s.id),
  );
  const reporting = c.stages.filter((s) => s.report).map((s) => s.id);
  assert.equal(reporting, ['tools', ...c.stages.filter((s) => s.id.startsWith('stage2/')).map((s) => s.id)]);
});

test('explain names the package pin that changed for base, buildenv and kernel-build, whose keys are their image input hash', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'osforge-journal-'));
  try {
    const journal = new Journal(dir);
    const before = compile(fakePlan, stageGraph(fakePlan, opts), 4, fakeImagerFiles);
    for (const id of ['base/amd64', 'buildenv/amd64', 'kernel-build/amd64']) await journal.record(before.byId.get(id)!);
    const bump = (spec: typeof fakePlan.base) => ({ ...spec, pins: { amd64: [`${spec.pins.amd64![0]}+1`, ...spec.pins.amd64!.slice(1)] } });
    const p = { ...fakePlan, base: bump(fakePlan.base), buildenv: bump(fakePlan.buildenv), kernelBuild: bump(fakePlan.kernelBuild!) };
    const after = compile(p, stageGraph(p, opts), 4, fakeImagerFiles);
    const names = (id: string) => explain(after.byId.get(id)!, false, journal).changes.map((c) => c.name);
    assert.equal(names('base/amd64'), ['rootfs-input', 'include:ca-certificates']);
    assert.equal(names('buildenv/amd64'), ['rootfs-input', 'include:gcc']);
    assert.equal(names('kernel-build/amd64'), ['rootfs-input', 'include:bc']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
