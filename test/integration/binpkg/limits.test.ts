// Caps and timeouts against hostile or broken HTTP servers on 127.0.0.1: a
// gzip bomb, a 1 GiB index.json, a body cut short, a server that stalls, and
// a slow but steady one (which must succeed: the timeout is an idle timeout,
// not a total deadline). Each refusal is exact and leaves the prefix alone.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { installBinary, type InstallRequest } from '../../../pipeline/binpkg/installer.ts';
import { DEFAULT_LIMITS, type Limits } from '../../../pipeline/binpkg/limits.ts';
import { OsforgeError } from '../../../pipeline/errors.ts';
import { packageBytes, runCli, snapshot, tempDir, writeMirror } from '../../fixtures/binpkg/helpers.ts';

const test = suite('binpkg/limits');
let root = '';
let base = '';
let close: () => Promise<void>;
const MiB = 1024 * 1024;

/** Serves <root>/www/m as /m/*, and misbehaving variants of it under /trunc, /stall, /slow, /huge, /chunked. */
function handler(req: IncomingMessage, res: ServerResponse): void {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  const [, mode, ...rest] = path.split('/');
  let data: Buffer;
  try {
    data = readFileSync(join(root, 'www/m', ...rest));
  } catch {
    res.writeHead(404).end();
    return;
  }
  if (mode === 'm') {
    res.writeHead(200, { 'content-length': data.length }).end(data);
    return;
  }
  if (mode === 'trunc') {
    // promises the whole body, sends 10 bytes, hangs up
    res.writeHead(200, { 'content-length': data.length });
    res.write(data.subarray(0, 10), () => res.socket?.destroy());
    return;
  }
  if (mode === 'stall') {
    // sends 10 bytes, then nothing, forever
    res.writeHead(200, { 'content-length': data.length });
    res.write(data.subarray(0, 10));
    return;
  }
  if (mode === 'slow') {
    // the whole body in 20 pieces, 80 ms apart (1.6 s in all)
    res.writeHead(200, { 'content-length': data.length });
    const step = Math.ceil(data.length / 20);
    let i = 0;
    const t = setInterval(() => {
      res.write(data.subarray(i, i + step));
      i += step;
      if (i >= data.length) {
        clearInterval(t);
        res.end();
      }
    }, 80);
    return;
  }
  if (mode === 'huge' && rest.join('/') === 'index.json') {
    // declares 1 GiB
    res.writeHead(200, { 'content-length': 1024 * MiB });
    res.write('{"packages": [');
    return;
  }
  if (mode === 'chunked' && rest.join('/') === 'index.json') {
    // no length, 8 MiB of whitespace
    res.writeHead(200, { 'content-type': 'application/json' });
    const chunk = Buffer.alloc(MiB, 0x20);
    let sent = 0;
    const more = () => {
      while (sent < 8) {
        sent++;
        if (!res.write(chunk)) {
          res.once('drain', more);
          return;
        }
      }
      res.end();
    };
    more();
    return;
  }
  res.writeHead(200, { 'content-length': data.length }).end(data);
}

const limits = (over: Partial<Limits>): Limits => ({ ...DEFAULT_LIMITS, ...over });
const req = (mode: string, prefix: string, over: Partial<InstallRequest> = {}): InstallRequest => ({
  name: 'tool',
  version: '1.0',
  arch: 'amd64',
  mirrorUrl: `${base}/${mode}`,
  prefix,
  cacheDir: join(root, `cache-${Math.random()}`),
  downloadOnly: false,
  log: () => {},
  ...over,
});

async function refused(r: InstallRequest, code: string, re: RegExp): Promise<void> {
  const world = join(root, 'world');
  const before = snapshot(world);
  const t0 = Date.now();
  let err: unknown;
  try {
    await installBinary(r);
  } catch (e) {
    err = e;
  }
  assert.instance(err, OsforgeError, `not refused: ${String(err)}`);
  assert.is((err as OsforgeError).code, code, (err as Error).message);
  assert.match((err as Error).message, re, (err as Error).message);
  assert.not.match((err as Error).message, /\n/);
  assert.equal(snapshot(world), before, 'the prefix changed');
  assert.ok(Date.now() - t0 < 20_000, 'took too long');
}

test.before(async () => {
  root = await tempDir('limits');
  await mkdir(join(root, 'world/prefix'), { recursive: true });
  await writeFile(join(root, 'world/prefix/keep'), 'keep\n');
  // A gzip bomb: 64 MiB of zeros that compress to about 64 KiB, with a valid .sha256.
  await writeMirror(join(root, 'www/m'), [
    { name: 'tool', version: '1.0', data: await packageBytes({ 'bin/tool': 'tool\n'.repeat(2000) }) },
    { name: 'bomb', version: '1.0', data: await packageBytes({ 'share/zeros': '\0'.repeat(64 * MiB) }) },
  ]);
  const server = createServer(handler);
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  close = () =>
    new Promise((res) => {
      server.closeAllConnections();
      server.close(() => res());
    });
});
test.after(async () => {
  await close();
  await rm(root, { recursive: true, force: true });
});

const prefix = () => join(root, 'world/prefix');

test('control: the well-behaved server installs', async () => {
  const p = join(root, 'control');
  await installBinary(req('m', p));
  assert.is(readFileSync(join(p, 'bin/tool'), 'utf8'), 'tool\n'.repeat(2000));
});

test('a gzip bomb is refused at the decompression cap, before anything is written', async () => {
  const bomb = readFileSync(join(root, 'www/m/index.json'), 'utf8');
  assert.match(bomb, /"name": "bomb"/);
  await refused(
    req('m', prefix(), { name: 'bomb', limits: limits({ maxUnpackedBytes: MiB }) }),
    'LIMIT_EXCEEDED',
    /^bomb-1\.0-\w{8}-bin\.tar\.gz decompresses to more than the 1M limit \(\d+ bytes compressed\); refused as a possible gzip bomb$/,
  );
  const r = await runCli([
    'install',
    'bomb',
    '--mirror-url',
    `${base}/m`,
    '--prefix',
    prefix(),
    '--arch',
    'amd64',
    '--cache-dir',
    join(root, 'cache-cli'),
    '--max-unpacked-size',
    '1M',
  ]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /^error \[LIMIT_EXCEEDED\]: bomb-1\.0-\w{8}-bin\.tar\.gz decompresses to more than the 1M limit/m);
  assert.match(r.stderr, /fix: raise --max-unpacked-size \/ \$OSFORGE_MAX_UNPACKED_SIZE/);
  const env = await runCli(['install', 'bomb', '--mirror-url', `${base}/m`, '--prefix', prefix(), '--arch', 'amd64', '--cache-dir', join(root, 'cache-cli')], {
    env: { OSFORGE_MAX_UNPACKED_SIZE: '2M' },
  });
  assert.match(env.stderr, /more than the 2M limit/);
});

test('a 1 GiB index.json is refused from its declared length with a clear message; an endless one at the cap', async () => {
  await refused(
    req('huge', prefix()),
    'LIMIT_EXCEEDED',
    /^http:\/\/127\.0\.0\.1:\d+\/huge\/index\.json is larger than the 32M limit \(1073741824 bytes declared\)$/,
  );
  await refused(
    req('chunked', prefix(), { limits: limits({ maxIndexBytes: MiB }) }),
    'LIMIT_EXCEEDED',
    /chunked\/index\.json is larger than the 1M limit \(more than \d+ bytes sent\)/,
  );
  const r = await runCli(['install', 'tool', '--mirror-url', `${base}/huge`, '--prefix', prefix(), '--arch', 'amd64']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /fix: raise the limit with --max-index-size \/ \$OSFORGE_MAX_INDEX_SIZE/);
  assert.not.match(r.stderr, /string length|RangeError|\n\s+at /);
});

test('a local index.json over the cap is refused without reading it', async () => {
  const dir = join(root, 'bigindex');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'index.json'), Buffer.alloc(2 * MiB, 0x20));
  await refused(
    req('x', prefix(), { mirrorUrl: dir, limits: limits({ maxIndexBytes: MiB }) }),
    'LIMIT_EXCEEDED',
    /bigindex\/index\.json is larger than the 1M limit \(2097152 bytes\)/,
  );
});

test('a package over the download cap is refused', async () => {
  await refused(
    req('m', prefix(), { limits: limits({ maxDownloadBytes: 64 }) }),
    'LIMIT_EXCEEDED',
    /tool-1\.0-\w{8}-bin\.tar\.gz is larger than the 64 bytes limit \(\d+ bytes declared\)/,
  );
});

test('a body cut short is an error naming the URL and the byte counts', async () => {
  await refused(
    req('trunc', prefix()),
    'SOURCE_FETCH',
    /^downloading http:\/\/127\.0\.0\.1:\d+\/trunc\/index\.json: the body was cut short after 10 of \d+ bytes/,
  );
  const r = await runCli(['install', 'tool', '--mirror-url', `${base}/trunc`, '--prefix', prefix(), '--arch', 'amd64']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /^error \[SOURCE_FETCH\]: downloading .*: the body was cut short after 10 of/m);
  assert.not.match(r.stderr, /\n\s+at /);
});

test('a stalling server hits the idle timeout; a slow but steady one succeeds with the same timeout', async () => {
  await refused(
    req('stall', prefix(), { limits: limits({ idleTimeoutMs: 300 }) }),
    'SOURCE_FETCH',
    /^downloading http:\/\/127\.0\.0\.1:\d+\/stall\/index\.json: no data for 0\.3s \(idle timeout\)$/,
  );
  const p = join(root, 'slow');
  const t0 = Date.now();
  await installBinary(req('slow', p, { limits: limits({ idleTimeoutMs: 400 }) }));
  assert.ok(Date.now() - t0 > 1000, 'the slow server was not slow'); // well past the idle timeout in total
  assert.is(readFileSync(join(p, 'bin/tool'), 'utf8'), 'tool\n'.repeat(2000));
  const r = await runCli(['install', 'tool', '--mirror-url', `${base}/stall`, '--prefix', prefix(), '--arch', 'amd64', '--idle-timeout', '500ms']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /no data for 0\.5s \(idle timeout\)/);
});

test('file://host/ mirror URLs and bad limit values are usage errors (exit 2), not stack traces', async () => {
  const f = await runCli(['install', 'tool', '--mirror-url', 'file://otherhost/srv/m', '--prefix', prefix(), '--arch', 'amd64']);
  assert.is(f.code, 2);
  assert.match(f.stderr, /^error \[USAGE\]: unsupported mirror URL "file:\/\/otherhost\/srv\/m": .*\n\s+fix: a file:\/\/ URL must name a local path/m);
  assert.not.match(f.stderr, /\n\s+at /);
  const s = await runCli(['install', 'tool', '--mirror-url', `${base}/m`, '--prefix', prefix(), '--max-download-size', 'huge']);
  assert.is(s.code, 2);
  assert.match(s.stderr, /invalid size for --max-download-size: "huge"/);
  const h = await runCli(['install', '--help']);
  for (const flag of ['--max-download-size', '--max-index-size', '--max-unpacked-size', '--idle-timeout', 'OSFORGE_IDLE_TIMEOUT', '--no-wait'])
    assert.ok(h.stdout.includes(flag), flag);
});

test.run();
