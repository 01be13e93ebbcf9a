// TUF's endless-data and slow-retrieval attacks, from a real HTTP server on
// 127.0.0.1 that serves a genuine signed mirror but misbehaves on one file:
// it keeps sending past the end (endless data), or sends one byte a second
// (slow retrieval). Each read stops at the length the verified metadata
// states (or tuf-js's cap for timestamp.json), at the metadata deadline, or
// (a package) at the reader's minimum rate.
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { rm } from 'node:fs/promises';
import { join, normalize } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { installBinary, type InstallRequest } from '../../../pipeline/binpkg/installer.ts';
import { DEFAULT_LIMITS } from '../../../pipeline/binpkg/limits.ts';
import { upload } from '../../../pipeline/binpkg/publish.ts';
import { packageBytes, refusal, tempDir, writeMirror } from '../../fixtures/binpkg/helpers.ts';

const test = suite('binpkg/tuf-hostile-server');
const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
let root = '';
let mirror = '';
let server: Server;
let base = '';
/** path → how to misbehave on it. */
const hostile = new Map<string, 'endless' | 'slow'>();
const timers = new Set<NodeJS.Timeout>();

test.before(async () => {
  root = await tempDir('tuf-hostile');
  const src = join(root, 'src');
  await writeMirror(src, [{ name: 'hello', version: '1.0', data: await packageBytes({ 'bin/hello': 'hello\n' }) }], { index: false, signWith: key.privateKey });
  mirror = join(root, 'mirror');
  await upload({ source: src, mirror, useRsync: false, generateIndexOnly: false, dryRun: false, signKey: key.privateKey, log: () => {} });
  server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname).replace(/^\/+/, '');
    const how = hostile.get(path);
    if (how === 'endless') {
      // No content-length: the body just keeps coming.
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024, 0x7b);
      const pump = () => {
        while (res.write(chunk)) {
          /* until the socket pushes back */
        }
      };
      res.on('drain', pump);
      pump();
      return;
    }
    let data: Buffer;
    try {
      data = readFileSync(normalize(join(mirror, path)));
    } catch {
      res.writeHead(404).end();
      return;
    }
    if (how === 'slow') {
      res.writeHead(200, { 'content-length': data.length });
      let i = 0;
      const t = setInterval(() => {
        if (i < data.length) res.write(data.subarray(i, ++i));
        else {
          clearInterval(t);
          res.end();
        }
      }, 1000);
      timers.add(t);
      res.on('close', () => clearInterval(t));
      return;
    }
    res.writeHead(200, { 'content-length': data.length }).end(data);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});
test.after(async () => {
  for (const t of timers) clearInterval(t);
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await rm(root, { recursive: true, force: true });
});

function req(prefix: string, over: Partial<InstallRequest> = {}): InstallRequest {
  return {
    name: 'hello',
    arch: 'amd64',
    mirrorUrl: base,
    prefix: join(root, prefix),
    cacheDir: join(root, `${prefix}-cache`),
    downloadOnly: false,
    tufRoot: join(mirror, 'root.json'),
    log: () => {},
    ...over,
  };
}

const pkgPath = () => `h/${readdirSync(join(mirror, 'h')).find((f) => f.endsWith('-bin.tar.gz'))!}`;

test('control: the well-behaved server installs', async () => {
  hostile.clear();
  assert.is((await installBinary(req('ok'))).action, 'installed');
});

test('endless data: a package that keeps coming stops at the length targets.json states, in memory and into the cache', async () => {
  hostile.clear();
  hostile.set(pkgPath(), 'endless');
  const signedLength = JSON.parse(readFileSync(join(mirror, '1.targets.json'), 'utf8')).signed.targets[pkgPath()].length as number;
  const started = Date.now();
  const err = await refusal(installBinary(req('endless')));
  assert.is(err.code, 'LIMIT_EXCEEDED', err.message);
  assert.match(err.message, new RegExp(`is larger than the ${signedLength} bytes limit`));
  assert.match(String(err.context.hint), /the length targets\.json states/);
  assert.ok(Date.now() - started < 10_000, 'stopped at once');
  assert.equal(
    readdirSync(join(root)).filter((f) => f === 'endless'),
    [],
    'nothing was installed',
  );
});

test('endless data: timestamp.json (whose length nothing states) stops at the 16 KiB TUF cap', async () => {
  hostile.clear();
  hostile.set('timestamp.json', 'endless');
  const err = await refusal(installBinary(req('endless-ts')));
  assert.is(err.code, 'LIMIT_EXCEEDED', err.message);
  assert.match(err.message, /timestamp\.json is larger than the 16K limit/);
});

test('endless data: a snapshot longer than timestamp.json states is refused as not the signed one', async () => {
  hostile.clear();
  hostile.set('1.snapshot.json', 'endless');
  const err = await refusal(installBinary(req('endless-snap')));
  assert.match(err.message, /^mix-and-match: .*1\.snapshot\.json is longer than the timestamp metadata states/);
});

test('slow retrieval: one byte a second fails within the deadline', async () => {
  hostile.clear();
  hostile.set('timestamp.json', 'slow');
  const started = Date.now();
  const err = await refusal(installBinary(req('slow', { tufDeadlineMs: 3000 })));
  const took = Date.now() - started;
  assert.match(err.message, /timestamp\.json: not complete after 3s \(slow retrieval\)/);
  assert.ok(took < 8000, `took ${took} ms`);
});

test('slow retrieval: a package sent one byte a second stops at the minimum rate', async () => {
  hostile.clear();
  hostile.set(pkgPath(), 'slow');
  const started = Date.now();
  const err = await refusal(installBinary(req('slow-pkg', { limits: { ...DEFAULT_LIMITS, minRateBytesPerSec: 100, rateWindowMs: 2000 } })));
  const took = Date.now() - started;
  assert.match(err.message, /below the minimum rate/);
  assert.ok(took < 8000, `took ${took} ms`);
});

test.run();
