// manifest.json lists sources in the plan's order, whatever order the fetch
// step found them in: with a partly warm source cache, cached sources come
// back before downloaded ones, and that once reordered manifest.json.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stageGraph, type GraphOptions } from '../../../pipeline/graph/keys.ts';
import { sources, sourcesOut } from '../../../pipeline/graph/kinds/sources.ts';
import type { DistParts, ForBuild, Ship } from '../../../pipeline/graph/kinds/kind.ts';
import { Outputs, type StageEnv, type StageResult } from '../../../pipeline/graph/stage.ts';
import type { FetchedSource } from '../../../pipeline/steps/fetch.ts';
import { outputFormats } from '../../../pipeline/outputs/formats.ts';
import { fakeImagerFiles, fakePlan } from './fake-plan.ts';

const opts: GraphOptions = { buck2Sha256: null, sourceDateEpoch: 1700000000, formats: Object.keys(outputFormats), pipelineHash: 'p' };

test('the sources kind ships manifest.json sources in plan order, not fetch order', async () => {
  const ships: Ship[] = [];
  const ctx: ForBuild = {
    plan: fakePlan,
    graph: stageGraph(fakePlan, opts),
    budget: 2,
    imagerFiles: fakeImagerFiles,
    sde: '1700000000',
    add: (ref) => ref,
    ship: (fn) => ships.push(fn),
    added: () => [],
    contributions: () => ships,
  };
  if (sources.scope !== 'build') throw new Error('sources is expanded once per build');
  sources.expand(ctx);
  const names = Object.keys(fakePlan.sources);
  assert.ok(names.length >= 2, 'the fake plan needs at least two sources');
  const shipWith = async (order: string[]): Promise<string[]> => {
    const got = new Map<string, FetchedSource>();
    for (const n of order) got.set(n, { name: n, file: fakePlan.sources[n]!.file, sha256: fakePlan.sources[n]!.sha256, path: `/x/${n}`, from: 'cache' });
    const result = { hit: true, title: 'Fetch sources', value: got } as StageResult<Map<string, FetchedSource>>;
    const parts: DistParts = { artifacts: [], images: {}, toolchains: {}, packages: [], kernels: [], grub: [] };
    for (const ship of ships) await ship({} as StageEnv, new Outputs(new Map([[sourcesOut.id, result]])), parts);
    return parts.sources!.map((s) => s.name);
  };
  // The same sources found in two orders (all cached; or the first one downloaded last) ship the same list.
  const forward = await shipWith(names);
  const reversed = await shipWith([...names].reverse());
  assert.ok(forward.length >= 2, 'the fake plan ships at least two sources');
  assert.equal(reversed, forward, 'the fetch order leaked into manifest.json');
});

test.run();
