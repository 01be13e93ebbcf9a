import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { pinsFromDpkgStatus } from '../../../pipeline/steps/lock.ts';
import { includeFor, baseInputHash } from '../../../pipeline/steps/base.ts';
import type { BaseSpec } from '../../../pipeline/plan/types.ts';

test('pins list installed packages only, sorted bytewise', () => {
  const status = [
    'Package: zlib1g\nStatus: install ok installed\nVersion: 1:1.2.13.dfsg-1',
    'Package: apt\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.6.1',
    'Package: removed\nStatus: deinstall ok config-files\nVersion: 1',
    'Package: Zed\nStatus: install ok installed\nVersion: 3',
  ].join('\n\n');
  assert.equal(pinsFromDpkgStatus(status), ['Zed=3', 'apt=2.6.1', 'zlib1g=1:1.2.13.dfsg-1']);
});

test('a lock entry replaces the include list and changes the image input hash', () => {
  const spec: BaseSpec = { name: 'base', suite: 'bookworm', variant: 'minbase', include: ['ca-certificates'], pins: {}, sourceDateEpoch: 1, pull: {} };
  const locked = { ...spec, pins: { amd64: ['apt=2.6.1', 'ca-certificates=20230311+deb12u1'] } };
  assert.equal(includeFor(spec, 'amd64'), ['ca-certificates']);
  assert.equal(includeFor(locked, 'amd64'), ['apt=2.6.1', 'ca-certificates=20230311+deb12u1']);
  assert.equal(includeFor(locked, 'arm64'), ['ca-certificates']);
  assert.is.not(baseInputHash(spec, 'amd64'), baseInputHash(locked, 'amd64'));
  assert.is(baseInputHash(spec, 'arm64'), baseInputHash(locked, 'arm64'));
});

test.run();
