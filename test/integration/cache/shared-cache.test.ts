// The shared stage cache (cache/shared-cache.ts) over HTTP (GET, HEAD, PUT to
// a local server) and a directory, with real stage stores and real cosign
// keys: a pushed entry pulls into an empty store intact; an unsigned entry, one
// signed by another key, one whose bytes changed, one whose meta.json lies and
// one that escapes its directory are all refused with a warning and leave the
// store without the entry.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { tmpdir } from 'node:os';
import { pipeline } from 'node:stream/promises';
import { StageStore } from '../../../pipeline/cache/stage-store.ts';
import { SharedCache } from '../../../pipeline/cache/shared-cache.ts';
import { generateKeyPair } from '../../../pipeline/crypto/keys.ts';
import { encodeSigFile, signFile } from '../../../pipeline/crypto/blob.ts';
import { packEntries } from '../../../pipeline/util/tar.ts';

const work = mkdtempSync(join(tmpdir(), 'osforge-shared-cache-'));
const KEY = 'ab'.repeat(32);
const keys = generateKeyPair();
const other = generateKeyPair();
let server: Server;
let url = '';

test.before(async () => {
  const root = join(work, 'http');
  server = createServer((req, res) => {
    const path = join(root, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    if (!path.startsWith(root)) {
      res.writeHead(400).end();
      return;
    }
    if (req.method === 'PUT') {
      mkdirSync(dirname(path), { recursive: true });
      pipeline(req, createWriteStream(path)).then(
        () => res.writeHead(201).end(),
        () => res.writeHead(500).end(),
      );
      return;
    }
    if (!existsSync(path)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200);
    res.end(req.method === 'HEAD' ? undefined : readFileSync(path));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}/cache`;
});
test.after(async () => {
  await new Promise((r) => server.close(r));
  rmSync(work, { recursive: true, force: true });
});

async function storeWithEntry(name: string): Promise<StageStore> {
  const store = new StageStore(join(work, name));
  await store.putDir({ key: KEY, kind: 'image-step', arch: 'amd64', step: 'iso' }, async (out) => {
    writeFileSync(join(out, 'image.iso'), Buffer.alloc(200_000, 7));
    mkdirSync(join(out, 'sub'));
    writeFileSync(join(out, 'sub', 'note'), 'built\n');
  });
  return store;
}

test('over HTTP: a pushed entry pulls into an empty store, byte for byte', async () => {
  const logs: string[] = [];
  const from = await storeWithEntry('a');
  await new SharedCache({ location: url, verifyKey: keys.publicKey, signKey: keys.privateKey, log: (l) => logs.push(l) }).push(from, KEY, 'image/amd64/iso');
  assert.ok(existsSync(join(work, 'http/cache', KEY.slice(0, 2), `${KEY}.tar.sig`)), 'no signature was pushed');
  const to = new StageStore(join(work, 'b'));
  const cache = new SharedCache({ location: url, verifyKey: keys.publicKey, log: (l) => logs.push(l) });
  assert.ok(await cache.pull(to, KEY, 'image/amd64/iso'));
  const got = await to.get(KEY);
  assert.ok(got, 'the pulled entry does not verify in the store');
  assert.ok(readFileSync(join(got!.path, 'image.iso')).equals(Buffer.alloc(200_000, 7)));
  assert.is(readFileSync(join(got!.path, 'sub', 'note'), 'utf8'), 'built\n');
  assert.equal(logs, []);
});

/** A directory cache holding `tar` (and `sig`, when given) for KEY. */
function dirCache(name: string, tar: Buffer, sig?: string): string {
  const dir = join(work, name);
  mkdirSync(join(dir, KEY.slice(0, 2)), { recursive: true });
  writeFileSync(join(dir, KEY.slice(0, 2), `${KEY}.tar`), tar);
  if (sig !== undefined) writeFileSync(join(dir, KEY.slice(0, 2), `${KEY}.tar.sig`), sig);
  return dir;
}

async function signed(tar: Buffer, key = keys.privateKey): Promise<string> {
  const f = join(work, `sign-${Math.random()}`);
  writeFileSync(f, tar);
  return encodeSigFile((await signFile(key, f)).signature);
}

async function refused(dir: string, why: RegExp): Promise<void> {
  const logs: string[] = [];
  const store = new StageStore(join(work, `s-${Math.random()}`));
  assert.not.ok(await new SharedCache({ location: dir, verifyKey: keys.publicKey, log: (l) => logs.push(l) }).pull(store, KEY, 'stage2/amd64/zlib'));
  assert.not.ok(store.has(KEY), 'a refused entry reached the store');
  assert.is(logs.length, 1, logs.join('\n'));
  assert.match(logs[0]!, why);
}

test('refused: unsigned, signed by another key, bytes changed, a meta.json that lies, an entry escaping its directory', async () => {
  const meta = (o: object) => Buffer.from(JSON.stringify({ key: KEY, kind: 'package', ...o }));
  const good = await packEntries(
    [
      { path: 'meta.json', type: 'file', mode: 0o644, data: meta({ outputSha256: 'f'.repeat(64) }) },
      { path: 'output.tar.gz', type: 'file', mode: 0o644, data: Buffer.from('not what the meta says') },
    ],
    0,
  );
  await refused(dirCache('unsigned', good), /shared cache entry abababababab for stage2\/amd64\/zlib is unsigned \(no \.sig\); ignored, building it/);
  await refused(dirCache('other-key', good, await signed(good, other.privateKey)), /is not signed by the shared cache's key/);
  const changed = Buffer.from(good);
  changed.writeUInt8(changed.readUInt8(600) ^ 1, 600);
  await refused(dirCache('changed', changed, await signed(good)), /is not signed by the shared cache's key/);
  // Correctly signed, but its output does not hash to what its meta.json records.
  await refused(dirCache('lies', good, await signed(good)), /does not match its own record \(expected f{64}, actual [0-9a-f]{64}\)/);
  const evil = await packEntries([{ path: 'meta.json', type: 'symlink', mode: 0o777, linkname: '/etc/passwd' } as never], 0);
  await refused(dirCache('evil', evil, await signed(evil)), /does not match its own record|refusing|unsafe|not a valid/i);
});

test.run();
