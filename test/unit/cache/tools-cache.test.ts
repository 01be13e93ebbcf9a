import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm, writeFile, unlink, readFile, symlink, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, sign } from 'node:crypto';
import {
  signToolsCache,
  toolsCacheEntries,
  validateToolsCache,
  writeToolsCache,
  toolchainDir,
  toolsCacheRecordKey,
  type ToolsCacheTrust,
  type Validation,
} from '../../../pipeline/cache/tools-cache.ts';
import { StageStore } from '../../../pipeline/cache/stage-store.ts';
import { generateKeyPair } from '../../../pipeline/crypto/keys.ts';
import type { TarEntry } from '../../../pipeline/util/tar.ts';

const entries: TarEntry[] = [
  { path: 'opt/osforge/amd64/lib/libc.a', type: 'file', mode: 0o644, data: Buffer.from('archive') },
  { path: 'opt/osforge/amd64/bin/musl-gcc', type: 'file', mode: 0o755, data: Buffer.from('#!/bin/sh\n') },
  { path: 'opt/osforge/amd64/bin/x86_64-linux-musl-gcc', type: 'symlink', mode: 0o777, linkname: 'musl-gcc' },
];

/** This machine's trust: its own stage store beside the cache (the state dir, outside tools-cache/). */
const own = (root: string, extra: Partial<ToolsCacheTrust> = {}): ToolsCacheTrust => ({ store: new StageStore(join(root, 'state-stages')), ...extra });
/** Another machine's: an empty stage store of its own. */
const elsewhere = async (extra: Partial<ToolsCacheTrust> = {}): Promise<ToolsCacheTrust> => ({
  store: new StageStore(join(await mkdtemp(join(tmpdir(), 'osforge-tc-other-')), 'stages')),
  ...extra,
});

async function fresh(trust?: Partial<ToolsCacheTrust>) {
  const root = await mkdtemp(join(tmpdir(), 'osforge-tc-'));
  await writeToolsCache(root, 'k1', entries, own(root, trust));
  return root;
}

const reasonOf = (v: Validation) => (v.ok ? 'valid' : v.reason);

/** What an attacker with write access to tools-cache/ (a poisoned CI cache) writes: a new compiler and an index recomputed to match it. */
async function forge(root: string): Promise<void> {
  const dir = toolchainDir(root);
  const evil = '#!/bin/sh\necho pwned\n';
  await writeFile(join(dir, 'root/opt/osforge/amd64/bin/musl-gcc'), evil);
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { files: { path: string; sha256?: string }[] };
  index.files.find((f) => f.path.endsWith('bin/musl-gcc'))!.sha256 = createHash('sha256').update(evil).digest('hex');
  await writeFile(join(dir, 'index.json'), JSON.stringify(index, null, 1) + '\n');
}

test('a written cache validates for its own key only', async () => {
  const root = await fresh();
  assert.ok((await validateToolsCache(root, 'k1', own(root))).ok);
  const other = await validateToolsCache(root, 'k2', own(root));
  assert.not.ok(other.ok);
  assert.match(reasonOf(other), /tools inputs changed/);
  await rm(root, { recursive: true });
});

test('a missing file invalidates the cache and names the file', async () => {
  const root = await fresh();
  await unlink(join(toolchainDir(root), 'root/opt/osforge/amd64/lib/libc.a'));
  const v = await validateToolsCache(root, 'k1', own(root));
  assert.not.ok(v.ok);
  assert.match(reasonOf(v), /missing file .*libc\.a/);
  await rm(root, { recursive: true });
});

test('a corrupted file invalidates the cache with expected vs actual', async () => {
  const root = await fresh();
  await writeFile(join(toolchainDir(root), 'root/opt/osforge/amd64/bin/musl-gcc'), 'tampered');
  const v = await validateToolsCache(root, 'k1', own(root));
  assert.not.ok(v.ok);
  assert.match(reasonOf(v), /hash mismatch for .*musl-gcc: expected [0-9a-f]{64}, actual [0-9a-f]{64}/);
  await rm(root, { recursive: true });
});

test('an unreadable index and a missing cache are reported', async () => {
  const root = await fresh();
  await writeFile(join(toolchainDir(root), 'index.json'), '{not json');
  assert.match(reasonOf(await validateToolsCache(root, 'k1', own(root))), /not valid JSON/);
  const empty = await mkdtemp(join(tmpdir(), 'osforge-tc-'));
  assert.match(reasonOf(await validateToolsCache(empty, 'k1', own(empty))), /does not exist/);
  await rm(root, { recursive: true });
  await rm(empty, { recursive: true });
});

test('rewriting replaces the old cache whole', async () => {
  const root = await fresh();
  await writeToolsCache(root, 'k2', entries.slice(0, 1), own(root));
  const index = JSON.parse(await readFile(join(toolchainDir(root), 'index.json'), 'utf8'));
  assert.is(index.key, 'k2');
  assert.ok((await validateToolsCache(root, 'k2', own(root))).ok);
  await rm(root, { recursive: true });
});

test('forgery: a changed compiler with a recomputed, self-consistent index.json is refused on the machine that wrote the genuine one', async () => {
  const root = await fresh();
  await forge(root);
  const v = await validateToolsCache(root, 'k1', own(root));
  assert.not.ok(v.ok);
  assert.match(reasonOf(v), /index\.json is not trusted: it differs from the index this machine wrote for this key, and OSFORGE_TOOLS_CACHE_PUBKEY is not set/);
  await rm(root, { recursive: true });
});

test('forgery: a self-consistent tools-cache/ no machine key vouches for is refused (a fresh CI runner restoring a poisoned cache)', async () => {
  const root = await fresh();
  await forge(root);
  const v = await validateToolsCache(root, 'k1', await elsewhere());
  assert.not.ok(v.ok);
  assert.match(reasonOf(v), /is not trusted: it was not written by this machine/);
  // Even the genuine, unsigned cache is not trusted elsewhere: nothing proves who wrote it.
  const genuine = await fresh();
  assert.match(
    reasonOf(await validateToolsCache(genuine, 'k1', await elsewhere())),
    /was not written by this machine, and OSFORGE_TOOLS_CACHE_PUBKEY is not set/,
  );
  await rm(root, { recursive: true });
  await rm(genuine, { recursive: true });
});

test('forgery: a record planted in tools-cache/ itself is no help (the record lives in the state dir)', async () => {
  const root = await fresh();
  await forge(root);
  // The attacker copies a matching record layout into tools-cache/: the trusted store never looks there.
  const planted = new StageStore(join(root, 'toolchain', 'stages'));
  await planted.putDir({ key: toolsCacheRecordKey('k1'), kind: 'tools-cache-index', toolsKey: 'k1' }, async (out) => {
    await writeFile(join(out, 'index.json'), await readFile(join(toolchainDir(root), 'index.json')));
  });
  assert.not.ok((await validateToolsCache(root, 'k1', await elsewhere())).ok);
  await rm(root, { recursive: true });
});

test('signed: a cache from another machine is a hit only with the right public key', async () => {
  const cacheKey = generateKeyPair();
  const root = await fresh({ signKey: cacheKey.privateKey });
  const sig = await readFile(join(toolchainDir(root), 'index.json.sig'), 'utf8');
  assert.match(sig, /^[A-Za-z0-9+/]+=*$/, 'cosign-style base64 signature, no newline');
  assert.ok((await validateToolsCache(root, 'k1', await elsewhere({ verifyKey: cacheKey.publicKey }))).ok, 'right key: hit');
  const wrong = await validateToolsCache(root, 'k1', await elsewhere({ verifyKey: generateKeyPair().publicKey }));
  assert.not.ok(wrong.ok);
  assert.match(reasonOf(wrong), /index\.json\.sig does not verify with OSFORGE_TOOLS_CACHE_PUBKEY/);
  assert.match(reasonOf(await validateToolsCache(root, 'k1', await elsewhere())), /OSFORGE_TOOLS_CACHE_PUBKEY is not set/);
  await rm(root, { recursive: true });
});

test('signed: a forged index under the genuine signature, or re-signed by the attacker, is refused', async () => {
  const cacheKey = generateKeyPair();
  const root = await fresh({ signKey: cacheKey.privateKey });
  await forge(root);
  const trust = await elsewhere({ verifyKey: cacheKey.publicKey });
  assert.match(reasonOf(await validateToolsCache(root, 'k1', trust)), /does not verify with OSFORGE_TOOLS_CACHE_PUBKEY/);
  const attacker = generateKeyPair();
  const forgedIndex = await readFile(join(toolchainDir(root), 'index.json'));
  await writeFile(join(toolchainDir(root), 'index.json.sig'), sign('sha256', forgedIndex, { key: attacker.privateKey, dsaEncoding: 'der' }).toString('base64'));
  assert.match(reasonOf(await validateToolsCache(root, 'k1', trust)), /does not verify/);
  await unlink(join(toolchainDir(root), 'index.json.sig'));
  assert.match(reasonOf(await validateToolsCache(root, 'k1', trust)), /it has no index\.json\.sig/);
  await writeFile(join(toolchainDir(root), 'index.json.sig'), 'not base64!');
  assert.match(reasonOf(await validateToolsCache(root, 'k1', trust)), /index\.json\.sig is unusable/);
  await rm(root, { recursive: true });
});

test('the index is read bounded: a symlinked or too deeply nested index.json is refused with a reason', async () => {
  const root = await fresh();
  const dir = toolchainDir(root);
  await rename(join(dir, 'index.json'), join(dir, 'real.json'));
  await symlink('real.json', join(dir, 'index.json'));
  assert.match(reasonOf(await validateToolsCache(root, 'k1', own(root))), /tools-cache index is a symlink/);
  await unlink(join(dir, 'index.json'));
  await writeFile(join(dir, 'index.json'), '['.repeat(100000) + ']'.repeat(100000));
  assert.match(reasonOf(await validateToolsCache(root, 'k1', own(root))), /nests deeper than 64 levels/);
  await rm(root, { recursive: true });
});

test('sign-tools-cache signs only what this machine wrote: a forged cache is refused, never laundered', async () => {
  const cacheKey = generateKeyPair();
  const root = await fresh();
  const index = await signToolsCache(root, own(root).store, cacheKey.privateKey);
  assert.is(index.key, 'k1');
  assert.ok((await validateToolsCache(root, 'k1', await elsewhere({ verifyKey: cacheKey.publicKey }))).ok, 'the signed cache is a hit elsewhere');
  await forge(root);
  await unlink(join(toolchainDir(root), 'index.json.sig'));
  try {
    await signToolsCache(root, own(root).store, cacheKey.privateKey);
    assert.unreachable('signed a forged cache');
  } catch (err) {
    assert.match((err as Error).message, /^not signing .*toolchain: .*is not trusted: it differs from the index this machine wrote/);
  }
  assert.not.ok((await validateToolsCache(root, 'k1', await elsewhere({ verifyKey: cacheKey.publicKey }))).ok, 'and the forgery is not trusted elsewhere');
  await rm(root, { recursive: true });
});

test('the layer bytes are checked again as they are read: a file swapped after validation never enters the image', async () => {
  const root = await fresh();
  assert.ok((await validateToolsCache(root, 'k1', own(root))).ok);
  assert.is((await toolsCacheEntries(root)).find((e) => e.path.endsWith('musl-gcc'))!.data!.toString(), '#!/bin/sh\n');
  await writeFile(join(toolchainDir(root), 'root/opt/osforge/amd64/bin/musl-gcc'), 'swapped');
  try {
    await toolsCacheEntries(root);
    assert.unreachable('read a swapped file');
  } catch (err) {
    assert.match((err as Error).message, /musl-gcc changed after tools-cache\/ was validated/);
  }
  await rm(root, { recursive: true });
});

test.run();
