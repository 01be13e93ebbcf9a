// Hostile archives with valid checksums, served over HTTP: every one is
// refused, nothing is written outside the prefix, and the prefix is untouched
// (each archive starts with a harmless file, so a streaming extractor would
// already have written something).
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { installBinary } from '../../../pipeline/binpkg/installer.ts';
import { OsforgeError } from '../../../pipeline/errors.ts';
import { rawTarGz, runCli, serveDir, snapshot, tempDir, writeMirror, type RawEntry } from '../../fixtures/binpkg/helpers.ts';

const test = suite('binpkg/hostile');
let root = '';
let world = '';
let server: Awaited<ReturnType<typeof serveDir>>;
let n = 0;

async function attempt(entries: RawEntry[], prefix = join(world, 'prefix')): Promise<OsforgeError> {
  const label = `h${n++}`;
  const data = await rawTarGz([{ name: 'bin/innocent', data: 'harmless\n' }, ...entries]);
  await writeMirror(join(root, 'www', label), [{ name: 'evil', version: '1.0', data }]);
  const before = snapshot(world);
  let err: unknown;
  try {
    await installBinary({
      name: 'evil',
      version: '1.0',
      arch: 'amd64',
      mirrorUrl: `${server.url}/${label}`,
      prefix,
      cacheDir: join(root, 'cache'),
      downloadOnly: false,
      log: () => {},
    });
  } catch (e) {
    err = e;
  }
  assert.instance(err, OsforgeError, `${JSON.stringify(entries)} was not refused`);
  assert.equal(snapshot(world), before, 'something changed in or around the prefix');
  assert.not.ok(existsSync(join(prefix, 'bin/innocent')));
  assert.is(readFileSync(join(world, 'outside/secret'), 'utf8'), 'secret\n');
  return err as OsforgeError;
}

test.before(async () => {
  root = await tempDir('hostile');
  world = join(root, 'world');
  await mkdir(join(world, 'prefix/etc'), { recursive: true });
  await writeFile(join(world, 'prefix/etc/keep'), 'keep\n');
  await mkdir(join(world, 'outside'));
  await writeFile(join(world, 'outside/secret'), 'secret\n');
  server = await serveDir(join(root, 'www'));
});
test.after(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

test('control: the harmless part alone installs', async () => {
  const data = await rawTarGz([{ name: 'bin/innocent', data: 'harmless\n' }]);
  await writeMirror(join(root, 'www', 'control'), [{ name: 'evil', version: '1.0', data }]);
  const prefix = join(root, 'control-prefix');
  await installBinary({
    name: 'evil',
    version: '1.0',
    arch: 'amd64',
    mirrorUrl: `${server.url}/control`,
    prefix,
    cacheDir: join(root, 'cache'),
    downloadOnly: false,
    log: () => {},
  });
  assert.is(readFileSync(join(prefix, 'bin/innocent'), 'utf8'), 'harmless\n');
});

test('absolute path', async () => {
  const e = await attempt([{ name: join(world, 'outside/evil'), data: 'pwned\n' }]);
  assert.is(e.code, 'ARCHIVE_UNSAFE');
  assert.match(e.message, /absolute path/);
});

test('"../" path', async () => {
  const e = await attempt([{ name: '../outside/evil', data: 'pwned\n' }]);
  assert.is(e.code, 'ARCHIVE_UNSAFE');
  assert.match(e.message, /"\.\." segment/);
});

test('symlink escaping, then a file through it', async () => {
  for (const linkname of ['../outside', join(world, 'outside')]) {
    const e = await attempt([
      { name: 'escape', type: 'symlink', linkname },
      { name: 'escape/evil', data: 'pwned\n' },
    ]);
    assert.is(e.code, 'ARCHIVE_UNSAFE');
    assert.match(e.message, /"escape".*(points outside the prefix|symlink)/);
  }
});

test('symlink escaping on its own', async () => {
  const e = await attempt([{ name: 'bin/passwd', type: 'symlink', linkname: '../../outside/secret' }]);
  assert.match(e.message, /symlink to "\.\.\/\.\.\/outside\/secret" points outside the prefix/);
});

test('symlink escaping through a chain that looks harmless', async () => {
  const e = await attempt([
    { name: 'here', type: 'symlink', linkname: '.' },
    { name: 'up', type: 'symlink', linkname: 'here/..' },
  ]);
  assert.match(e.message, /"up".*points outside/);
});

test('hardlink escaping', async () => {
  const rel = await attempt([{ name: 'bin/hl', type: 'link', linkname: '../outside/secret' }]);
  assert.is(rel.code, 'ARCHIVE_UNSAFE');
  const abs = await attempt([{ name: 'bin/hl', type: 'link', linkname: join(world, 'outside/secret') }]);
  assert.is(abs.code, 'ARCHIVE_UNSAFE');
  const viaPrefix = await attempt([{ name: 'bin/hl', type: 'link', linkname: 'etc/keep' }]);
  assert.match(viaPrefix.message, /hardlink to "etc\/keep", which is not a regular file of this archive/);
});

test('device nodes and fifos', async () => {
  for (const type of ['character-device', 'block-device', 'fifo'] as const) {
    const e = await attempt([{ name: 'dev/thing', type }]);
    assert.is(e.code, 'ARCHIVE_UNSAFE');
    assert.match(e.message, /unsupported entry type/);
  }
});

test('a symlink already in the prefix that leads outside is not followed', async () => {
  const prefix = join(world, 'prefix2');
  await mkdir(prefix);
  await symlink('../outside', join(prefix, 'share'));
  const e = await attempt([{ name: 'share/evil', data: 'pwned\n' }], prefix);
  assert.match(e.message, /leads outside the prefix through a symlink/);
  assert.not.ok(existsSync(join(world, 'outside/evil')));
});

test('the package database cannot be written by a package', async () => {
  const e = await attempt([{ name: 'var/db/pkg/other-1.0/CONTENTS', data: 'obj /etc/keep\n' }]);
  assert.match(e.message, /package database/);
});

test('through the CLI: exit 1, the reason, and the prefix untouched', async () => {
  const data = await rawTarGz([
    { name: 'bin/innocent', data: 'harmless\n' },
    { name: '../outside/evil', data: 'pwned\n' },
  ]);
  await writeMirror(join(root, 'www', 'cli'), [{ name: 'evil', version: '1.0', data }]);
  const before = snapshot(world);
  const r = await runCli([
    'install',
    'evil',
    '--version',
    '1.0',
    '--mirror-url',
    `${server.url}/cli`,
    '--prefix',
    join(world, 'prefix'),
    '--arch',
    'amd64',
    '--cache-dir',
    join(root, 'cache'),
  ]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /error \[ARCHIVE_UNSAFE\]: .*refusing archive entry "\.\.\/outside\/evil"/);
  assert.equal(snapshot(world), before);
});

test.run();
