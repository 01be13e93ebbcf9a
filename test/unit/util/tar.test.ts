import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gzip, gunzip, packEntries, readEntries, normalizeEntryPath, type TarEntry } from '../../../pipeline/util/tar.ts';

const entries: TarEntry[] = [
  { path: 'usr/bin/tool', type: 'file', mode: 0o700, data: Buffer.from('#!/bin/sh\n') },
  { path: 'etc/passwd', type: 'file', mode: 0o600, data: Buffer.from('root:x:0:0::/root:/bin/sh\n') },
  { path: 'bin/sh', type: 'symlink', mode: 0o777, linkname: 'busybox' },
];

test('packEntries is independent of input order and normalises headers', async () => {
  const a = await packEntries(entries, 1700000000);
  const b = await packEntries([...entries].reverse(), 1700000000);
  assert.ok(a.equals(b));
  const back = await readEntries(a);
  assert.equal(
    back.map((e) => e.path),
    ['bin', 'bin/sh', 'etc', 'etc/passwd', 'usr', 'usr/bin', 'usr/bin/tool'],
  );
  assert.is(back.find((e) => e.path === 'usr/bin/tool')!.mode, 0o755);
  assert.is(back.find((e) => e.path === 'etc/passwd')!.mode, 0o644);
  assert.is(back.find((e) => e.path === 'bin/sh')!.linkname, 'busybox');
});

test('packEntries writes the given mtime and root ownership', async () => {
  const tar = await packEntries(entries, 1234567890);
  // ustar header of the first entry: uid at 108, gid at 116, mtime at 136 (octal).
  assert.is(parseInt(tar.subarray(108, 115).toString(), 8), 0);
  assert.is(parseInt(tar.subarray(116, 123).toString(), 8), 0);
  assert.is(parseInt(tar.subarray(136, 147).toString(), 8), 1234567890);
  assert.is(tar.subarray(265, 270).toString().replace(/\0/g, ''), '');
});

test('gzip output has a fixed header (no mtime, no name)', () => {
  const z = gzip(Buffer.from('hello'));
  assert.is(z.readUInt32LE(4), 0);
  assert.is(z[3]! & 0x08, 0);
  assert.ok(gzip(Buffer.from('hello')).equals(z));
  assert.is(gunzip(z).toString(), 'hello');
});

test('normalizeEntryPath refuses absolute paths and ..', () => {
  assert.is(normalizeEntryPath('./a/./b/'), 'a/b');
  assert.throws(() => normalizeEntryPath('/etc/passwd'), /absolute path/);
  assert.throws(() => normalizeEntryPath('a/../../etc'), /"\.\." segment/);
});

test('readEntries strips the directory prefix Docker adds', async () => {
  const tar = await packEntries([{ path: 'out/bin/x', type: 'file', mode: 0o755, data: Buffer.from('x') }], 0);
  const got = await readEntries(tar, 'out');
  assert.equal(
    got.map((e) => e.path),
    ['bin', 'bin/x'],
  );
});

test.run();
