import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lookupSource, sourceCachePath, storeSource } from '../../../pipeline/cache/source-cache.ts';
import { sha256 } from '../../../pipeline/util/hash.ts';
import { debianExpectation } from '../../../pipeline/steps/fetch.ts';

test('sources are laid out by first letter and verified on lookup', async () => {
  const root = await mkdtemp(join(tmpdir(), 'osforge-src-'));
  const data = Buffer.from('musl source');
  const path = await storeSource(root, 'musl-1.2.3.tar.gz', data, sha256(data), 'test');
  assert.is(path, join(root, 'm', 'musl-1.2.3.tar.gz'));
  assert.is(await lookupSource(root, 'musl-1.2.3.tar.gz', sha256(data), () => undefined), path);
  await rm(root, { recursive: true });
});

test('a mismatching download is refused with expected, actual and file, and not stored', async () => {
  const root = await mkdtemp(join(tmpdir(), 'osforge-src-'));
  const expected = 'a'.repeat(64);
  await storeSource(root, 'zlib.tar.gz', Buffer.from('evil'), expected, 'https://example.invalid/zlib.tar.gz').then(
    () => assert.unreachable(),
    (err: Error) => assert.match(err.message, new RegExp(`expected: ${expected}\\n  actual:   ${sha256('evil')}\\n  file:     zlib.tar.gz`)),
  );
  assert.not.ok(existsSync(sourceCachePath(root, 'zlib.tar.gz')));
  await rm(root, { recursive: true });
});

test('a corrupt cache entry is evicted with a message', async () => {
  const root = await mkdtemp(join(tmpdir(), 'osforge-src-'));
  await mkdir(join(root, 'b'));
  await writeFile(join(root, 'b', 'busybox.tar.bz2'), 'truncated');
  const notes: string[] = [];
  assert.is(await lookupSource(root, 'busybox.tar.bz2', 'c'.repeat(64), (m) => notes.push(m)), null);
  assert.match(notes[0]!, /corrupt, evicting/);
  assert.not.ok(existsSync(join(root, 'b', 'busybox.tar.bz2')));
  await rm(root, { recursive: true });
});

test('a Debian repack is expected at its own pin; a byte-identical orig at the upstream pin', () => {
  const up = 'u'.repeat(64);
  assert.equal(
    debianExpectation({
      name: 'z',
      version: '1',
      file: 'z.tgz',
      sha256: up,
      urls: [],
      debian: { package: 'z', version: '1-1', file: 'z.dfsg.tar.bz2', sha256: 'd'.repeat(64) },
    }),
    { file: 'z.dfsg.tar.bz2', sha256: 'd'.repeat(64) },
  );
  assert.equal(
    debianExpectation({ name: 'm', version: '1', file: 'm.tgz', sha256: up, urls: [], debian: { package: 'm', version: '1-1', file: 'm_1.orig.tar.gz' } }),
    { file: 'm_1.orig.tar.gz', sha256: up },
  );
});

test.run();
