// The shared-cache pull runs before any signature is checked, so it must be
// bounded against a hostile cache: an HTTP cache that stalls, trickles or
// sends for ever; a directory cache whose entry is a FIFO or a symlink to
// /dev/zero; and correctly signed entries (a leaked or careless key) whose
// meta.json names files outside the entry, that hold a symlink, too many
// entries or too deep a path. Each pull returns false (the stage builds)
// with one warning, quickly, and leaves nothing behind. Real HTTP servers on
// 127.0.0.1, real FIFOs, real keys and stage stores.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { DEFAULT_SHARED_CACHE_LIMITS, SharedCache, sharedCacheLimitsFrom, type SharedCacheLimits } from '../../../pipeline/cache/shared-cache.ts';
import { StageStore } from '../../../pipeline/cache/stage-store.ts';
import { OsforgeError } from '../../../pipeline/errors.ts';
import { encodeSigFile, signFile } from '../../../pipeline/crypto/blob.ts';
import { generateKeyPair } from '../../../pipeline/crypto/keys.ts';
import { packEntries, type TarEntry } from '../../../pipeline/util/tar.ts';
import { extractSafe } from '../../../pipeline/util/tar-stream.ts';

const work = mkdtempSync(join(tmpdir(), 'osforge-shared-bounds-'));
const KEY = 'cd'.repeat(32);
const REL = `${KEY.slice(0, 2)}/${KEY}.tar`;
const keys = generateKeyPair();
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
let server: Server;
let base = '';
const intervals = new Set<NodeJS.Timeout>();

test.before(async () => {
  server = createServer((req, res) => {
    const [, mode] = new URL(req.url ?? '/', 'http://x').pathname.split('/');
    const every = (ms: number, fn: () => void) => {
      const t = setInterval(fn, ms);
      intervals.add(t);
      res.on('close', () => {
        clearInterval(t);
        intervals.delete(t);
      });
    };
    if (mode === 'stall') {
      res.writeHead(200, { 'content-length': 1_000_000 });
      res.write('0123456789');
      return;
    }
    if (mode === 'trickle') {
      res.writeHead(200);
      every(100, () => res.write('x'));
      return;
    }
    if (mode === 'endless') {
      res.writeHead(200);
      const chunk = Buffer.alloc(64 * 1024);
      const more = () => {
        while (res.write(chunk));
        res.once('drain', more);
      };
      more();
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
test.after(async () => {
  for (const t of intervals) clearInterval(t);
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(work, { recursive: true, force: true });
});

const limits = (over: Partial<SharedCacheLimits> = {}, timing: Partial<SharedCacheLimits['timing']> = {}): SharedCacheLimits => ({
  ...DEFAULT_SHARED_CACHE_LIMITS,
  ...over,
  timing: { ...DEFAULT_SHARED_CACHE_LIMITS.timing, ...timing },
});

/** Pulls KEY from `location`: must be refused with one warning matching `why`, within `ms`, leaving the store empty. */
async function refused(location: string, why: RegExp, l: SharedCacheLimits = DEFAULT_SHARED_CACHE_LIMITS, ms = 5000): Promise<void> {
  const logs: string[] = [];
  const storeRoot = join(work, `store-${Math.random().toString(36).slice(2)}`);
  const store = new StageStore(storeRoot);
  const t0 = Date.now();
  assert.not.ok(
    await new SharedCache({ location, verifyKey: keys.publicKey, log: (line) => logs.push(line), limits: l }).pull(store, KEY, 'stage2/amd64/zlib'),
  );
  assert.ok(Date.now() - t0 < ms, `took ${Date.now() - t0} ms`);
  assert.not.ok(store.has(KEY), 'a refused entry reached the store');
  assert.is(logs.length, 1, logs.join('\n'));
  assert.match(logs[0]!, why);
  assert.not.match(logs[0]!, /\n/);
  assert.equal(existsSync(storeRoot) ? readdirSync(storeRoot) : [], [], 'the pull left files behind');
}

test('HTTP: a stalling cache hits the idle timeout, a trickle the minimum rate, an endless body the size cap', async () => {
  await refused(
    `${base}/stall`,
    /shared cache .*\/stall failed for stage2\/amd64\/zlib \(downloading .*: no data for 0\.3s \(idle timeout\)\); building it$/,
    limits({}, { idleTimeoutMs: 300 }),
  );
  await refused(`${base}/trickle`, /only \d+ bytes in 0\.5s, below the minimum rate of 1K\/s/, limits({}, { idleTimeoutMs: 5000, rateWindowMs: 500 }));
  // Before the fix this filled the disk (2 GB in 12 s); now it stops at the cap and the partial tar is removed.
  await refused(
    `${base}/endless`,
    /shared cache entry cdcdcdcdcdcd for stage2\/amd64\/zlib: .*\/endless\/cd\/(?:cd){32}\.tar is larger than the 1M limit \(more than \d+ bytes sent\); ignored, building it$/,
    limits({ maxEntryBytes: 1024 * 1024 }),
  );
});

/** A directory cache with the entry tar (and its .sig) for KEY made by `make`. */
function dirCache(name: string, make: (tarPath: string) => void, sig?: (sigPath: string) => void): string {
  const dir = join(work, name);
  mkdirSync(join(dir, KEY.slice(0, 2)), { recursive: true });
  make(join(dir, REL));
  sig?.(join(dir, `${REL}.sig`));
  return dir;
}

test('directory: a FIFO or a symlink to /dev/zero as the entry or its .sig is refused, not waited on', async () => {
  const fifo = (p: string) => execFileSync('mkfifo', [p]);
  const zero = (p: string) => symlinkSync('/dev/zero', p);
  await refused(dirCache('fifo', fifo), /shared cache file cd\/(?:cd){32}\.tar is not a regular file .*; refused; ignored, building it$/);
  await refused(dirCache('zero', zero), /shared cache file cd\/(?:cd){32}\.tar is a symlink .*; refused; ignored, building it$/);
  const tar = await packEntries([{ path: 'meta.json', type: 'file', mode: 0o644, data: Buffer.from('{}') }], 0);
  await refused(
    dirCache('sig-fifo', (p) => writeFileSync(p, tar), fifo),
    /\.tar\.sig is not a regular file/,
  );
  // A .sig of /dev/zero's size is refused by its 64K cap even when it is a plain file.
  await refused(
    dirCache(
      'sig-big',
      (p) => writeFileSync(p, tar),
      (p) => writeFileSync(p, Buffer.alloc(65 * 1024, 0x41)),
    ),
    /\.tar\.sig is larger than the 64K limit/,
  );
});

/** A directory cache holding `entries` as KEY's tar, correctly signed. */
async function signedCache(name: string, entries: TarEntry[]): Promise<string> {
  const tar = await packEntries(entries, 0);
  const dir = dirCache(name, (p) => writeFileSync(p, tar));
  writeFileSync(join(dir, `${REL}.sig`), encodeSigFile((await signFile(keys.privateKey, join(dir, REL))).signature));
  return dir;
}
const file = (path: string, data: string | Buffer = ''): TarEntry => ({ path, type: 'file', mode: 0o644, data: Buffer.from(data) });
const meta = (o: object) => file('meta.json', JSON.stringify({ key: KEY, kind: 'image-step', ...o }));

test('signed entries: meta.json naming files outside its entry, a symlink, a deep meta.json are refused before verification', async () => {
  // The store would hash join(entry, "out", name): ../../../secret is beside the store. Before the fix that hash
  // matched and the entry was imported, confirming a guess at a file of the builder's; /dev/zero hung it.
  const secret = "the builder's own file\n";
  writeFileSync(join(work, 'secret'), secret);
  await refused(
    await signedCache('escape', [meta({ files: { '../../../secret': sha(secret) } }), file('out/x', 'x')]),
    /shared cache entry cdcdcdcdcdcd for stage2\/amd64\/zlib has a meta\.json naming "\.\.\/\.\.\/\.\.\/secret", outside its entry; ignored, building it$/,
  );
  await refused(await signedCache('absolute', [meta({ files: { '/dev/zero': sha('') } })]), /naming "\/dev\/zero", outside its entry/);
  await refused(await signedCache('unlisted', [meta({ files: { missing: sha('') } })]), /naming "missing", which is no file of the entry/);
  await refused(
    await signedCache('symlink', [meta({ files: { x: sha('') } }), { path: 'out/x', type: 'symlink', mode: 0o777, linkname: '/dev/zero' }]),
    /refusing archive entry "out\/x": a symlink, where only files and directories belong; ignored, building it$/,
  );
  await refused(
    await signedCache('deep-json', [file('meta.json', '['.repeat(100_000) + ']'.repeat(100_000))]),
    /has an unreadable meta\.json \(meta\.json nests deeper than 64 levels/,
  );
});

test('signed entries: too many tar entries or too deep a path are refused at the cap, quickly', async () => {
  const many = Array.from({ length: 12_000 }, (_, i) => file(`out/f${i}`));
  await refused(
    await signedCache('many', [meta({}), ...many]),
    /refusing archive: more than 10000 entries; ignored, building it$/,
    DEFAULT_SHARED_CACHE_LIMITS,
    30_000,
  );
  const deep = `out/${Array.from({ length: 300 }, () => 'd').join('/')}/f`;
  await refused(
    await signedCache('deep', [meta({}), file(deep)]),
    /refusing archive entry "out\/d\/d\/.*\.\.\.: more than 32 path components; ignored, building it$/,
  );
});

test('extractSafe work grows linearly: ten times the entries takes not wildly more than ten times as long', async () => {
  const tarOf = (n: number) =>
    packEntries(
      Array.from({ length: n }, (_, i) => file(`${Array.from({ length: 20 }, (_, d) => `d${d}`).join('/')}/f${i}`)),
      0,
    );
  const time = async (n: number) => {
    const tar = await tarOf(n);
    const dir = join(work, `lin-${n}`);
    const t0 = process.hrtime.bigint();
    await extractSafe(Readable.from([tar]), dir, { maxEntries: 100_000, maxDepth: 32, filesAndDirsOnly: true });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    rmSync(dir, { recursive: true, force: true });
    return ms;
  };
  await time(200); // warm up
  const small = await time(500);
  const large = await time(5000);
  assert.ok(large < small * 30, `500 entries: ${small.toFixed(0)} ms, 5000: ${large.toFixed(0)} ms`);
});

test('limits come from the environment; a bad value is a usage error naming the variable', async () => {
  const l = await sharedCacheLimitsFrom({
    OSFORGE_SHARED_CACHE_MAX_SIZE: '1M',
    OSFORGE_SHARED_CACHE_MAX_ENTRIES: '50',
    OSFORGE_SHARED_CACHE_MAX_DEPTH: '8',
    OSFORGE_IDLE_TIMEOUT: '2s',
    OSFORGE_DOWNLOAD_DEADLINE: '1m',
  });
  assert.equal(l, {
    maxEntryBytes: 1024 * 1024,
    maxEntries: 50,
    maxDepth: 8,
    timing: { ...DEFAULT_SHARED_CACHE_LIMITS.timing, idleTimeoutMs: 2000, deadlineMs: 60_000 },
  });
  assert.equal(await sharedCacheLimitsFrom({}), DEFAULT_SHARED_CACHE_LIMITS);
  const err = await sharedCacheLimitsFrom({ OSFORGE_SHARED_CACHE_MAX_ENTRIES: 'lots' }).then(
    () => null,
    (e: unknown) => e,
  );
  assert.instance(err, OsforgeError);
  assert.match((err as Error).message, /invalid count for \$OSFORGE_SHARED_CACHE_MAX_ENTRIES: "lots"/);
});

test.run();
