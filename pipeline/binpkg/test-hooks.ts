// Test-only fault injection for the crash-safety tests (never set in normal use):
//   OSFORGE_TEST_KILL_AT=<phase>:<n>   SIGKILL this process at the n-th time it reaches <phase>
//   OSFORGE_TEST_PAUSE_AT=<phase>:<ms> sleep <ms> the first time it reaches <phase>
// Phases: locked, stage, journal, move, vdb, commit, cleanup, uninstall.
// A real SIGKILL, not an exception, so nothing in this process gets to clean up.
import { setTimeout as sleep } from 'node:timers/promises';
import { settings } from '../settings.ts';

const counts = new Map<string, number>();
const paused = new Set<string>();

function spec(v: string | undefined): [string, number] | null {
  const m = v ? /^([a-z]+):(\d+)$/.exec(v) : null;
  return m ? [m[1]!, Number(m[2])] : null;
}

export async function testHook(phase: string): Promise<void> {
  const kill = spec(settings().testHooks.killAt);
  if (kill && kill[0] === phase) {
    const n = (counts.get(phase) ?? 0) + 1;
    counts.set(phase, n);
    if (n === kill[1]) process.kill(process.pid, 'SIGKILL');
  }
  const pause = spec(settings().testHooks.pauseAt);
  if (pause && pause[0] === phase && !paused.has(phase)) {
    paused.add(phase);
    process.stderr.write(`test hook: pausing ${pause[1]} ms at ${phase}\n`);
    await sleep(pause[1]);
  }
}
