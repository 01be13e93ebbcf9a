// kill -9 during install, upgrade and uninstall, for real: the command runs
// in a child process that SIGKILLs itself at a chosen point
// (OSFORGE_TEST_KILL_AT=<phase>:<n>, see pipeline/binpkg/test-hooks.ts).
// The next command (here an uninstall of a package that is not installed,
// which only recovers) must leave the prefix exactly as before or exactly
// as fully installed, never in between, with no staging dir, journal or
// lock left, a consistent database, and nothing outside the prefix touched.
import { existsSync, readdirSync } from 'node:fs';
import { cp, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { installBinary, type InstallRequest } from '../../../pipeline/binpkg/installer.ts';
import { listInstalled } from '../../../pipeline/binpkg/vdb.ts';
import { sha256 } from '../../../pipeline/util/hash.ts';
import { packageBytes, runCli, serveDir, snapshot, tempDir, writeMirror } from '../../fixtures/binpkg/helpers.ts';

const test = suite('binpkg/crash');
let root = '';
let url = '';
let server: Awaited<ReturnType<typeof serveDir>>;
let n = 0;

const v1Files: Record<string, string> = { 'bin/app': 'app 1\n', 'share/doc/app/old-only': 'old\n' };
const v2Files: Record<string, string> = { 'bin/app': 'app 2\n', 'share/doc/app/new-only': 'new\n', 'share/app/data/x': 'x\n' };
for (const c of 'abcdef') {
  v1Files[`lib/app/${c}.so`] = `${c} 1\n`;
  v2Files[`lib/app/${c}.so`] = `${c} 2\n`;
}

const req = (prefix: string, version: string): InstallRequest => ({
  name: 'app',
  version,
  arch: 'amd64',
  mirrorUrl: url,
  prefix,
  cacheDir: join(root, 'cache'),
  downloadOnly: false,
  log: () => {},
});
const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { env: { OSFORGE_TEST_KILL_AT: '', ...env } });
const installArgs = (prefix: string, version: string) => [
  'install',
  'app',
  '--version',
  version,
  '--mirror-url',
  url,
  '--prefix',
  prefix,
  '--arch',
  'amd64',
  '--cache-dir',
  join(root, 'cache'),
];

/** A world with a prefix (etc/keep, optionally app 1.0 installed) and an outside dir. */
async function world(withV1: boolean): Promise<{ w: string; prefix: string; outside: string }> {
  const w = join(root, `w${n++}`);
  await mkdir(join(w, 'prefix/etc'), { recursive: true });
  await writeFile(join(w, 'prefix/etc/keep'), 'keep\n');
  await mkdir(join(w, 'outside'));
  await writeFile(join(w, 'outside/secret'), 'secret\n');
  if (withV1) await installBinary(req(join(w, 'prefix'), '1.0'));
  return { w, prefix: join(w, 'prefix'), outside: join(w, 'outside') };
}

async function assertClean(prefix: string): Promise<void> {
  assert.equal(
    readdirSync(prefix).filter((f) => f.startsWith('.')),
    [],
    'staging dir left in the prefix',
  );
  const vdb = join(prefix, 'var/db/pkg');
  if (existsSync(vdb))
    assert.equal(
      readdirSync(vdb).filter((f) => f.startsWith('.')),
      [],
      'journal, lock or replaced record left in the database',
    );
  // Every file the database records is there with the recorded sha256; no file is recorded twice.
  const seen = new Map<string, string>();
  for (const pkg of await listInstalled(prefix)) {
    for (const l of pkg.contents) {
      if (l.kind !== 'obj') continue;
      assert.not.ok(seen.has(l.path), `/${l.path} owned by two packages`);
      seen.set(l.path, pkg.record.name);
      assert.is(sha256((await import('node:fs')).readFileSync(join(prefix, l.path))), l.sha256, `/${l.path} differs from its record`);
    }
  }
}

let fullV2: Record<string, string> = {};
let fullV1: Record<string, string> = {};
let fresh: Record<string, string> = {};
let uninstalled: Record<string, string> = {};

test.before(async () => {
  root = await tempDir('crash');
  await writeMirror(join(root, 'www/m'), [
    { name: 'app', version: '1.0', data: await packageBytes(v1Files) },
    { name: 'app', version: '2.0', data: await packageBytes(v2Files) },
  ]);
  server = await serveDir(join(root, 'www'));
  url = `${server.url}/m`;
  // Reference states, reached without interruption.
  const a = await world(true);
  fullV1 = snapshot(a.prefix);
  await installBinary(req(a.prefix, '2.0'));
  fullV2 = snapshot(a.prefix);
  const b = await world(false);
  fresh = snapshot(b.prefix);
  const c = await world(true);
  const r = await cli(['uninstall', 'app', '--prefix', c.prefix]);
  assert.is(r.code, 0, r.stderr);
  uninstalled = snapshot(c.prefix);
  assert.equal(uninstalled, fresh);
});
test.after(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

/** Kills an upgrade 1.0 → 2.0 at `at`, runs the next command, and checks the result. */
async function killUpgrade(at: string, expect: 'before' | 'after', journalLeft: boolean): Promise<void> {
  const { w, prefix, outside } = await world(true);
  assert.equal(snapshot(prefix), fullV1);
  const outsideBefore = snapshot(outside);
  const killed = await cli(installArgs(prefix, '2.0'), { OSFORGE_TEST_KILL_AT: at });
  assert.is.not(killed.code, 0, `${at}: the install was not killed: ${killed.stdout}${killed.stderr}`);
  assert.not.match(killed.stdout, /upgraded/, at);
  assert.ok(existsSync(join(prefix, 'var/db/pkg/.lock')), `${at}: the killed process left no lock (it was not holding one)`);
  assert.is(existsSync(join(prefix, 'var/db/pkg/.journal')), journalLeft, `${at}: journal presence`);
  if (at.startsWith('move')) {
    // Really killed in between: the visible tree (no staging, backups or journal) is neither state.
    const visible = Object.fromEntries(Object.entries(snapshot(prefix)).filter(([p]) => !p.split('/').some((c) => c.startsWith('.'))));
    assert.not.equal(visible, fullV1, `${at}: nothing had moved yet`);
    assert.not.equal(visible, fullV2, `${at}: everything had moved already`);
  }

  const next = await cli(['uninstall', 'not-installed', '--prefix', prefix]);
  assert.is(next.code, 2, next.stderr);
  assert.match(next.stderr, /taking over the stale lock .*\.lock of pid \d+ \(osforge install app 2\.0, since .*\): process \d+ is gone/, at);
  if (journalLeft)
    assert.match(
      next.stderr,
      expect === 'before' ? /rolling back the interrupted install of app-2\.0/ : /completing the interrupted install of app-2\.0 .*\(it had been committed\)/,
      at,
    );
  assert.equal(snapshot(prefix), expect === 'before' ? fullV1 : fullV2, `${at}: the prefix is neither as before nor fully upgraded`);
  await assertClean(prefix);
  assert.equal(snapshot(outside), outsideBefore);
  assert.ok(existsSync(w));
}

test('killed while unpacking into the staging dir: staging removed, prefix as before', async () => {
  await killUpgrade('stage:3', 'before', false);
});

test('killed right after the journal is written, before any move: rolled back', async () => {
  await killUpgrade('journal:1', 'before', true);
});

test('killed after 1, 5 and every file move: rolled back to 1.0 exactly', async () => {
  for (const at of ['move:1', 'move:5', 'move:9']) await killUpgrade(at, 'before', true);
});

test('killed after the old record is moved aside, before the commit: rolled back', async () => {
  await killUpgrade('vdb:1', 'before', true);
});

test('killed right after the commit, and during cleanup: completed to 2.0 exactly', async () => {
  await killUpgrade('commit:1', 'after', true);
  await killUpgrade('cleanup:2', 'after', true);
});

test('after a rollback the same install succeeds; a fresh install killed mid-move leaves the prefix as it was', async () => {
  const { prefix } = await world(true);
  const killed = await cli(installArgs(prefix, '2.0'), { OSFORGE_TEST_KILL_AT: 'move:3' });
  assert.is.not(killed.code, 0);
  const retry = await cli(installArgs(prefix, '2.0'));
  assert.is(retry.code, 0, retry.stderr);
  assert.match(retry.stderr, /rolling back the interrupted install of app-2\.0/);
  assert.match(retry.stdout, /upgraded app 2\.0/);
  assert.equal(snapshot(prefix), fullV2);
  await assertClean(prefix);

  const f = await world(false);
  const k2 = await cli(installArgs(f.prefix, '2.0'), { OSFORGE_TEST_KILL_AT: 'move:2' });
  assert.is.not(k2.code, 0);
  const next = await cli(['uninstall', 'not-installed', '--prefix', f.prefix]);
  assert.is(next.code, 2);
  assert.equal(snapshot(f.prefix), fresh);
});

test('an uninstall killed half-way is completed by the next command', async () => {
  const { prefix, outside } = await world(true);
  const outsideBefore = snapshot(outside);
  const killed = await cli(['uninstall', 'app', '--prefix', prefix], { OSFORGE_TEST_KILL_AT: 'uninstall:3' });
  assert.is.not(killed.code, 0);
  assert.ok(existsSync(join(prefix, 'var/db/pkg/.journal')));
  const next = await cli(['uninstall', 'not-installed', '--prefix', prefix]);
  assert.match(next.stderr, /completing the interrupted uninstall of app-1\.0/);
  assert.equal(snapshot(prefix), uninstalled);
  assert.equal(snapshot(outside), outsideBefore);
});

test('a copy of a killed prefix recovers the same way (recovery depends only on what is on disk)', async () => {
  const { w, prefix } = await world(true);
  await cli(installArgs(prefix, '2.0'), { OSFORGE_TEST_KILL_AT: 'move:4' });
  const copy = join(w, 'copy');
  await cp(prefix, copy, { recursive: true, verbatimSymlinks: true });
  const r = await cli(['uninstall', 'not-installed', '--prefix', copy]);
  assert.match(r.stderr, /rolling back/);
  assert.equal(snapshot(copy), fullV1);
});

test('a forged journal naming paths outside the prefix is refused, not obeyed', async () => {
  const { prefix, outside } = await world(true);
  const outsideBefore = snapshot(outside);
  const before = snapshot(prefix);
  const forged = { v: 1, kind: 'install', pkg: 'x-1', sha256: '0'.repeat(64), stage: '../outside', steps: [], vdbFinal: 'var/db/pkg/x-1', removeAfter: [] };
  await writeFile(join(prefix, 'var/db/pkg/.journal'), JSON.stringify(forged));
  const r = await cli(['uninstall', 'app', '--prefix', prefix]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /^error \[PREFIX_UNSAFE\]: the install journal .*\.journal is corrupt \(it names paths outside the prefix or the database\)$/m);
  assert.equal(snapshot(outside), outsideBefore);
  assert.equal(
    Object.keys(snapshot(prefix)).filter((k) => k !== 'var/db/pkg/.journal'),
    Object.keys(before),
  );
});

test.run();
