// The database lock between real processes: a second command waits and
// names the holder, or with --no-wait fails at once; a lock left by a dead
// process (or a previous boot) is taken over and that is said; and two
// installs racing for the same file never both own it.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { bootId, processStartTime } from '../../../pipeline/binpkg/db-lock.ts';
import { listInstalled } from '../../../pipeline/binpkg/vdb.ts';
import { packageBytes, repoRoot, runCli, serveDir, snapshot, tempDir, writeMirror, type CliResult } from '../../fixtures/binpkg/helpers.ts';

const test = suite('binpkg/lock');
let root = '';
let url = '';
let server: Awaited<ReturnType<typeof serveDir>>;
let n = 0;

const args = (name: string, prefix: string, extra: string[] = []) => [
  'install',
  name,
  '--mirror-url',
  url,
  '--prefix',
  prefix,
  '--arch',
  'amd64',
  '--cache-dir',
  join(root, 'cache'),
  ...extra,
];

/** Like runCli, but also returns the child's pid at once. */
function start(cliArgs: string[], env: Record<string, string> = {}): { pid: number; done: Promise<CliResult> } {
  const child = spawn(join(repoRoot, 'node_modules/.bin/tsx'), [join(repoRoot, 'pipeline/cli.ts'), ...cliArgs], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  return { pid: child.pid!, done: new Promise((res) => child.on('close', (code) => res({ code: code ?? -1, stdout, stderr }))) };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (cond()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function freshPrefix(): Promise<string> {
  const p = join(root, `p${n++}`);
  await mkdir(join(p, 'etc'), { recursive: true });
  await writeFile(join(p, 'etc/keep'), 'keep\n');
  return p;
}

async function owners(prefix: string): Promise<string[]> {
  return (await listInstalled(prefix)).filter((i) => i.contents.some((l) => l.path === 'bin/shared')).map((i) => i.record.name);
}

test.before(async () => {
  root = await tempDir('lock');
  await writeMirror(join(root, 'www/m'), [
    { name: 'alpha', version: '1.0', data: await packageBytes({ 'bin/shared': 'from alpha\n', 'bin/alpha': 'a\n' }) },
    { name: 'beta', version: '1.0', data: await packageBytes({ 'bin/shared': 'from beta\n', 'bin/beta': 'b\n' }) },
  ]);
  server = await serveDir(join(root, 'www'));
  url = `${server.url}/m`;
});
test.after(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

test("a second command fails at once with --no-wait, naming the holder; without it, it waits, says for whom, then sees the first one's files", async () => {
  const prefix = await freshPrefix();
  const lock = join(prefix, 'var/db/pkg/.lock');
  const a = start(args('alpha', prefix), { OSFORGE_TEST_PAUSE_AT: 'locked:6000' });
  await until(() => existsSync(lock), 'the first install to take the lock');
  const holder = JSON.parse(readFileSync(lock, 'utf8'));
  assert.equal(Object.keys(holder).sort(), ['bootId', 'command', 'pid', 'since', 'startTime']);
  assert.is(holder.command, 'osforge install alpha 1.0');
  assert.is(holder.bootId, bootId());

  const noWait = await runCli(args('beta', prefix, ['--no-wait']));
  assert.is(noWait.code, 1);
  assert.match(
    noWait.stderr,
    new RegExp(
      `^error \\[LOCKED\\]: the package database of .* is locked by pid ${holder.pid} \\(osforge install alpha 1\\.0, since ${holder.since.replaceAll('.', '\\.')}\\)$`,
      'm',
    ),
  );

  const b = start(args('beta', prefix));
  const [ra, rb] = await Promise.all([a.done, b.done]);
  assert.is(ra.code, 0, ra.stderr);
  assert.match(rb.stderr, new RegExp(`waiting for the package database lock .*\\.lock, held by pid ${holder.pid} \\(osforge install alpha 1\\.0`));
  assert.is(rb.code, 1);
  assert.match(rb.stderr, /error \[ARCHIVE_UNSAFE\]: installing beta-1\.0 would overwrite files it does not own: \/bin\/shared belongs to alpha-1\.0/);
  assert.equal(await owners(prefix), ['alpha']);
  assert.is(readFileSync(join(prefix, 'bin/shared'), 'utf8'), 'from alpha\n');
  assert.not.ok(existsSync(lock));
});

test('two installs started together: exactly one owns the shared file, every time', async () => {
  for (let round = 0; round < 3; round++) {
    const prefix = await freshPrefix();
    const [ra, rb] = await Promise.all([start(args('alpha', prefix)).done, start(args('beta', prefix)).done]);
    const ok = [ra, rb].filter((r) => r.code === 0);
    const refused = [ra, rb].filter((r) => r.code !== 0);
    assert.is(ok.length, 1, `round ${round}: ${ra.stderr} | ${rb.stderr}`);
    assert.match(refused[0]!.stderr, /\/bin\/shared belongs to (alpha|beta)-1\.0/);
    const own = await owners(prefix);
    assert.is(own.length, 1, `round ${round}: owners ${own.join(', ')}`);
    assert.is(readFileSync(join(prefix, 'bin/shared'), 'utf8'), `from ${own[0]}\n`);
    assert.not.ok(existsSync(join(prefix, 'var/db/pkg/.lock')));
  }
});

test('a lock of a dead process, or of a previous boot, is taken over and that is logged', async () => {
  const dead = spawnSync('true').pid!;
  const cases: [Record<string, unknown>, RegExp][] = [
    [
      { pid: dead, bootId: bootId(), startTime: '1', command: 'osforge install ghost 1.0', since: '2026-01-01T00:00:00.000Z' },
      new RegExp(`taking over the stale lock .* of pid ${dead} \\(osforge install ghost 1\\.0, since 2026-01-01T00:00:00\\.000Z\\): process ${dead} is gone`),
    ],
    [
      { pid: process.pid, bootId: 'another-boot', startTime: '1', command: 'osforge uninstall x', since: '2026-01-01T00:00:00.000Z' },
      /taking over the stale lock .*: it was taken before the last reboot/,
    ],
    [
      { pid: process.pid, bootId: bootId(), startTime: 'not-my-start', command: 'osforge install y', since: '2026-01-01T00:00:00.000Z' },
      new RegExp(`process ${process.pid} is gone \\(the pid was reused\\)`),
    ],
  ];
  for (const [holder, re] of cases) {
    const prefix = await freshPrefix();
    await mkdir(join(prefix, 'var/db/pkg'), { recursive: true });
    await writeFile(join(prefix, 'var/db/pkg/.lock'), JSON.stringify(holder));
    const r = await runCli(args('alpha', prefix, ['--no-wait']));
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stderr, re);
    assert.equal(await owners(prefix), ['alpha']);
  }
});

test('a live holder is never taken over', async () => {
  const prefix = await freshPrefix();
  await mkdir(join(prefix, 'var/db/pkg'), { recursive: true });
  const me = { pid: process.pid, bootId: bootId(), startTime: processStartTime(process.pid), command: 'the test itself', since: '2026-01-01T00:00:00.000Z' };
  await writeFile(join(prefix, 'var/db/pkg/.lock'), JSON.stringify(me));
  const before = snapshot(prefix);
  const r = await runCli(args('alpha', prefix, ['--no-wait']));
  assert.is(r.code, 1);
  assert.match(r.stderr, new RegExp(`LOCKED\\]: .* locked by pid ${process.pid} \\(the test itself`));
  const u = await runCli(['uninstall', 'alpha', '--prefix', prefix, '--no-wait']);
  assert.is(u.code, 1);
  assert.match(u.stderr, /LOCKED/);
  assert.equal(snapshot(prefix), before);
});

test.run();
