import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireLock, acquireLocks, readHolder } from '../../../pipeline/cache/run-lock.ts';
import { bootId } from '../../../pipeline/util/owner.ts';

const t = suite('run locks');
let dir: string;
t.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'osforge-lock-test-'));
});
t.after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const quiet = { runId: 'r1', log: () => undefined };

t('a second holder is refused at once with --no-wait, naming the holder', async () => {
  const path = join(dir, 'a.lock');
  const held = await acquireLock(path, { ...quiet, wait: true });
  try {
    await acquireLock(path, { ...quiet, wait: false }).then(
      () => assert.unreachable('must be refused'),
      (err: Error & { code: string }) => {
        assert.is(err.code, 'LOCKED');
        assert.match(err.message, new RegExp(`pid ${process.pid} \\(started .*, command: `));
      },
    );
    // Another process sees the same lock (flock is per open file, so this is the real test).
    const other = spawnSync('flock', ['-n', '-E', '75', path, 'true']);
    assert.is(other.status, 75);
  } finally {
    await held.release();
  }
  assert.is(spawnSync('flock', ['-n', '-E', '75', path, 'true']).status, 0, 'released');
});

t('a waiting run says who holds the lock and gets it once released', async () => {
  const path = join(dir, 'b.lock');
  const held = await acquireLock(path, { ...quiet, wait: true });
  const lines: string[] = [];
  const waiting = acquireLock(path, { runId: 'r2', wait: true, log: (l) => lines.push(l), pollMs: 50 });
  await new Promise((r) => setTimeout(r, 300));
  assert.match(lines.join('\n'), /waiting for .*b\.lock: held by pid \d+/);
  await held.release();
  const second = await waiting;
  assert.is(readHolder(path)!.runId, 'r2');
  await second.release();
});

t('a lock left by a dead process is taken over, and the takeover is logged', async () => {
  const path = join(dir, 'c.lock');
  await writeFile(path, JSON.stringify({ pid: 2147483, boot: bootId(), start: '1', startedAt: 'then', command: 'osforge dist', runId: 'dead' }));
  const lines: string[] = [];
  const l = await acquireLock(path, { runId: 'r3', wait: false, log: (m) => lines.push(m) });
  assert.match(lines.join('\n'), /took over from pid 2147483 .*died without releasing/);
  await l.release();
});

t('runs on different dirs do not wait for each other', async () => {
  const a = await acquireLocks([join(dir, 's1.lock'), join(dir, 'd1.lock')], { ...quiet, wait: false });
  const b = await acquireLocks([join(dir, 's2.lock'), join(dir, 'd2.lock')], { ...quiet, wait: false });
  await a.release();
  await b.release();
});

t.run();
