// Each streaming form against its in-memory twin in tar.ts, on random trees:
// byte equality is the contract (dist/ must not change). Trees are seeded:
// a failure prints TAR_STREAM_SEED=<n>, which replays it.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import tarStream from 'tar-stream';
import { comparePaths, gunzip, gzip, normalizeEntryPath, overlay, packEntries, readEntries, type TarEntry } from '../../../pipeline/util/tar.ts';
import { extractSafe, gzipStream, mergeLayers, packStream, writeHashed, type StreamEntry } from '../../../pipeline/util/tar-stream.ts';

const MTIME = 1700000000;
const seed0 = Number(process.env.TAR_STREAM_SEED ?? Date.now() % 1e9);

/** mulberry32: small, seeded, good enough to pick shapes of trees. */
function rng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return {
    int,
    chance: (p: number) => next() < p,
    pick: <T>(xs: readonly T[]) => xs[int(xs.length)]!,
    bytes: (n: number) => Buffer.from(Array.from({ length: n }, () => int(256))),
  };
}
type Rng = ReturnType<typeof rng>;

// Names whose byte order differs from naive orders: "a-b" < "a.b" < "a/b" bytewise;
// U+FF61 sorts before U+1F600 in UTF-8 but after it in UTF-16; long ones force pax/prefix headers.
const NAMES = ['a', 'b', 'a-b', 'a.b', 'a b', 'a0', 'B', 'é', 'e\u0301', '\uff61', '\u{1f600}', 'n'.repeat(70)];
const MODES = [0o644, 0o755, 0o600, 0o700, 0o4755, 0o640, 0o111];

function randomPath(r: Rng): string {
  return Array.from({ length: 1 + r.int(3) }, () => r.pick(NAMES)).join('/');
}

function randomEntry(r: Rng, path: string, pool: readonly string[]): TarEntry {
  const mode = r.pick(MODES);
  switch (r.int(10)) {
    case 0:
    case 1:
      return { path, type: 'directory', mode };
    case 2:
    case 3:
      return { path, type: 'symlink', mode, linkname: r.pick(['t', '../up', '/usr/bin/x', 'l'.repeat(120), 'é/ü']) };
    case 4:
      return { path, type: 'link', mode, linkname: (r.chance(0.3) ? './' : '') + r.pick(pool) };
    default:
      return { path, type: 'file', mode, data: r.bytes(r.pick([0, 1, 511, 512, 513, r.int(5000)])) };
  }
}

function randomEntries(r: Rng, pool: readonly string[], n: number): TarEntry[] {
  return Array.from({ length: n }, () => randomEntry(r, r.pick(pool), pool));
}

async function collect(source: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of source) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The error `p` rejects with; fails the test if it resolves. */
async function rejection(p: Promise<unknown>, what: string): Promise<Error & { code?: string }> {
  return p.then(
    () => assert.unreachable(`must fail: ${what}`),
    (e: Error & { code?: string }) => e,
  ) as Promise<Error & { code?: string }>;
}

async function reference(files: readonly string[]): Promise<Buffer> {
  return packEntries(overlay(await Promise.all(files.map((f) => readEntries(gunzip(readFileSync(f)))))), MTIME);
}

type RawEntry = { header: Parameters<tarStream.Pack['entry']>[0]; data?: Buffer };

/** A gzipped tar with exactly these headers, in this order: what packEntries would never write. */
async function rawLayer(file: string, entries: readonly RawEntry[]): Promise<void> {
  const pack = tarStream.pack();
  for (const { header, data } of entries) {
    if (header.type === 'file' || header.type === undefined) pack.entry(header, data ?? Buffer.alloc(0));
    else pack.entry(header);
  }
  pack.finalize();
  writeFileSync(file, gzip(await collect(pack)));
}

/** The same tree as raw headers, each decorated as other tar writers do (./, owners, mtimes), parents only sometimes. */
function rawHeaders(r: Rng, entries: readonly TarEntry[]): RawEntry[] {
  const byPath = new Map(entries.map((e) => [normalizeEntryPath(e.path), e]));
  for (const path of [...byPath.keys()]) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!byPath.has(dir) && r.chance(0.5)) byPath.set(dir, { path: dir, type: 'directory', mode: 0o700 });
    }
  }
  const sorted = [...byPath].sort(([a], [b]) => comparePaths(a, b));
  const top: RawEntry[] = r.chance(0.3) ? [{ header: { name: './', type: 'directory', mode: 0o700 } }] : [];
  return [
    ...top,
    ...sorted.map(([path, e]) => ({
      header: {
        name: (r.chance(0.5) ? './' : '') + path + (e.type === 'directory' && r.chance(0.5) ? '/' : ''),
        type: e.type,
        mode: e.mode,
        linkname: e.linkname,
        uid: 1000,
        gid: 100,
        uname: 'bob',
        gname: 'staff',
        mtime: new Date(r.int(2e9) * 1000),
      },
      data: e.data,
    })),
  ];
}

let root: string;
let n = 0;
const tmp = (name = 'f') => join(root, `${n++}-${name}`);

const merge = suite('mergeLayers');
merge.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'osforge-tarstream-'));
});
merge.after(async () => {
  await rm(root, { recursive: true, force: true });
});

merge('equals packEntries(overlay(readEntries(layers))) for layers written by packEntries', async () => {
  for (let trial = 0; trial < 150; trial++) {
    const seed = seed0 + trial;
    const replay = `TAR_STREAM_SEED=${seed0} (trial ${trial})`;
    const r = rng(seed);
    const pool = Array.from({ length: 2 + r.int(10) }, () => randomPath(r));
    const files = await Promise.all(
      Array.from({ length: 1 + r.int(4) }, async () => {
        const f = tmp('layer.tar.gz');
        writeFileSync(f, gzip(await packEntries(randomEntries(r, pool, r.int(8)), r.int(2e9))));
        return f;
      }),
    );
    const got = await collect(mergeLayers(files, MTIME));
    assert.ok(got.equals(await reference(files)), replay);
  }
});

merge('layers from other writers: equal bytes, or refused only where a missing parent cannot be placed', async () => {
  let synthesisedOk = 0;
  let refused = 0;
  for (let trial = 0; trial < 150; trial++) {
    const seed = seed0 + 1000 + trial;
    const replay = `TAR_STREAM_SEED=${seed0} (trial ${trial})`;
    const r = rng(seed);
    const pool = Array.from({ length: 2 + r.int(10) }, () => randomPath(r));
    const layerPaths = new Set<string>();
    const files: string[] = [];
    for (let i = 1 + r.int(3); i > 0; i--) {
      const headers = rawHeaders(r, [...new Map(randomEntries(r, pool, r.int(8)).map((e) => [e.path, e])).values()]);
      for (const h of headers) layerPaths.add(normalizeEntryPath(h.header.name));
      files.push(tmp('raw.tar.gz'));
      await rawLayer(files[files.length - 1]!, headers);
    }
    const want = await reference(files);
    const paths = (await readEntries(want)).map((e) => e.path);
    const synthesised = paths.filter((p) => !layerPaths.has(p));
    // A stream can place a parent no layer holds only if what follows it in the output is below it.
    const placeable = synthesised.every((p) => paths[paths.indexOf(p) + 1]!.startsWith(`${p}/`));
    const got = await collect(mergeLayers(files, MTIME)).catch((err: Error & { code?: string }) => err);
    if (placeable) {
      assert.ok(Buffer.isBuffer(got) && got.equals(want), `${replay}: ${got instanceof Error ? got.message : 'bytes differ'}`);
      if (synthesised.length) synthesisedOk++;
    } else {
      assert.instance(got, Error, replay);
      assert.is((got as Error & { code?: string }).code, 'ARCHIVE_UNSAFE', replay);
      assert.match((got as Error).message, /has a parent ".*" in no layer, which sorts before the already written/);
      refused++;
    }
  }
  assert.ok(synthesisedOk > 0 && refused > 0, `both cases exercised: ${synthesisedOk} synthesised, ${refused} refused`);
});

merge('a parent in no layer is synthesised in its sorted place; "a-b" before "a/b" without "a" is refused', async () => {
  const file = (name: string) => ({ header: { name, type: 'file' as const, mode: 0o644 }, data: Buffer.from(name) });
  const ok = tmp('ok.tar.gz');
  await rawLayer(ok, [file('x/y/z'), file('x0')]);
  const got = await collect(mergeLayers([ok], MTIME));
  assert.ok(got.equals(await reference([ok])));
  assert.equal(
    (await readEntries(got)).map((e) => e.path),
    ['x', 'x/y', 'x/y/z', 'x0'],
  );
  const late = tmp('late.tar.gz');
  await rawLayer(late, [file('a-b'), file('a/b')]);
  const err = await rejection(collect(mergeLayers([late], MTIME)), 'late parent');
  assert.is(err.code, 'ARCHIVE_UNSAFE');
  assert.ok(err.message.includes(late), err.message);
  // The same layer merges once another layer holds "a".
  const withA = tmp('a.tar.gz');
  writeFileSync(withA, gzip(await packEntries([{ path: 'a', type: 'directory', mode: 0o755 }], 0)));
  assert.ok((await collect(mergeLayers([late, withA], MTIME))).equals(await reference([late, withA])));
});

merge('an unsorted layer, a duplicate path, an unsafe entry and a damaged gzip are ARCHIVE_UNSAFE naming the file', async () => {
  const f = (name: string): RawEntry => ({ header: { name, type: 'file', mode: 0o644 }, data: Buffer.from('x') });
  const good = tmp('good.tar.gz');
  writeFileSync(good, gzip(await packEntries([{ path: 'c', type: 'file', mode: 0o644, data: Buffer.from('c') }], 0)));
  const cases: [string, RawEntry[], RegExp][] = [
    ['unsorted', [f('b'), f('a')], /is not sorted: "a" comes after "b"/],
    ['unsorted by bytes', [f('a/b'), f('a-b')], /is not sorted: "a-b" comes after "a\/b"/],
    ['duplicate', [f('a'), f('./a')], /is not sorted: "a" comes after "a"/],
    ['traversal', [f('../etc/passwd')], /refusing archive entry "\.\.\/etc\/passwd"/],
    ['device', [{ header: { name: 'dev/null', type: 'character-device', mode: 0o666 } }], /unsupported entry type character-device/],
    ['truncated gzip', [f('a'), f('b')], /is damaged/],
  ];
  for (const [name, entries, re] of cases) {
    const p = tmp(`${name}.tar.gz`);
    await rawLayer(p, entries);
    if (name === 'truncated gzip') writeFileSync(p, readFileSync(p).subarray(0, 40));
    const err = await rejection(collect(mergeLayers([good, p], MTIME)), name);
    assert.is(err.code, 'ARCHIVE_UNSAFE', `${name}: ${err.message}`);
    assert.match(err.message, re);
    assert.ok(err.message.includes(p), err.message);
  }
});

merge('a consumer that stops early, or a write that cannot start, leaves no layer file open', async () => {
  const files = await Promise.all(
    [0, 1, 2].map(async (i) => {
      const f = tmp(`open${i}.tar.gz`);
      // Incompressible, so the files are far larger than what the read streams buffer ahead.
      writeFileSync(
        f,
        gzipSync(
          await packEntries(
            Array.from({ length: 10 }, (_, j) => ({ path: `d/f${j}`, type: 'file' as const, mode: 0o644, data: randomBytes(100_000) })),
            0,
          ),
          { level: 1 },
        ),
      );
      return f;
    }),
  );
  const open = () =>
    readdirSync('/proc/self/fd')
      .map((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`);
        } catch {
          return '';
        }
      })
      .filter((p) => files.includes(p));
  const settle = () => new Promise((res) => setTimeout(res, 50));
  let n = 0;
  for await (const _ of mergeLayers(files, MTIME)) if (++n === 3) break;
  await settle();
  assert.equal(open(), []);
  const notADir = tmp('file');
  writeFileSync(notADir, '');
  assert.is((await rejection(writeHashed(mergeLayers(files, MTIME), join(notADir, 'x')), 'under a file')).code, 'ENOTDIR');
  await settle();
  assert.equal(open(), []);
});

// The growth measured is a constant ~30 MiB (zlib, V8 young space) for 64 MiB to 256 MiB entries; 128 MiB leaves a wide margin.
merge('a 128 MiB entry is piped through pack, gzip and merge: small chunks, RSS grows far less than the entry', async () => {
  const SIZE = 128 * 1024 * 1024;
  const big = tmp('big');
  await writeFile(big, '');
  await truncate(big, SIZE); // sparse zeros: the test itself holds nothing
  const entries: StreamEntry[] = [
    { path: 'usr/big', type: 'file', mode: 0o644, data: { file: big } },
    { path: 'usr/small', type: 'file', mode: 0o644, data: Buffer.from('small') },
  ];
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 5);
  try {
    const layer = tmp('big.tar.gz');
    await writeHashed(packStream(entries, MTIME), layer, gzipStream());
    // The same big entry again, under a later layer that shadows it: read past, never held.
    const shadowed = tmp('shadow.tar.gz');
    await writeHashed(packStream(entries.slice(0, 1), MTIME), shadowed, gzipStream());
    const top = tmp('top.tar.gz');
    writeFileSync(top, gzip(await packEntries([{ path: 'usr/big', type: 'file', mode: 0o755, data: Buffer.from('#!/bin/sh\n') }], 0)));

    let largest = 0;
    const merged = createHash('sha256');
    for await (const c of mergeLayers([layer], MTIME)) {
      largest = Math.max(largest, (c as Buffer).length);
      peak = Math.max(peak, process.memoryUsage().rss);
      merged.update(c as Buffer);
    }
    const packed = createHash('sha256');
    for await (const c of packStream(entries, MTIME)) packed.update(c as Buffer);
    assert.is(merged.digest('hex'), packed.digest('hex'));
    assert.ok(largest <= 1024 * 1024, `largest chunk ${largest} bytes: data must be piped, not concatenated`);

    const shadowedMerge = await collect(mergeLayers([layer, shadowed, top], MTIME));
    assert.ok(
      shadowedMerge.equals(
        await packEntries(
          [
            { path: 'usr/big', type: 'file', mode: 0o755, data: Buffer.from('#!/bin/sh\n') },
            { path: 'usr/small', type: 'file', mode: 0o644, data: Buffer.from('small') },
          ],
          MTIME,
        ),
      ),
    );
  } finally {
    clearInterval(sampler);
  }
  assert.ok(peak - rss0 < SIZE / 2, `RSS grew by ${((peak - rss0) / 2 ** 20).toFixed(1)} MiB for a ${SIZE / 2 ** 20} MiB entry`);
});

merge.run();

const pack = suite('packStream');
pack.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'osforge-tarstream-'));
});
pack.after(async () => {
  await rm(root, { recursive: true, force: true });
});

pack('equals packEntries for the same entries, data in memory or on disk, from an array or an async iterable', async () => {
  for (let trial = 0; trial < 150; trial++) {
    const seed = seed0 + 2000 + trial;
    const replay = `TAR_STREAM_SEED=${seed0} (trial ${trial})`;
    const r = rng(seed);
    const pool = Array.from({ length: 1 + r.int(10) }, () => (r.chance(0.2) ? './' : '') + randomPath(r) + (r.chance(0.2) ? '/' : ''));
    const entries = randomEntries(r, pool, r.int(12));
    const streamed: StreamEntry[] = entries.map((e) => {
      if (e.type !== 'file' || r.chance(0.3)) return e;
      const file = tmp();
      writeFileSync(file, e.data!);
      return { ...e, data: r.chance(0.2) ? undefined : { file } };
    });
    const inMemory = streamed.map(
      (e): TarEntry => ({ ...e, data: e.data && !Buffer.isBuffer(e.data) ? readFileSync((e.data as { file: string }).file) : e.data }),
    );
    const source = r.chance(0.5)
      ? streamed
      : (async function* () {
          yield* streamed;
        })();
    const got = await collect(packStream(source, MTIME));
    assert.ok(got.equals(await packEntries(inMemory, MTIME)), replay);
  }
});

pack('a missing data file errors the stream', async () => {
  const s = packStream([{ path: 'x', type: 'file', mode: 0o644, data: { file: join(root, 'absent') } }], MTIME);
  assert.is((await rejection(collect(s), 'absent file')).code, 'ENOENT');
});

pack.run();

const gz = suite('gzipStream');

gz('is byte-identical to gzip() whatever the chunk sizes', async () => {
  const r = rng(seed0);
  const parts: Buffer[] = [];
  for (let i = 0; i < 18; i++) {
    parts.push(
      i % 3 === 0
        ? r.bytes(100_000 + r.int(100_000))
        : i % 3 === 1
          ? Buffer.from(`line ${i} of some text\n`.repeat(20_000 + r.int(5000)))
          : Buffer.alloc(200_000 + r.int(50_000)),
    );
  }
  const data = Buffer.concat(parts);
  assert.ok(data.length > 4 * 1024 * 1024);
  const chunked = (buf: Buffer, max: number) => {
    const out: Buffer[] = [];
    for (let off = 0; off < buf.length; off += out[out.length - 1]!.length) out.push(buf.subarray(off, off + 1 + r.int(max)));
    return out;
  };
  // Tiny writes cost a zlib call each: those on a slice that still spans deflate blocks.
  const slice = data.subarray(50_000, 350_000);
  const cases: [Buffer, number][] = [
    [slice, 16],
    [data, 4096],
    [data, 1 << 20],
    [data, data.length],
  ];
  for (const [input, max] of cases) {
    const got = await collect(Readable.from(chunked(input, max)).pipe(gzipStream()));
    assert.ok(got.equals(gzip(input)), `TAR_STREAM_SEED=${seed0}, ${input.length} bytes in chunks up to ${max}: ${got.length} vs ${gzip(input).length} bytes`);
  }
});

gz.run();

const hashed = suite('writeHashed');
hashed.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'osforge-tarstream-'));
});
hashed.after(async () => {
  await rm(root, { recursive: true, force: true });
});

hashed('writes the bytes through the transforms and returns their sha256 and size; no temp file stays', async () => {
  const dir = join(root, 'ok');
  const data = rng(seed0).bytes(300_000);
  const got = await writeHashed(Readable.from([data.subarray(0, 1000), data.subarray(1000)]), join(dir, 'out.gz'), gzipStream());
  const written = readFileSync(join(dir, 'out.gz'));
  assert.ok(written.equals(gzip(data)));
  assert.equal(got, { sha256: createHash('sha256').update(written).digest('hex'), size: written.length });
  assert.equal(readdirSync(dir), ['out.gz']);
});

hashed('a failing source leaves no file, no temp file, and the previous content intact', async () => {
  const dir = join(root, 'fail');
  await mkdir(dir);
  const failing = () =>
    Readable.from(
      (async function* () {
        yield Buffer.alloc(100_000, 1);
        throw new Error('source broke');
      })(),
    );
  assert.is((await rejection(writeHashed(failing(), join(dir, 'new')), 'new')).message, 'source broke');
  assert.equal(readdirSync(dir), []);
  writeFileSync(join(dir, 'old'), 'previous');
  assert.is((await rejection(writeHashed(failing(), join(dir, 'old'), gzipStream()), 'old')).message, 'source broke');
  assert.equal(readdirSync(dir), ['old']);
  assert.is(readFileSync(join(dir, 'old'), 'utf8'), 'previous');
});

hashed('a full disk is DISK_FULL naming the path, and leaves nothing (needs root for a 1 MiB tmpfs, as the suite does)', async () => {
  const dir = join(root, 'full');
  await mkdir(dir);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir]);
  try {
    const big = Readable.from(Array.from({ length: 32 }, () => Buffer.alloc(128 * 1024, 7)));
    const e = await rejection(writeHashed(big, join(dir, 'x')), 'must not fit');
    assert.is(e.code, 'DISK_FULL');
    assert.match(e.message, `no space left on the filesystem of ${join(dir, 'x')}`);
    assert.equal(readdirSync(dir), []);
  } finally {
    execFileSync('umount', [dir]);
  }
});

hashed.run();

const extract = suite('extractSafe');
extract.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'osforge-tarstream-'));
});
extract.after(async () => {
  await rm(root, { recursive: true, force: true });
});

extract('extracts files, dirs, symlinks (absolute ones too) and hardlinks as packed', async () => {
  const dir = tmp('tree');
  const tar = await packEntries(
    [
      { path: 'usr/bin/tool', type: 'file', mode: 0o700, data: Buffer.from('#!/bin/sh\n') },
      { path: 'usr/bin/tool2', type: 'link', mode: 0o755, linkname: 'usr/bin/tool' }, // tar-fs chmods the shared inode with the link's mode
      { path: 'bin', type: 'symlink', mode: 0o777, linkname: 'usr/bin' },
      { path: 'etc/sh', type: 'symlink', mode: 0o777, linkname: '/bin/sh' },
      { path: 'var/empty', type: 'directory', mode: 0o700 },
      { path: 'e', type: 'file', mode: 0o644 },
    ],
    MTIME,
  );
  await extractSafe(Readable.from([tar]), dir);
  assert.is(readFileSync(join(dir, 'usr/bin/tool'), 'utf8'), '#!/bin/sh\n');
  assert.is(statSync(join(dir, 'usr/bin/tool')).mode & 0o777, 0o755);
  assert.is(statSync(join(dir, 'usr/bin/tool2')).ino, statSync(join(dir, 'usr/bin/tool')).ino);
  assert.is(readlinkSync(join(dir, 'bin')), 'usr/bin');
  assert.is(readlinkSync(join(dir, 'etc/sh')), '/bin/sh');
  assert.ok(lstatSync(join(dir, 'var/empty')).isDirectory());
  assert.is(statSync(join(dir, 'e')).size, 0);
  assert.is(statSync(join(dir, 'usr/bin/tool')).mtimeMs, MTIME * 1000);
});

extract('refuses traversal, absolute names, devices and writing through symlinks, touching nothing outside', async () => {
  const outside = tmp('outside');
  await mkdir(outside, { mode: 0o755 });
  writeFileSync(join(outside, 'secret'), 'keep');
  const file = (name: string) => ({ header: { name, type: 'file' as const, mode: 0o644 }, data: Buffer.from('pwned') });
  const cases: [string, RawEntry[]][] = [
    ['dotdot', [file('../x')]],
    ['dotdot inside', [file('a/../../x')]],
    ['absolute', [file('/x')]],
    ['device', [{ header: { name: 'null', type: 'character-device', mode: 0o666 } }]],
    ['fifo', [{ header: { name: 'p', type: 'fifo', mode: 0o666 } }]],
    ['file through a symlinked dir', [{ header: { name: 'evil', type: 'symlink', linkname: outside } }, file('evil/x')]],
    [
      'directory over a symlink',
      [{ header: { name: 'evil', type: 'symlink', linkname: outside } }, { header: { name: 'evil/', type: 'directory', mode: 0o777 } }],
    ],
    [
      'hardlink out',
      [{ header: { name: 'evil', type: 'symlink', linkname: join(outside, 'secret') } }, { header: { name: 'h', type: 'link', linkname: 'evil' } }],
    ],
    ['hardlink dotdot', [{ header: { name: 'h', type: 'link', linkname: '../../secret' } }]],
  ];
  for (const [name, entries] of cases) {
    const src = tmp(`${name}.tar.gz`);
    await rawLayer(src, entries);
    const dir = tmp(name);
    const err = await rejection(extractSafe(Readable.from([gunzip(readFileSync(src))]), dir), name);
    assert.is(err.code, 'ARCHIVE_UNSAFE', `${name}: ${err.message}`);
    assert.not.ok(existsSync(join(dir, 'x')), `${name}: clamped into the root instead of refused`);
    assert.equal(readdirSync(outside), ['secret'], name);
    assert.is(statSync(outside).mode & 0o777, 0o755, name);
    assert.is(readFileSync(join(outside, 'secret'), 'utf8'), 'keep', name);
  }
});

extract.run();
