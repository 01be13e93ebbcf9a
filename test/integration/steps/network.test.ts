import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LABEL_RUN } from '../../../pipeline/engine/docker.ts';
import { StageStore } from '../../../pipeline/cache/stage-store.ts';
import { stage2Package, type ArchContext } from '../../../pipeline/steps/bootstrap.ts';
import type { PackageRecipe } from '../../../pipeline/plan/types.ts';
import { OsforgeError } from '../../../pipeline/errors.ts';
import { engine, base, plan, runId } from '../fixtures.ts';
import { node } from '../../../pipeline/graph/keys.ts';

const probeNode = (network: string) =>
  node('stage2/amd64/netprobe', [
    ['network', network],
    ['nonce', `${process.pid}-${Date.now()}`],
  ]);

const t = suite('stage2 has no network');
let work: string;
t.before(async () => {
  work = await mkdtemp(join(tmpdir(), 'osforge-net-'));
});
t.after(async () => {
  await engine.removeByLabel(`${LABEL_RUN}=${runId}`);
  await rm(work, { recursive: true, force: true });
});

// Resolves the Debian mirror named in the image's own apt config: it needs DNS.
const reachNetwork = `#!/bin/sh
set -eu
host=$(sed -n 's|^deb [a-z]*://\\([^/ ]*\\).*|\\1|p' /etc/apt/sources.list | head -n1)
getent hosts "$host"
mkdir -p "$OUT" && echo fetched > "$OUT/ok"
`;

function ctx(ref: string, network: 'none' | 'bridge'): ArchContext {
  return {
    // stage2 starts its container through prepare(); run() is overridden too for any other step.
    engine:
      network === 'none'
        ? engine
        : Object.assign(Object.create(engine), {
            run: (s: Parameters<typeof engine.run>[0]) => engine.run({ ...s, network }),
            prepare: (s: Parameters<typeof engine.prepare>[0]) => engine.prepare({ ...s, network }),
          }),
    plan,
    arch: 'amd64',
    builderRef: ref,
    sources: new Map(),
    store: new StageStore(join(work, network)),
    runId,
    logDir: join(work, 'logs'),
    innerEpoch: 0,
    jobs: 1,
  };
}

const recipe: PackageRecipe = {
  id: 'netprobe',
  name: 'netprobe',
  version: '1',
  slot: '0',
  sources: [],
  deps: [],
  files: { 'build.sh': Buffer.from(reachNetwork) },
  patches: [],
};

t('a recipe that reaches for the network fails in stage2, naming stage, arch and log', async () => {
  const { ref } = await base('amd64');
  try {
    await stage2Package(ctx(ref, 'none'), recipe, probeNode('none'), [], 'test');
    assert.unreachable('stage2 must not reach the network');
  } catch (err) {
    assert.instance(err, OsforgeError);
    const e = err as OsforgeError;
    assert.is(e.context.stage, 'stage2:netprobe');
    assert.is(e.context.arch, 'amd64');
    assert.is.not(e.context.exitCode, 0);
    assert.match(e.context.logPath ?? '', /amd64-stage2-netprobe\.log$/);
  }
});

t('the same recipe succeeds when the network is on (so the failure above is the sandbox)', async () => {
  const { ref } = await base('amd64');
  const r = await stage2Package(ctx(ref, 'bridge'), recipe, probeNode('bridge'), [], 'test');
  assert.is(r.hit, false);
  assert.is(r.meta.name, 'netprobe');
});

t.run();
