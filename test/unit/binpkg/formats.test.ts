import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { binaryMirrorFromIni } from '../../../pipeline/binpkg/buckconfig.ts';
import { parseIni } from '../../../pipeline/util/ini.ts';
import { formatContents, parseContents, type ContentsLine } from '../../../pipeline/binpkg/vdb-format.ts';
import { parseDestination, planUpload, transferCommands, type ScannedPackage } from '../../../pipeline/binpkg/publish.ts';
import type { IndexEntry } from '../../../pipeline/binpkg/mirror-index.ts';

const test = suite('binpkg/formats');

test('.buckconfig [buckos] settings', () => {
  const text = '[cells]\nroot = .\n\n[buckos]\n# Mirror URL\nbinary_mirror = https://mirror.example.org/binaries  ; trailing comment\nprefer_binaries = true\n';
  assert.equal(binaryMirrorFromIni(text), { binaryMirror: 'https://mirror.example.org/binaries', preferBinaries: true });
  assert.equal(binaryMirrorFromIni('[buckos]\nbinary_mirror = /srv/m\n'), { binaryMirror: '/srv/m', preferBinaries: false });
  assert.equal(binaryMirrorFromIni('[other]\nbinary_mirror = x\n'), { binaryMirror: null, preferBinaries: false });
  assert.is(parseIni('[a]\nk=1\nk=2\n').get('a')!.get('k'), '2');
});

test('CONTENTS round-trips, paths with spaces included, and rejects garbage', () => {
  const lines: ContentsLine[] = [
    { kind: 'dir', path: 'usr/share/my dir' },
    { kind: 'obj', path: 'usr/share/my dir/a file', sha256: 'a'.repeat(64), size: 12 },
    { kind: 'sym', path: 'bin/sh', target: 'busybox' },
  ];
  assert.equal(parseContents(formatContents(lines), 'x'), lines);
  assert.throws(() => parseContents('obj /x nothash 1\n', 'x'), /corrupt/);
  assert.throws(() => parseContents('dir /../etc\n', 'x'), /bad path/);
});

test('upload destinations: local paths, file://, user@host:/path; HTTP and shell metacharacters refused', () => {
  assert.equal(parseDestination('/srv/mirror'), { kind: 'local', path: '/srv/mirror' });
  assert.equal(parseDestination('file:///srv/mirror'), { kind: 'local', path: '/srv/mirror' });
  assert.equal(parseDestination('user@host:/var/www/binaries/'), { kind: 'remote', host: 'user@host', path: '/var/www/binaries' });
  assert.equal(parseDestination('host:binaries'), { kind: 'remote', host: 'host', path: 'binaries' });
  assert.is(parseDestination('./a:b').kind, 'local');
  assert.throws(() => parseDestination('https://mirror.example.org'), /read-only/);
  assert.throws(() => parseDestination('user@host:/srv/$(reboot)'), /may contain only/);
  assert.throws(() => parseDestination('user@host:/srv/../etc'), /may contain only/);
});

test('transfer commands put index.json last and replace it atomically', () => {
  const scp = transferCommands({ kind: 'remote', host: 'user@host', path: '/srv/m' }, '/tmp/st', ['b', 'v'], false);
  assert.equal(scp, [
    ['ssh', '--', 'user@host', 'mkdir -p /srv/m /srv/m/b /srv/m/v'],
    ['scp', '-p', '-r', '/tmp/st/b', 'user@host:/srv/m/'],
    ['scp', '-p', '-r', '/tmp/st/v', 'user@host:/srv/m/'],
    ['scp', '-p', '/tmp/st/index.json', 'user@host:/srv/m/index.json.osforge-tmp'],
    ['ssh', '--', 'user@host', 'mv -f /srv/m/index.json.osforge-tmp /srv/m/index.json'],
  ]);
  const rsync = transferCommands({ kind: 'remote', host: 'user@host', path: '/srv/m' }, '/tmp/st', ['b'], true);
  assert.equal(rsync.slice(1), [
    ['rsync', '-rt', '--checksum', '--exclude=/index.json', '--exclude=/index.json.sig', '/tmp/st/', 'user@host:/srv/m/'],
    ['rsync', '-t', '--checksum', '/tmp/st/index.json', 'user@host:/srv/m/index.json'],
  ]);
  // A signed index: its signature goes up just before the index, each replaced atomically.
  const signed = transferCommands({ kind: 'remote', host: 'user@host', path: '/srv/m' }, '/tmp/st', ['b'], false, true);
  assert.equal(signed.slice(-4), [
    ['scp', '-p', '/tmp/st/index.json.sig', 'user@host:/srv/m/index.json.sig.osforge-tmp'],
    ['ssh', '--', 'user@host', 'mv -f /srv/m/index.json.sig.osforge-tmp /srv/m/index.json.sig'],
    ['scp', '-p', '/tmp/st/index.json', 'user@host:/srv/m/index.json.osforge-tmp'],
    ['ssh', '--', 'user@host', 'mv -f /srv/m/index.json.osforge-tmp /srv/m/index.json'],
  ]);
});

test('TUF metadata goes up after index.json, in the order given (timestamp.json last), each replaced atomically', () => {
  const tuf = ['2.targets.json', '2.snapshot.json', 'timestamp.json'];
  const scp = transferCommands({ kind: 'remote', host: 'user@host', path: '/srv/m' }, '/tmp/st', ['b'], false, true, tuf);
  assert.equal(scp.slice(-6), [
    ['scp', '-p', '/tmp/st/2.targets.json', 'user@host:/srv/m/2.targets.json.osforge-tmp'],
    ['ssh', '--', 'user@host', 'mv -f /srv/m/2.targets.json.osforge-tmp /srv/m/2.targets.json'],
    ['scp', '-p', '/tmp/st/2.snapshot.json', 'user@host:/srv/m/2.snapshot.json.osforge-tmp'],
    ['ssh', '--', 'user@host', 'mv -f /srv/m/2.snapshot.json.osforge-tmp /srv/m/2.snapshot.json'],
    ['scp', '-p', '/tmp/st/timestamp.json', 'user@host:/srv/m/timestamp.json.osforge-tmp'],
    ['ssh', '--', 'user@host', 'mv -f /srv/m/timestamp.json.osforge-tmp /srv/m/timestamp.json'],
  ]);
  const rsync = transferCommands({ kind: 'remote', host: 'user@host', path: '/srv/m' }, '/tmp/st', ['b'], true, true, tuf);
  assert.equal(rsync.slice(1), [
    [
      'rsync',
      '-rt',
      '--checksum',
      '--exclude=/index.json',
      '--exclude=/index.json.sig',
      '--exclude=/2.targets.json',
      '--exclude=/2.snapshot.json',
      '--exclude=/timestamp.json',
      '/tmp/st/',
      'user@host:/srv/m/',
    ],
    ['rsync', '-t', '--checksum', '/tmp/st/index.json.sig', 'user@host:/srv/m/index.json.sig'],
    ['rsync', '-t', '--checksum', '/tmp/st/index.json', 'user@host:/srv/m/index.json'],
    ['rsync', '-t', '--checksum', '/tmp/st/2.targets.json', 'user@host:/srv/m/2.targets.json'],
    ['rsync', '-t', '--checksum', '/tmp/st/2.snapshot.json', 'user@host:/srv/m/2.snapshot.json'],
    ['rsync', '-t', '--checksum', '/tmp/st/timestamp.json', 'user@host:/srv/m/timestamp.json'],
  ]);
});

test('re-uploading identical files is a no-op; a different file under a published name is refused', () => {
  const entry = (sha: string): IndexEntry => ({
    name: 'bash',
    version: '5.3',
    arch: 'amd64',
    config_hash: 'a1b2c3d4',
    file_hash: sha.slice(0, 8),
    filename: 'bash-5.3-a1b2c3d4-bin.tar.gz',
    size: 1,
    sha256: sha,
  });
  const scanned = (sha: string): ScannedPackage => ({ entry: entry(sha), path: '/x', hasSig: false });
  const same = planUpload([entry('a'.repeat(64))], [scanned('a'.repeat(64))]);
  assert.is(same.added.length, 0);
  assert.is(same.unchanged.length, 1);
  assert.is(same.index.total, 1);
  assert.throws(
    () => planUpload([entry('a'.repeat(64))], [scanned('b'.repeat(64))]),
    /already has bash-5\.3-a1b2c3d4-bin\.tar\.gz with different contents: mirror sha256 a+, new b+/,
  );
});

test.run();
