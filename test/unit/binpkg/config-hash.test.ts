import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { configHash, contentHash } from '../../../pipeline/binpkg/config-hash.ts';
import { keyOf, sha256 } from '../../../pipeline/util/hash.ts';

const test = suite('binpkg/config-hash');
const base = { arch: 'amd64', compiler: 'gcc 12.2.0 / musl 1.2.3', useFlags: [] as string[], depGraphHash: 'f'.repeat(64) };

test('is 8 hex digits of sha256 over NUL-separated labelled inputs', () => {
  const h = configHash(base);
  assert.match(h, /^[0-9a-f]{8}$/);
  assert.is(h, keyOf(['buckos-binpkg-config/1', 'platform=amd64', 'compiler=gcc 12.2.0 / musl 1.2.3', 'use=', `deps=${'f'.repeat(64)}`]).slice(0, 8));
  // Pinned: changing the recipe silently would orphan every published package.
  assert.is(h, 'b036968e');
});

test('every input changes it', () => {
  const h = configHash(base);
  assert.is.not(configHash({ ...base, arch: 'arm64' }), h);
  assert.is.not(configHash({ ...base, compiler: 'gcc 13.1.0 / musl 1.2.3' }), h);
  assert.is.not(configHash({ ...base, useFlags: ['ssl'] }), h);
  assert.is.not(configHash({ ...base, depGraphHash: 'e'.repeat(64) }), h);
});

test('USE flag order and duplicates do not matter', () => {
  assert.is(configHash({ ...base, useFlags: ['ssl', 'ipv6'] }), configHash({ ...base, useFlags: ['ipv6', 'ssl', 'ssl'] }));
});

test('malformed inputs are refused', () => {
  assert.throws(() => configHash({ ...base, useFlags: ['a b'] }), /USE flag/);
  assert.throws(() => configHash({ ...base, compiler: '' }), /needs/);
});

test('content hash is the start of the file sha256', () => {
  const data = Buffer.from('hello');
  assert.is(contentHash(data), sha256(data).slice(0, 8));
});

test.run();
