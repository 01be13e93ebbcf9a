// The host-process funnel with real processes (sh): output lines reach the
// log, a failure carries the exit code, the log tail and the first E: line,
// and a program that is not installed is a setup error naming its package.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OsforgeError } from '../../../pipeline/errors.ts';
import { packageOf, runHost } from '../../../pipeline/host/run.ts';

const failure = { code: 'IMAGE_BUILD' as const, stage: 'base' };

test('exit 0 resolves; every output line, stdout and stderr, reaches the log', async () => {
  const lines: string[] = [];
  await runHost('sh', ['-c', 'echo one; echo two >&2'], { log: (l) => lines.push(l), failure });
  assert.equal(lines.sort(), ['one', 'two']);
});

test('a failure names the exit code and the first E: line, and keeps the last 40 lines', async () => {
  const err = await runHost('sh', ['-c', 'for i in $(seq 1 50); do echo "I: line $i"; done; echo "E: the cause"; echo "E: it failed"; exit 3'], {
    failure,
  }).then(
    () => null,
    (e: unknown) => e,
  );
  assert.instance(err, OsforgeError);
  const e = err as OsforgeError;
  assert.is(e.code, 'IMAGE_BUILD');
  assert.is(e.message, 'sh exited with 3: E: the cause');
  assert.is(e.context.exitCode, 3);
  assert.is(e.context.stage, 'base');
  const tail = e.context.logTail as string[];
  assert.is(tail.length, 40);
  assert.is(tail.at(-1), 'E: it failed');
});

test('the hint is read from the tail, and only given when it applies', async () => {
  const hint = (tail: readonly string[]) => (tail.some((l) => /arch-test/.test(l)) ? 'install arch-test' : undefined);
  const withHint = (await runHost('sh', ['-c', 'echo "E: install arch-test"; exit 1'], { failure: { ...failure, hint } }).catch(
    (e: OsforgeError) => e,
  )) as OsforgeError;
  assert.is(withHint.context.hint, 'install arch-test');
  const without = (await runHost('sh', ['-c', 'exit 1'], { failure: { ...failure, hint } }).catch((e: OsforgeError) => e)) as OsforgeError;
  assert.is(without.context.hint, undefined);
});

test('a program that is not installed is a HOST_SETUP error naming the package to install', async () => {
  const e = (await runHost('osforge-no-such-tool', [], { failure }).catch((x: OsforgeError) => x)) as OsforgeError;
  assert.is(e.code, 'HOST_SETUP');
  assert.match(e.message, /^cannot run osforge-no-such-tool: spawn osforge-no-such-tool ENOENT/);
  assert.is(e.context.hint, 'install it: apt-get install -y osforge-no-such-tool (or run make setup)');
  assert.is(packageOf('gpgv'), 'gpgv');
  assert.is(packageOf('xz'), 'xz-utils');
  assert.is(packageOf('mmdebstrap'), 'mmdebstrap');
  assert.is(packageOf('__proto__'), '__proto__', 'an inherited name is not a table entry');
});

test.run();
