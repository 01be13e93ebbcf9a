import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { assertPackageId, binaryFilename, compareVersions, letterDir, mirrorPath } from '../../../pipeline/binpkg/naming.ts';

const test = suite('binpkg/naming');

test('file names follow <package>-<version>-<config_hash>-bin.tar.gz', () => {
  assert.is(binaryFilename('bash', '5.3', 'a1b2c3d4'), 'bash-5.3-a1b2c3d4-bin.tar.gz');
  assert.is(mirrorPath('bash', 'bash-5.3-a1b2c3d4-bin.tar.gz'), 'b/bash-5.3-a1b2c3d4-bin.tar.gz');
  assert.is(letterDir('Xorg-server'), 'x');
});

test('names, versions and hashes that could escape a directory are refused', () => {
  for (const bad of [
    { name: '../etc' },
    { name: 'a/b' },
    { name: '.hidden' },
    { version: '1.0/..' },
    { version: '' },
    { configHash: 'A1B2C3D4' },
    { configHash: 'a1b2c3' },
    { arch: 'amd64/../x' },
  ]) {
    assert.throws(() => assertPackageId(bad), /invalid/, JSON.stringify(bad));
  }
  assert.throws(() => binaryFilename('bash', '5.3', 'zzzzzzzz'));
});

test('versions compare numerically per component', () => {
  assert.ok(compareVersions('1.10', '1.9') > 0);
  assert.ok(compareVersions('5.3', '5.3.1') < 0);
  assert.ok(compareVersions('2.0', '10.0') < 0);
  assert.is(compareVersions('1.2.3', '1.2.3'), 0);
  assert.equal(['1.10', '1.2', '1.9', '0.9'].sort(compareVersions), ['0.9', '1.2', '1.9', '1.10']);
});

test.run();
