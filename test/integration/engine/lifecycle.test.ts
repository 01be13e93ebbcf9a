// Steps die with their run, and only dead runs' leftovers are reaped: a real
// engine, a real orchestrator process killed with SIGKILL.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { LABEL_RUN } from '../../../pipeline/engine/docker.ts';
import { LABEL_OWNER_BOOT, LABEL_OWNER_PID, LABEL_OWNER_START, bootId, currentOwner, ownerLabels } from '../../../pipeline/util/owner.ts';
import { repoRoot } from '../../../pipeline/paths.ts';
import { engine, base, runId } from '../fixtures.ts';

const t = suite('step lifecycle (real Docker)');
const label = (suffix: string) => `${LABEL_RUN}=${runId}-${suffix}`;

t.after(async () => {
  for (const s of ['kill', 'live', 'dead', 'otherboot', 'reused']) await engine.removeByLabel(label(s));
});

async function until<T>(what: string, ms: number, probe: () => Promise<T | null | undefined | false>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const running = async (l: string) => (await engine.docker.listContainers({ filters: { label: [l] } })).length;

t('a step exits within seconds of its orchestrator being SIGKILLed, and the next run reaps it', async () => {
  const { ref } = await base('amd64');
  const child = spawn(
    join(repoRoot, 'node_modules/.bin/tsx'),
    [join(repoRoot, 'test/chaos/step-child.ts'), ref, 'echo step-started; sleep 300', `${runId}-kill`],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
    },
  );
  let out = '';
  child.stdout.on('data', (b: Buffer) => {
    out += b.toString();
  });
  await until('the step to start', 30_000, async () => out.includes('step-started'));
  assert.is(await running(label('kill')), 1);
  // The whole group: tsx runs the script in a child node process.
  process.kill(-child.pid!, 'SIGKILL');
  await until('the orphaned step to exit', 10_000, async () => (await running(label('kill'))) === 0);
  const all = await engine.docker.listContainers({ all: true, filters: { label: [label('kill')] } });
  assert.is(all.length, 1, 'the exited container is still there for the reaper');
  const reaped = await engine.reapOrphans();
  assert.ok(reaped.containers >= 1);
  assert.is((await engine.docker.listContainers({ all: true, filters: { label: [label('kill')] } })).length, 0);
});

t('the reaper removes containers of dead owners (dead pid, other boot, reused pid) and never a live run', async () => {
  const { ref } = await base('amd64');
  const me = currentOwner();
  const make = (suffix: string, labels: Record<string, string>) =>
    engine.docker.createContainer({
      Image: ref,
      Cmd: ['true'],
      Labels: { [LABEL_RUN]: `${runId}-${suffix}`, ...labels },
    });
  await make('live', ownerLabels(me));
  await make('dead', { ...ownerLabels(me), [LABEL_OWNER_PID]: '2147483' });
  await make('otherboot', { ...ownerLabels(me), [LABEL_OWNER_BOOT]: `not-${bootId()}` });
  // Same pid as a live process, another start time: the pid was reused.
  await make('reused', { ...ownerLabels(me), [LABEL_OWNER_START]: '1' });
  await engine.reapOrphans();
  const left = async (s: string) => (await engine.docker.listContainers({ all: true, filters: { label: [label(s)] } })).length;
  assert.is(await left('live'), 1, 'a live run in another state dir keeps its container');
  assert.is(await left('dead'), 0);
  assert.is(await left('otherboot'), 0);
  assert.is(await left('reused'), 0);
});

t('a step of the target arch under binfmt also dies with its orchestrator', async () => {
  const { ref } = await base('arm64');
  const child = spawn(
    join(repoRoot, 'node_modules/.bin/tsx'),
    [join(repoRoot, 'test/chaos/step-child.ts'), ref, 'echo step-started $(uname -m); sleep 300', `${runId}-kill`, 'arm64'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
    },
  );
  let out = '';
  child.stdout.on('data', (b: Buffer) => {
    out += b.toString();
  });
  await until('the arm64 step to start', 60_000, async () => out.includes('step-started'));
  assert.match(out, /step-started aarch64/);
  // The whole group: tsx runs the script in a child node process.
  process.kill(-child.pid!, 'SIGKILL');
  await until('the orphaned arm64 step to exit', 15_000, async () => (await running(label('kill'))) === 0);
});

t.run();
