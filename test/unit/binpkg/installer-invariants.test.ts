// The pure parts of the installer invariants: install modes, reserved
// names, the CONFIG_PROTECT naming, the count caps' parsing, and that
// checkArchive's work stays linear (each directory resolved once).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { checkArchive, installMode, type DiskNode } from '../../../pipeline/binpkg/archive-policy.ts';
import { configProtectFrom, isProtected, nextPendingName, parsePending } from '../../../pipeline/binpkg/config-protect.ts';
import { DEFAULT_LIMITS, limitsFrom } from '../../../pipeline/binpkg/limits.ts';
import { OsforgeError } from '../../../pipeline/errors.ts';
import { comparePaths, type TarEntry } from '../../../pipeline/util/tar.ts';

const test = suite('binpkg/installer-invariants');
const file = (path: string): TarEntry => ({ path, type: 'file', mode: 0o644 });
const dir = (path: string): TarEntry => ({ path, type: 'directory', mode: 0o755 });

test('modes: o+w dropped unless a sticky directory; sticky kept on directories; setuid never', () => {
  assert.is(installMode('file', 0o777), 0o775);
  assert.is(installMode('file', 0o666), 0o664);
  assert.is(installMode('file', 0o4755), 0o755);
  assert.is(installMode('file', 0o1777), 0o775, 'a sticky file is meaningless: dropped with o+w');
  assert.is(installMode('directory', 0o777), 0o775);
  assert.is(installMode('directory', 0o1777), 0o1777);
  assert.is(installMode('directory', 0o1755), 0o1755);
  assert.is(installMode('directory', 0o2775), 0o775);
  assert.is(installMode('link', 0o666), 0o664);
});

test('reserved names in any component are refused, naming the entry', () => {
  const ctx = { prefix: '/p', disk: (): DiskNode => ({ kind: 'missing' }) };
  for (const p of ['.osforge-staging-x', '.osforge-staging-x/f', 'a/.osforge-foo', 'a/b/.osforge-old-1/c', 'etc/._cfg0000_passwd']) {
    assert.throws(
      () => checkArchive([file(p)], ctx),
      (e: Error) => e instanceof OsforgeError && e.message.startsWith(`refusing archive entry ${JSON.stringify(p)}:`) && /reserved name/.test(e.message),
    );
  }
  checkArchive([file('a/osforge-x'), file('a/.osforgex'), file('etc/._cfg_x'), file('etc/._cfg000_x')], ctx); // near misses are ordinary names
});

test('CONFIG_PROTECT: the protected set, pending names, next free number', () => {
  assert.equal(configProtectFrom({}), ['etc']);
  assert.equal(configProtectFrom({ OSFORGE_CONFIG_PROTECT: '/etc  /usr/share/config/ ' }), ['etc', 'usr/share/config']);
  assert.equal(configProtectFrom({ OSFORGE_CONFIG_PROTECT: '' }), []);
  assert.throws(() => configProtectFrom({ OSFORGE_CONFIG_PROTECT: '/etc ../x' }), /invalid directory "\.\.\/x" in \$OSFORGE_CONFIG_PROTECT/);
  assert.ok(isProtected('etc/foo', ['etc']));
  assert.ok(isProtected('etc/a/b', ['etc']));
  assert.not.ok(isProtected('etcetera/foo', ['etc']), 'a string prefix is not a directory prefix');
  assert.equal(parsePending('etc/conf.d/._cfg0012_app'), { target: 'etc/conf.d/app', n: 12 });
  assert.equal(parsePending('._cfg0000_top'), { target: 'top', n: 0 });
  assert.is(parsePending('etc/._cfg0000_'), null);
  assert.is(parsePending('etc/app'), null);
  const taken = new Set(['etc/._cfg0000_app', 'etc/._cfg0001_app']);
  assert.is(
    nextPendingName('etc/app', (r) => taken.has(r)),
    'etc/._cfg0002_app',
  );
  assert.is(
    nextPendingName('top', () => false),
    '._cfg0000_top',
  );
});

test('entry and depth caps: defaults, flag over environment, whole numbers only', () => {
  assert.is(DEFAULT_LIMITS.maxEntries, 200_000);
  assert.is(DEFAULT_LIMITS.maxPathDepth, 128);
  const l = limitsFrom({ 'max-entries': '5000' }, { OSFORGE_MAX_ENTRIES: '7', OSFORGE_MAX_PATH_DEPTH: '30' });
  assert.is(l.maxEntries, 5000);
  assert.is(l.maxPathDepth, 30);
  assert.throws(() => limitsFrom({ 'max-path-depth': '1.5' }), /invalid count for --max-path-depth: "1\.5"/);
  assert.throws(() => limitsFrom({}, { OSFORGE_MAX_ENTRIES: '0' }), /invalid count for \$OSFORGE_MAX_ENTRIES/);
  assert.throws(() => limitsFrom({ 'max-entries': '10K' }), /invalid count/);
});

test('checkArchive asks the disk about each directory once, however deep the archive', () => {
  const asked = new Map<string, number>();
  const ctx = {
    prefix: '/p',
    disk: (rel: string): DiskNode => {
      asked.set(rel, (asked.get(rel) ?? 0) + 1);
      return { kind: 'missing' };
    },
  };
  const depth = 120;
  const entries: TarEntry[] = [];
  for (let d = 1; d < depth; d++) entries.push(dir(Array.from({ length: d }, () => 'd').join('/')));
  const deepest = entries[entries.length - 1]!.path;
  for (let i = 0; i < 50; i++) entries.push(file(`${deepest}/f${i}`));
  checkArchive(entries, ctx);
  assert.ok(asked.size <= depth, `${asked.size} distinct paths asked`);
  assert.ok(
    [...asked.values()].every((n) => n === 1),
    'a path was asked more than once',
  );
});

test('comparePaths is UTF-8 byte order without encoding each pair (surrogates and U+E000.. included)', () => {
  const alphabet = ['a', 'b', '/', '.', '\u00e9', '\ud7ff', '\ue000', '\uffff', '\u{1F600}', '\u{10FFFF}'];
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const word = () => Array.from({ length: Math.floor(rnd() * 5) }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join('');
  for (let i = 0; i < 5000; i++) {
    const a = word();
    const b = rnd() < 0.3 ? a + word() : word();
    assert.is(Math.sign(comparePaths(a, b)), Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
  }
});

test.run();
