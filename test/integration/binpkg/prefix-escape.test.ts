// Paths that leave the prefix through symlinks already in it, and attempts to
// move the package database. Each refusal is exact, nothing outside the
// prefix changes (the whole world is hashed before and after), and the
// database still lists what is really installed.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { installBinary, type InstallRequest } from '../../../pipeline/binpkg/installer.ts';
import { listInstalled } from '../../../pipeline/binpkg/vdb.ts';
import { packageBytes, rawTarGz, runCli, serveDir, snapshot, tempDir, writeMirror, type FixturePackage, refusal } from '../../fixtures/binpkg/helpers.ts';

const test = suite('binpkg/prefix-escape');
let root = '';
let server: Awaited<ReturnType<typeof serveDir>>;
let n = 0;

/** A fresh world: <w>/prefix (with etc/keep) and <w>/outside (with files the attacks aim at). */
async function world(): Promise<{ w: string; prefix: string; outside: string }> {
  const w = join(root, `w${n++}`);
  await mkdir(join(w, 'prefix/etc'), { recursive: true });
  await writeFile(join(w, 'prefix/etc/keep'), 'keep\n');
  await mkdir(join(w, 'outside'));
  await writeFile(join(w, 'outside/secret'), 'secret\n');
  return { w, prefix: join(w, 'prefix'), outside: join(w, 'outside') };
}

async function publish(pkgs: FixturePackage[]): Promise<string> {
  const label = `m${n++}`;
  await writeMirror(join(root, 'www', label), pkgs);
  return `${server.url}/${label}`;
}

const req = (mirrorUrl: string, prefix: string, over: Partial<InstallRequest> = {}): InstallRequest => ({
  name: 'app',
  arch: 'amd64',
  mirrorUrl,
  prefix,
  cacheDir: join(root, 'cache'),
  downloadOnly: false,
  log: () => {},
  ...over,
});

/** The database is consistent: every recorded obj/sym exists with the recorded content, no journal, lock or staging left. */
async function assertDbConsistent(prefix: string): Promise<void> {
  for (const pkg of await listInstalled(prefix)) {
    for (const l of pkg.contents) {
      if (l.kind === 'dir') continue;
      assert.ok(existsSync(join(prefix, l.path)) || l.kind === 'sym', `${pkg.record.name} records /${l.path}, which is missing`);
    }
  }
  const vdb = join(prefix, 'var/db/pkg');
  if (existsSync(vdb))
    assert.equal(
      readdirSync(vdb).filter((f) => f.startsWith('.')),
      [],
      'journal or lock left behind',
    );
  assert.equal(
    readdirSync(prefix).filter((f) => f.startsWith('.osforge-staging-')),
    [],
    'staging dir left behind',
  );
}

test.before(async () => {
  root = await tempDir('escape');
  server = await serveDir(join(root, 'www'));
});
test.after(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

test('uninstall refuses, removing nothing, when a package directory became a symlink leading outside', async () => {
  const { w, prefix, outside } = await world();
  const url = await publish([{ name: 'app', version: '1.0', data: await packageBytes({ 'lib/app/secret': 'secret\n', 'bin/app': 'app\n' }) }]);
  await installBinary(req(url, prefix));
  // lib/app is replaced by a link to a directory outside holding a file with the recorded content.
  await rm(join(prefix, 'lib/app'), { recursive: true });
  await symlink('../../outside', join(prefix, 'lib/app'));
  const before = snapshot(w);
  const r = await runCli(['uninstall', 'app', '--prefix', prefix]);
  assert.is(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /^error \[PREFIX_UNSAFE\]: refusing to uninstall app-1\.0: 1 recorded path\(s\) lead outside the prefix .* through a symlinked directory: \/lib\/app\/secret$/m,
  );
  assert.not.match(r.stderr, /\n\s+at /); // no stack trace
  assert.equal(snapshot(w), before, 'something changed');
  assert.is(readFileSync(join(outside, 'secret'), 'utf8'), 'secret\n');
  assert.equal(
    (await listInstalled(prefix)).map((i) => i.record.name),
    ['app'],
  );
  await assertDbConsistent(prefix);
});

test('uninstall refuses paths that now lead into the package database', async () => {
  const { w, prefix } = await world();
  const url = await publish([{ name: 'app', version: '1.0', data: await packageBytes({ 'lib/app/binpkg.json': 'x\n', 'bin/app': 'app\n' }) }]);
  await installBinary(req(url, prefix));
  await rm(join(prefix, 'lib/app'), { recursive: true });
  await symlink('../var/db/pkg/app-1.0', join(prefix, 'lib/app'));
  const before = snapshot(w);
  const r = await runCli(['uninstall', 'app', '--prefix', prefix]);
  assert.is(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /PREFIX_UNSAFE\]: refusing to uninstall app-1\.0: 1 recorded path\(s\) lead outside the prefix .*\(or into its database\).*: \/lib\/app\/binpkg\.json$/m,
  );
  assert.equal(snapshot(w), before);
});

test('an upgrade that would remove old files through an outside symlink is refused before anything moves', async () => {
  const { w, prefix } = await world();
  const url = await publish([
    { name: 'app', version: '1.0', data: await packageBytes({ 'bin/app': 'v1\n', 'lib/app/secret': 'secret\n' }) },
    { name: 'app', version: '2.0', data: await packageBytes({ 'bin/app': 'v2\n' }) },
  ]);
  await installBinary(req(url, prefix, { version: '1.0' }));
  await rm(join(prefix, 'lib/app'), { recursive: true });
  await symlink('../../outside', join(prefix, 'lib/app'));
  const before = snapshot(w);
  const e = await refusal(installBinary(req(url, prefix, { version: '2.0' })));
  assert.is(e.code, 'PREFIX_UNSAFE');
  assert.match(e.message, /^refusing to remove \(replacing app-1\.0\) \/lib\/app\/secret: a directory on its path is a symlink leading outside the prefix/);
  assert.equal(snapshot(w), before);
  assert.equal(
    (await listInstalled(prefix)).map((i) => i.record.version),
    ['1.0'],
  );
  await assertDbConsistent(prefix);
});

test('an install through a symlink in the prefix that leads outside is refused', async () => {
  const { w, prefix } = await world();
  await symlink('../outside', join(prefix, 'share'));
  const url = await publish([{ name: 'app', version: '1.0', data: await packageBytes({ 'share/app/evil': 'pwned\n' }) }]);
  const before = snapshot(w);
  const e = await refusal(installBinary(req(url, prefix)));
  assert.is(e.code, 'ARCHIVE_UNSAFE');
  assert.match(e.message, /refusing archive entry "share\/app".*leads outside the prefix through a symlink/);
  assert.equal(snapshot(w), before);
});

test('symlinks inside the prefix that stay inside are fine (lib/ssl/certs -> ../../etc/ssl/certs): install and uninstall', async () => {
  const { w, prefix, outside } = await world();
  await mkdir(join(prefix, 'etc/ssl/certs'), { recursive: true });
  await mkdir(join(prefix, 'lib/ssl'), { recursive: true });
  await symlink('../../etc/ssl/certs', join(prefix, 'lib/ssl/certs'));
  const url = await publish([{ name: 'app', version: '1.0', data: await packageBytes({ 'lib/ssl/certs/ca.pem': 'ca\n' }) }]);
  const outsideBefore = snapshot(outside);
  await installBinary(req(url, prefix));
  assert.is(readFileSync(join(prefix, 'etc/ssl/certs/ca.pem'), 'utf8'), 'ca\n');
  const r = await runCli(['uninstall', 'app', '--prefix', prefix]);
  assert.is(r.code, 0, r.stderr);
  assert.not.ok(existsSync(join(prefix, 'etc/ssl/certs/ca.pem')));
  assert.ok(existsSync(join(prefix, 'lib/ssl/certs'))); // the link itself is not the package's
  assert.equal(snapshot(outside), outsideBefore);
  assert.not.ok(existsSync(join(w, 'prefix/var')));
});

test('packages that would redirect the database are refused: var/db -> ../bin, var -> .., a file at var, entries in var/db/pkg', async () => {
  const cases: [string, Parameters<typeof rawTarGz>[0], RegExp][] = [
    [
      'var/db link',
      [
        { name: 'var', type: 'directory' },
        { name: 'var/db', type: 'symlink', linkname: '../bin' },
      ],
      /refusing archive entry "var\/db": var\/db\/pkg is the package database; var\/db must be a directory, not a symlink/,
    ],
    ['var link', [{ name: 'var', type: 'symlink', linkname: '..' }], /refusing archive entry "var": .*var must be a directory, not a symlink/],
    ['var file', [{ name: 'var', data: 'x' }], /var must be a directory, not a file/],
    [
      'forged record',
      [{ name: 'var/db/pkg/other-1.0/CONTENTS', data: 'obj /etc/keep\n' }],
      /"var\/db\/pkg\/other-1\.0\/CONTENTS": var\/db\/pkg is the package database/,
    ],
  ];
  for (const [label, entries, re] of cases) {
    const { w, prefix } = await world();
    const url = await publish([{ name: 'app', version: '1.0', data: await rawTarGz([{ name: 'bin/app', data: 'app\n' }, ...entries]) }]);
    const before = snapshot(w);
    const e = await refusal(installBinary(req(url, prefix)));
    assert.is(e.code, 'ARCHIVE_UNSAFE', label);
    assert.match(e.message, re, label);
    assert.equal(snapshot(w), before, label);
  }
});

test('a link left by one package cannot be used by the next to write into the database', async () => {
  const { w, prefix } = await world();
  const url = await publish([
    { name: 'app', version: '1.0', data: await rawTarGz([{ name: 'dbl', type: 'symlink', linkname: 'var/db/pkg' }]) },
    { name: 'evil', version: '1.0', data: await rawTarGz([{ name: 'dbl/forged-1.0/CONTENTS', data: 'obj /etc/keep\n' }]) },
  ]);
  await installBinary(req(url, prefix));
  const before = snapshot(w);
  const e = await refusal(installBinary(req(url, prefix, { name: 'evil' })));
  assert.is(e.code, 'ARCHIVE_UNSAFE');
  assert.match(
    e.message,
    /^refusing archive entry "dbl\/forged-1\.0\/CONTENTS": it lands on var\/db\/pkg\/forged-1\.0\/CONTENTS through a symlink; var\/db\/pkg is the package database$/,
    e.message,
  );
  assert.equal(snapshot(w), before);
  assert.equal(
    (await listInstalled(prefix)).map((i) => i.record.name),
    ['app'],
  );
});

test('a prefix whose var, var/db or var/db/pkg is already a symlink is refused by install and uninstall', async () => {
  for (const at of ['var', 'var/db', 'var/db/pkg']) {
    const { w, prefix, outside } = await world();
    await mkdir(join(outside, 'db'), { recursive: true });
    await mkdir(join(prefix, at, '..'), { recursive: true });
    await symlink(join(outside, 'db'), join(prefix, at));
    const url = await publish([{ name: 'app', version: '1.0', data: await packageBytes({ 'bin/app': 'app\n' }) }]);
    const before = snapshot(w);
    const e = await refusal(installBinary(req(url, prefix)));
    assert.is(e.code, 'PREFIX_UNSAFE', at);
    assert.match(e.message, new RegExp(`refusing to use the package database of .*: .*/prefix/${at.replaceAll('/', '\\/')} is a symlink`), at);
    const r = await runCli(['uninstall', 'app', '--prefix', prefix]);
    assert.is(r.code, 1);
    assert.match(r.stderr, /^error \[PREFIX_UNSAFE\]: refusing to use the package database/m);
    assert.equal(snapshot(w), before, at);
    assert.equal(readdirSync(join(outside, 'db')), [], `${at}: the database was written outside`);
  }
});

test('a path too long for the filesystem is a one-line ARCHIVE_UNSAFE error, the prefix untouched', async () => {
  const { w, prefix } = await world();
  const long = `share/${'x'.repeat(300)}/f`;
  const url = await publish([
    {
      name: 'app',
      version: '1.0',
      data: await rawTarGz([
        { name: 'bin/app', data: 'app\n' },
        { name: long, data: 'f\n' },
      ]),
    },
  ]);
  const before = snapshot(w);
  const r = await runCli(['install', 'app', '--mirror-url', url, '--prefix', prefix, '--arch', 'amd64', '--cache-dir', join(root, 'cache')]);
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stderr, /^error \[ARCHIVE_UNSAFE\]: .*ENAMETOOLONG/m);
  assert.not.match(r.stderr, /\n\s+at /);
  assert.equal(snapshot(w), before);
});

test('control: install, then the database moved away by hand and the file removed, then install again: consistent', async () => {
  // Control for assertDbConsistent: a clean install, uninstall, install cycle leaves a consistent database.
  const { prefix } = await world();
  const url = await publish([{ name: 'app', version: '1.0', data: await packageBytes({ 'bin/app': 'app\n' }) }]);
  await installBinary(req(url, prefix));
  await assertDbConsistent(prefix);
  await rename(join(prefix, 'var'), join(prefix, 'var.old'));
  await rm(join(prefix, 'bin/app'));
  await installBinary(req(url, prefix));
  await assertDbConsistent(prefix);
});

test.run();
