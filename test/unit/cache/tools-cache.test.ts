import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm, writeFile, unlink, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateToolsCache, writeToolsCache, toolchainDir } from '../../../pipeline/cache/tools-cache.ts';
import type { TarEntry } from '../../../pipeline/util/tar.ts';

const entries: TarEntry[] = [
  { path: 'opt/osforge/amd64/lib/libc.a', type: 'file', mode: 0o644, data: Buffer.from('archive') },
  { path: 'opt/osforge/amd64/bin/musl-gcc', type: 'file', mode: 0o755, data: Buffer.from('#!/bin/sh\n') },
  { path: 'opt/osforge/amd64/bin/x86_64-linux-musl-gcc', type: 'symlink', mode: 0o777, linkname: 'musl-gcc' },
];

async function fresh() {
  const root = await mkdtemp(join(tmpdir(), 'osforge-tc-'));
  await writeToolsCache(root, 'k1', entries);
  return root;
}

test('a written cache validates for its own key only', async () => {
  const root = await fresh();
  assert.ok(validateToolsCache(root, 'k1').ok);
  const other = validateToolsCache(root, 'k2');
  assert.not.ok(other.ok);
  assert.match((other as { reason: string }).reason, /tools inputs changed/);
  await rm(root, { recursive: true });
});

test('a missing file invalidates the cache and names the file', async () => {
  const root = await fresh();
  await unlink(join(toolchainDir(root), 'root/opt/osforge/amd64/lib/libc.a'));
  const v = validateToolsCache(root, 'k1');
  assert.not.ok(v.ok);
  assert.match((v as { reason: string }).reason, /missing file .*libc\.a/);
  await rm(root, { recursive: true });
});

test('a corrupted file invalidates the cache with expected vs actual', async () => {
  const root = await fresh();
  await writeFile(join(toolchainDir(root), 'root/opt/osforge/amd64/bin/musl-gcc'), 'tampered');
  const v = validateToolsCache(root, 'k1');
  assert.not.ok(v.ok);
  assert.match((v as { reason: string }).reason, /hash mismatch for .*musl-gcc: expected [0-9a-f]{64}, actual [0-9a-f]{64}/);
  await rm(root, { recursive: true });
});

test('an unreadable index and a missing cache are reported', async () => {
  const root = await fresh();
  await writeFile(join(toolchainDir(root), 'index.json'), '{not json');
  assert.match((validateToolsCache(root, 'k1') as { reason: string }).reason, /not valid JSON/);
  const empty = await mkdtemp(join(tmpdir(), 'osforge-tc-'));
  assert.match((validateToolsCache(empty, 'k1') as { reason: string }).reason, /does not exist/);
  await rm(root, { recursive: true });
  await rm(empty, { recursive: true });
});

test('rewriting replaces the old cache whole', async () => {
  const root = await fresh();
  await writeToolsCache(root, 'k2', entries.slice(0, 1));
  const index = JSON.parse(await readFile(join(toolchainDir(root), 'index.json'), 'utf8'));
  assert.is(index.key, 'k2');
  assert.ok(validateToolsCache(root, 'k2').ok);
  await rm(root, { recursive: true });
});

test.run();
