// The release workflow is validated by a real workflow validator, and its
// tools-cache key hashes exactly the files osforge's tools key is made from.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { validateWorkflow } from '@action-validator/core';
import { loadPlan } from '../../../pipeline/plan/load.ts';
import { stageGraph } from '../../../pipeline/graph/keys.ts';
import { toolsKeyFiles } from '../../../pipeline/plan/tools-key-files.ts';
import { paths, repoRoot } from '../../../pipeline/paths.ts';

const file = join(repoRoot, '.github/workflows/release.yml');
const text = readFileSync(file, 'utf8');
interface Step {
  uses?: string;
  run?: string;
  id?: string;
  if?: string;
  with?: Record<string, string>;
  env?: Record<string, string>;
}
const steps: Step[] = Object.values(parse(text).jobs as Record<string, { steps: Step[] }>).flatMap((j) => j.steps);

test('the workflow validates', () => {
  const state = validateWorkflow(text);
  assert.equal(state.errors, [], JSON.stringify(state.errors));
});

test('the validator is not a rubber stamp: a broken workflow fails', () => {
  assert.ok(validateWorkflow(text.replace('runs-on:', 'runs-onn:')).errors.length > 0);
  assert.ok(validateWorkflow(text.replace('uses: actions/cache@v4', 'uses: [actions/cache@v4]')).errors.length > 0);
});

test("the tools-cache key hashes exactly the tools key's input files", () => {
  const cache = steps.find((s) => s.uses?.startsWith('actions/cache@'));
  assert.ok(cache, 'an actions/cache step');
  assert.is(cache!.with?.path, 'tools-cache');
  const m = /hashFiles\(([^)]*)\)/.exec(cache!.with?.key ?? '');
  assert.ok(m, 'the key uses hashFiles');
  const hashed = [...m![1]!.matchAll(/'([^']+)'/g)].map((x) => x[1]!).sort();
  const graph = stageGraph(loadPlan(paths.images), {
    buck2Sha256: null,
    sourceDateEpoch: 1,
    formats: [],
    pipelineHash: 'p',
  });
  assert.equal(hashed, toolsKeyFiles(graph.tools));
});

test('an input added to the tools key without its file is caught', () => {
  assert.throws(() => toolsKeyFiles({ id: 'tools', key: 'k', inputs: [['compiler-flags', 'x']] }), /compiler-flags/);
});

test('a restored cache sets TOOLS_CACHE_HIT, build.sh builds, signing uses COSIGN_PASSWORD, dist/ is uploaded', () => {
  const cache = steps.find((s) => s.uses?.startsWith('actions/cache@'))!;
  const mark = steps.find((s) => s.run?.includes('TOOLS_CACHE_HIT=true'));
  assert.ok(mark?.if?.includes(`steps.${cache.id}.outputs.cache-hit == 'true'`));
  assert.ok(steps.some((s) => s.run?.includes('builder/build.sh')));
  const sign = steps.find((s) => s.run?.includes('osforge sign'));
  assert.match(sign?.env?.COSIGN_PASSWORD ?? '', /secrets\.COSIGN_PASSWORD/);
  const upload = steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'));
  assert.is(upload?.with?.path, 'dist/');
});

test('a restored tools-cache/ is verified with a public key in the build; a fresh one is signed after it; the build holds no private key', () => {
  const cache = steps.find((s) => s.uses?.startsWith('actions/cache@'))!;
  const buildAt = steps.findIndex((s) => s.run?.includes('builder/build.sh'));
  const build = steps[buildAt]!;
  assert.match(build.run!, /OSFORGE_TOOLS_CACHE_PUBKEY=/);
  assert.match(build.run!, /--preserve-env=[^ ]*OSFORGE_TOOLS_CACHE_PUBKEY/);
  assert.not.match(JSON.stringify(build), /secrets\./, 'the build step sees no secret');
  const signAt = steps.findIndex((s) => s.run?.includes('osforge sign-tools-cache'));
  assert.ok(signAt > buildAt, 'signed after the build');
  const sign = steps[signAt]!;
  assert.is(sign.if, `steps.${cache.id}.outputs.cache-hit != 'true'`);
  assert.match(sign.env?.TOOLS_CACHE_PRIVATE_KEY ?? '', /secrets\.OSFORGE_TOOLS_CACHE_KEY/);
  assert.match(sign.run!, /rm -f "\$key"/);
});

test.run();
