import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { IndexEntry } from '../../../pipeline/binpkg/mirror-index.ts';
import { refuseDowngrade, selectPackage } from '../../../pipeline/binpkg/select.ts';
import { OsforgeError } from '../../../pipeline/errors.ts';

const test = suite('binpkg/select');
const e = (name: string, version: string, cfg: string, arch = 'amd64', fh = 'aaaaaaaa'): IndexEntry => ({
  name,
  version,
  arch,
  config_hash: cfg,
  file_hash: fh,
  filename: `${name}-${version}-${cfg}-bin.tar.gz`,
  size: 1,
  sha256: fh + '0'.repeat(56),
});
const all = [
  e('bash', '5.2', '22222222'),
  e('bash', '5.3', 'a1b2c3d4', 'amd64', 'f1f1f1f1'),
  e('bash', '5.3', 'e5f6a7b8', 'amd64', 'f2f2f2f2'),
  e('bash', '5.3', '33333333', 'arm64'),
  e('busybox', '1.36.1', '44444444'),
  e('vim', '9.1.0', '55555555'),
];

function err(fn: () => unknown): OsforgeError {
  try {
    fn();
  } catch (x) {
    if (x instanceof OsforgeError) return x;
    throw x;
  }
  throw new Error('expected an error');
}

test('exact version + config hash selects one build', () => {
  const s = selectPackage(all, { name: 'bash', arch: 'amd64', version: '5.3', configHash: 'e5f6a7b8' }, 'm');
  assert.is(s.entry.config_hash, 'e5f6a7b8');
  assert.ok(s.explanation.some((x) => x.includes('5.3 as requested')));
});

test('without --version the newest is chosen and the choice is explained', () => {
  const s = selectPackage(all, { name: 'busybox', arch: 'amd64' }, 'm');
  assert.is(s.entry.version, '1.36.1');
  assert.match(s.explanation.join('\n'), /no --version given/);
  const withOld = selectPackage(
    [...all.filter((x) => x.name !== 'bash' || x.version === '5.2'), e('bash', '5.10', '66666666')],
    { name: 'bash', arch: 'amd64' },
    'm',
  );
  assert.is(withOld.entry.version, '5.10');
  assert.match(withOld.explanation[0]!, /newest of 5\.2, 5\.10, which is 5\.10/);
});

test('several configurations without --config-hash are refused, listing them', () => {
  const x = err(() => selectPackage(all, { name: 'bash', arch: 'amd64', version: '5.3' }, 'm'));
  assert.is(x.code, 'USAGE');
  assert.match(x.message, /a1b2c3d4/);
  assert.match(x.message, /e5f6a7b8/);
  assert.match(x.context.hint ?? '', /--config-hash/);
});

test('the file hash can disambiguate, and a wrong one is a mismatch naming both', () => {
  assert.is(selectPackage(all, { name: 'bash', arch: 'amd64', version: '5.3', fileHash: 'f2f2f2f2' }, 'm').entry.config_hash, 'e5f6a7b8');
  const x = err(() => selectPackage(all, { name: 'bash', arch: 'amd64', version: '5.3', configHash: 'a1b2c3d4', fileHash: '00000000' }, 'm'));
  assert.is(x.code, 'SHA256_MISMATCH');
  assert.match(x.message, /expected 00000000, mirror has f1f1f1f1/);
});

test('packages are per arch', () => {
  assert.is(selectPackage(all, { name: 'bash', arch: 'arm64' }, 'm').entry.config_hash, '33333333');
  const x = err(() => selectPackage(all, { name: 'vim', arch: 'arm64' }, 'm'));
  assert.match(x.message, /no arm64 build.*available: vim 9\.1\.0 \(amd64/);
});

test('not found lists what is available', () => {
  assert.match(err(() => selectPackage(all, { name: 'bsh', arch: 'amd64' }, 'm')).message, /available \(starting with "b"\): bash, busybox/);
  assert.match(err(() => selectPackage(all, { name: 'zsh', arch: 'amd64' }, 'm')).message, /available: bash, busybox, vim/);
  assert.match(err(() => selectPackage(all, { name: 'bash', arch: 'amd64', version: '4.0' }, 'm')).message, /available versions: 5\.2, 5\.3/);
  const cfg = err(() => selectPackage(all, { name: 'bash', arch: 'amd64', version: '5.3', configHash: 'deadbeef' }, 'm'));
  assert.match(cfg.message, /config hash mismatch.*expected config deadbeef; available: a1b2c3d4, e5f6a7b8/);
});

test('downgrades: refused without --version, allowed and flagged with it; upgrades and reinstalls pass', () => {
  const old = e('bash', '5.2', '22222222');
  const installed = { name: 'bash', version: '5.3' };
  const d = err(() => refuseDowngrade(installed, old, undefined, 'm'));
  assert.match(
    d.message,
    /^refusing to downgrade bash from 5\.3 \(installed\) to 5\.2, the newest amd64 build on m: an install without --version never downgrades$/,
  );
  assert.match(String(d.context.hint), /--version 5\.2/);
  assert.is(refuseDowngrade(installed, old, '5.2', 'm'), true);
  assert.is(refuseDowngrade({ name: 'bash', version: '5.2' }, e('bash', '5.3', 'a1b2c3d4'), undefined, 'm'), false);
  assert.is(refuseDowngrade({ name: 'bash', version: '5.3' }, e('bash', '5.3', 'a1b2c3d4'), undefined, 'm'), false);
  assert.is(refuseDowngrade(undefined, old, undefined, 'm'), false);
});

test.run();
