import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { checkArchive, type DiskNode } from '../../../pipeline/binpkg/archive-policy.ts';
import type { TarEntry } from '../../../pipeline/util/tar.ts';

const test = suite('binpkg/archive-policy');
const file = (path: string): TarEntry => ({ path, type: 'file', mode: 0o644, data: Buffer.from('x') });
const dir = (path: string): TarEntry => ({ path, type: 'directory', mode: 0o755 });
const sym = (path: string, linkname: string): TarEntry => ({ path, type: 'symlink', mode: 0o777, linkname });
const hard = (path: string, linkname: string): TarEntry => ({ path, type: 'link', mode: 0o644, linkname });
// The disk as the policy sees it: a plain table, the prefix being /opt/p.
const ctx = (disk: Record<string, DiskNode> = {}) => ({ prefix: '/opt/p', disk: (rel: string): DiskNode => disk[rel] ?? { kind: 'missing' } });

const ok = (entries: TarEntry[], disk?: Record<string, DiskNode>) => checkArchive(entries, ctx(disk));
const refused = (entries: TarEntry[], re: RegExp, disk?: Record<string, DiskNode>) => assert.throws(() => checkArchive(entries, ctx(disk)), re);

test('ordinary packages pass, including relative and in-prefix absolute symlinks', () => {
  ok([
    dir('bin'),
    file('bin/busybox'),
    sym('bin/sh', 'busybox'),
    dir('usr'),
    dir('usr/bin'),
    sym('usr/bin/env', '../../bin/busybox'),
    sym('bin/abs', '/opt/p/bin/busybox'),
    hard('bin/ash', 'bin/busybox'),
    sym('dangling', 'nowhere/yet'),
  ]);
});

test('symlinks leaving the prefix are refused', () => {
  refused([sym('x', '..')], /points outside the prefix/);
  refused([dir('a'), sym('a/x', '../../etc')], /points outside/);
  refused([sym('x', '/etc/passwd')], /points outside/);
  refused([sym('x', '/opt/pwned')], /points outside/); // shares a string prefix, not a path prefix
});

test('symlink chains are resolved, not just read lexically', () => {
  // "self" points at the prefix root, so "self/.." is its parent although it looks like ".".
  refused([sym('self', '.'), sym('up', 'self/..')], /points outside/);
  refused([sym('a', 'b'), sym('b', 'a')], /points outside/); // a loop never resolves
});

test('entries below a symlink of the archive are refused', () => {
  refused([sym('lib', 'usr/lib'), dir('usr'), dir('usr/lib'), file('lib/libc.so')], /below "lib", a symlink/);
  refused([sym('evil', '/tmp'), file('evil/x')], /symlink/);
});

test('entries through a prefix symlink are checked against the prefix', () => {
  ok([dir('lib'), file('lib/libc.so')], { lib: { kind: 'symlink', target: 'usr/lib' } });
  refused([file('lib/libc.so')], /leads outside the prefix/, { lib: { kind: 'symlink', target: '/elsewhere' } });
  refused([sym('x', 'lib/..'), file('y')], /points outside/, { lib: { kind: 'symlink', target: '.' } });
});

test('hardlinks only to regular files of the same archive', () => {
  refused([hard('x', 'etc/shadow')], /not a regular file of this archive/);
  refused([sym('s', 'f'), file('f'), hard('h', 's')], /not a regular file/);
});

test('special files, duplicates, odd names and the package database are refused', () => {
  refused([{ path: 'dev/null', type: 'character-device' as TarEntry['type'], mode: 0o666 }], /unsupported entry type/);
  refused([file('a'), file('a')], /duplicate/);
  refused([file('a\nb')], /control characters/);
  refused([file('a -> b')], /" -> "/);
  refused([file('var/db/pkg/bash-5.3/CONTENTS')], /package database/);
  refused([file('/etc/passwd')], /plain relative path/);
  refused([file('a/../../b')], /plain relative path/);
});

test('the package database cannot be moved or reached: var and var/db must be directories, nothing may land in var/db/pkg', () => {
  refused([dir('var'), sym('var/db', '../bin')], /"var\/db": var\/db\/pkg is the package database; var\/db must be a directory, not a symlink/);
  refused([sym('var', '..')], /"var": .*var must be a directory, not a symlink/);
  refused([sym('var', 'opt/var')], /var must be a directory, not a symlink/); // even a link that stays inside
  refused([file('var')], /var must be a directory, not a file/);
  refused([dir('var'), file('var/db')], /var\/db must be a directory, not a file/);
  refused([file('x'), hard('var', 'x')], /var must be a directory, not a link/);
  refused([file('var/db/pkg/other-1.0/CONTENTS')], /"var\/db\/pkg\/other-1\.0\/CONTENTS": var\/db\/pkg is the package database/);
  // Through a symlink another package left in the prefix:
  refused([file('dbl/evil-1.0/CONTENTS')], /lands on var\/db\/pkg\/evil-1\.0\/CONTENTS through a symlink/, { dbl: { kind: 'symlink', target: 'var/db/pkg' } });
  refused([file('v/pkg')], /lands on var\/db\/pkg through a symlink/, { v: { kind: 'symlink', target: 'var/db' } });
  ok([dir('var'), dir('var/db'), dir('var/lib'), file('var/lib/x')]);
});

test.run();
