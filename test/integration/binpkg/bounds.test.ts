// Reads of a binary mirror that a hostile mirror must not be able to blow up:
// package names that are JavaScript built-ins (constructor, toString,
// hasOwnProperty work like any name; __proto__ is refused clearly), an
// index.json served with Content-Encoding: gzip, an index nested too deep or
// holding millions of values (refused before JSON.parse), a FIFO or a
// symlink to /dev/zero where a mirror file belongs, and a file whose size is
// not the one the verified index states.
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { installBinary } from '../../../pipeline/binpkg/installer.ts';
import { DEFAULT_LIMITS } from '../../../pipeline/binpkg/limits.ts';
import { buildIndex, parseIndex, serializeIndex } from '../../../pipeline/binpkg/mirror-index.ts';
import { loadIndex, openMirror } from '../../../pipeline/binpkg/mirror-source.ts';
import { OsforgeError } from '../../../pipeline/errors.ts';
import { packageBytes, refusal, runCli, tempDir, writeMirror } from '../../fixtures/binpkg/helpers.ts';

const test = suite('binpkg/bounds');
let root = '';
let mirror = '';
let gzipUrl = '';
let server: Server;
const BUILTINS = ['constructor', 'toString', 'hasOwnProperty', 'valueOf'];

test.before(async () => {
  root = await tempDir('bounds');
  mirror = join(root, 'mirror');
  await writeMirror(
    mirror,
    await Promise.all([...BUILTINS, 'hello'].map(async (name) => ({ name, version: '1.0', data: await packageBytes({ [`share/${name}.txt`]: `${name}\n` }) }))),
  );
  // Serves the mirror with every file gzip-encoded, as a web server with compression on does.
  server = createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/+/, '');
    let data: Buffer;
    try {
      data = readFileSync(join(mirror, rel));
    } catch {
      res.writeHead(404).end();
      return;
    }
    const z = gzipSync(data);
    res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': z.length }).end(z);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  gzipUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
test.after(async () => {
  if (server) {
    // absent when the mirror could not be written (a built-in name crashed buildIndex before the fix)
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
  await rm(root, { recursive: true, force: true });
});

test('package names that are JavaScript built-ins build, serialise and parse like any other', async () => {
  const index = parseIndex(readFileSync(join(mirror, 'index.json'), 'utf8'), 'index.json');
  assert.equal(Object.keys(index.by_name).sort(), [...BUILTINS, 'hello'].sort());
  for (const name of BUILTINS) {
    assert.ok(Array.isArray(index.by_name[name]), name);
    assert.is(index.by_name[name]!.length, 1, name);
    assert.is(index.by_name[name]![0]!.version, '1.0');
  }
  assert.is(serializeIndex(buildIndex(index.packages)), readFileSync(join(mirror, 'index.json'), 'utf8'));
});

test('install --list and install work for a package named constructor', async () => {
  const r = await runCli(['install', 'constructor', '--list', '--mirror-url', mirror]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /constructor/);
  assert.not.match(r.stderr, /TypeError/);
  // A name the mirror lacks lists the names it has: the built-ins among them, and no crash.
  const none = await runCli(['install', 'nosuch', '--list', '--mirror-url', mirror]);
  assert.not.match(none.stderr, /TypeError|\n\s+at /);
  assert.match(none.stdout + none.stderr, /hasOwnProperty/);
  const prefix = join(root, 'prefix');
  await installBinary({
    name: 'constructor',
    version: '1.0',
    arch: 'amd64',
    mirrorUrl: mirror,
    prefix,
    cacheDir: join(root, 'cache'),
    downloadOnly: false,
    log: () => {},
  });
  assert.is(readFileSync(join(prefix, 'share/constructor.txt'), 'utf8'), 'constructor\n');
});

test('a package named __proto__ is refused clearly, and a by_name key __proto__ changes nothing', async () => {
  const entry = JSON.parse(readFileSync(join(mirror, 'index.json'), 'utf8')).packages[0];
  const err = (() => {
    try {
      parseIndex(JSON.stringify({ packages: [{ ...entry, name: '__proto__' }] }), 'm/index.json');
    } catch (e) {
      return e;
    }
    return null;
  })();
  assert.instance(err, OsforgeError);
  assert.is((err as OsforgeError).code, 'CONFIG_INVALID');
  assert.match((err as Error).message, /^invalid mirror index m\/index\.json: packages\[0\] lacks or has a malformed name/);
  // by_name is rebuilt from packages: a hostile by_name (a __proto__ key) is never trusted.
  const hostile = parseIndex(JSON.stringify({ packages: [entry], by_name: { ['__proto__']: [{ polluted: true }] } }), 'x');
  assert.equal(Object.keys(hostile.by_name), [entry.name]);
  assert.is(({} as { polluted?: boolean }).polluted, undefined);
  // buildIndex itself (used by upload) keys by_name without a prototype: even __proto__ is an own key.
  const built = buildIndex([{ ...entry, name: '__proto__' }]);
  assert.ok(Object.hasOwn(built.by_name, '__proto__'));
  assert.is(built.by_name.constructor, undefined);
});

test('an index.json served with Content-Encoding: gzip loads; the cap is on its decoded size', async () => {
  const loaded = await loadIndex(openMirror(gzipUrl));
  assert.ok(loaded);
  assert.is(loaded!.index.total, BUILTINS.length + 1);
  const r = await runCli(['install', 'hello', '--list', '--mirror-url', gzipUrl]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /hello/);
  const decoded = readFileSync(join(mirror, 'index.json')).length;
  const e = await refusal(loadIndex(openMirror(gzipUrl, { ...DEFAULT_LIMITS, maxIndexBytes: decoded - 1 })));
  assert.is(e.code, 'LIMIT_EXCEEDED');
  assert.match(e.message, /index\.json is larger than the \d+ bytes limit \(more than \d+ bytes sent\)$/);
});

test('a deeply nested or value-stuffed index is refused before JSON.parse, quickly', async () => {
  const dir = join(root, 'deep');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'index.json'), '['.repeat(1_000_000) + ']'.repeat(1_000_000));
  let t0 = Date.now();
  let e = await refusal(loadIndex(openMirror(dir)));
  assert.is(e.code, 'LIMIT_EXCEEDED');
  assert.match(e.message, /^mirror index .*deep\/index\.json nests deeper than 64 levels; refused before parsing$/);
  assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
  // 30 MB of empty objects: 1 GB of RSS if parsed; refused from a count instead.
  await writeFile(join(dir, 'index.json'), `{"packages": [${'{},'.repeat(10_000_000)}{}]}`);
  const rss0 = process.memoryUsage().rss;
  t0 = Date.now();
  e = await refusal(loadIndex(openMirror(dir)));
  assert.is(e.code, 'LIMIT_EXCEEDED');
  assert.match(e.message, /holds more than 4194304 JSON values; refused before parsing$/);
  assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
  assert.ok(process.memoryUsage().rss - rss0 < 300 * 1024 * 1024, 'the index was parsed');
});

test('a FIFO or a symlink to /dev/zero where a mirror file belongs is refused, not waited on', async () => {
  const dir = join(root, 'fifo');
  await mkdir(dir, { recursive: true });
  execFileSync('mkfifo', [join(dir, 'index.json')]);
  let e = await refusal(loadIndex(openMirror(dir)));
  assert.is(e.code, 'ARCHIVE_UNSAFE');
  assert.match(e.message, /^mirror file .*fifo\/index\.json is not a regular file/);
  await rm(join(dir, 'index.json'));
  await symlink('/dev/zero', join(dir, 'index.json'));
  e = await refusal(loadIndex(openMirror(dir)));
  assert.is(e.code, 'ARCHIVE_UNSAFE');
  assert.match(e.message, /index\.json is a symlink/);
  const r = await runCli(['install', 'hello', '--list', '--mirror-url', dir]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /^error \[ARCHIVE_UNSAFE\]: mirror file .* is a symlink/m);
  assert.not.match(r.stderr, /\n\s+at /);
});

test('exactBytes: a mirror file of another size than the verified one is refused, locally and over HTTP', async () => {
  const rel = 'index.json';
  const size = readFileSync(join(mirror, rel)).length;
  assert.is((await openMirror(mirror).get(rel, { exactBytes: size }))!.length, size);
  let e = await refusal(openMirror(mirror).get(rel, { exactBytes: size - 1 }));
  assert.is(e.code, 'LIMIT_EXCEEDED');
  e = await refusal(openMirror(mirror).getToFile(rel, join(root, 'dl-local'), { exactBytes: size + 1 }));
  assert.match(e.message, /the file is \d+ bytes, but the verified size is \d+$/);
  e = await refusal(openMirror(gzipUrl).get(rel, { exactBytes: size - 1 }));
  assert.is(e.code, 'LIMIT_EXCEEDED');
  e = await refusal(openMirror(gzipUrl).getToFile(rel, join(root, 'dl'), { exactBytes: size + 1 }));
  assert.match(e.message, /cut short after \d+ of \d+ bytes$/);
});

test.run();
