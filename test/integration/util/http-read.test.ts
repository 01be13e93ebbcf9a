// util/http-read.ts against real misbehaving HTTP servers on 127.0.0.1: an
// endless body, one byte per second, a stall, a steady stream that never
// ends, a gzip-encoded body (and a gzip bomb), a reason phrase carrying an
// escape sequence, and bodies longer or shorter than the exact size asked
// for. Each refusal is a one-line OsforgeError and comes fast.
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Server } from 'node:net';
import { gzipSync } from 'node:zlib';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { OsforgeError } from '../../../pipeline/errors.ts';
import { DEFAULT_HTTP_TIMING, httpRead, type HttpReadOptions, type HttpTiming } from '../../../pipeline/util/http-read.ts';

const test = suite('util/http-read');
const KiB = 1024;
let base = '';
let rawBase = '';
let close: () => Promise<void>;
const timers = new Set<NodeJS.Timeout>();
const BODY = Buffer.from('{"packages": []}\n'.repeat(100));

function handler(req: IncomingMessage, res: ServerResponse): void {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  const every = (ms: number, fn: () => void) => {
    const t = setInterval(fn, ms);
    timers.add(t);
    res.on('close', () => {
      clearInterval(t);
      timers.delete(t);
    });
  };
  switch (path) {
    case '/ok':
      res.writeHead(200, { 'content-length': BODY.length }).end(BODY);
      return;
    case '/endless': {
      // no length, MiB after MiB for ever
      res.writeHead(200);
      const chunk = Buffer.alloc(64 * KiB, 0x20);
      const more = () => {
        while (res.write(chunk));
        res.once('drain', more);
      };
      more();
      return;
    }
    case '/byte-per-tick': // one byte every 100 ms: never idle for long, never fast
      res.writeHead(200);
      every(100, () => res.write('x'));
      return;
    case '/steady': // 8 KiB every 50 ms: fast enough, but never done
      res.writeHead(200);
      every(50, () => res.write(Buffer.alloc(8 * KiB, 0x20)));
      return;
    case '/stall':
      res.writeHead(200, { 'content-length': 100 });
      res.write('0123456789');
      return;
    case '/gzip': {
      // the body gzip-encoded: its length header counts compressed bytes
      const z = gzipSync(BODY);
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': z.length }).end(z);
      return;
    }
    case '/gzip-bomb': {
      // 64 MiB of spaces in about 64 KiB
      const z = gzipSync(Buffer.alloc(64 * 1024 * KiB, 0x20));
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': z.length }).end(z);
      return;
    }
    case '/long':
      res.writeHead(200).end(Buffer.alloc(5000, 0x61));
      return;
    default:
      res.writeHead(404).end();
  }
}

test.before(async () => {
  const server = createHttpServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  // Node's http server refuses control characters in a reason phrase; a hostile server is not so polite.
  const raw: Server = createTcpServer((s) =>
    s.once('data', () => s.end('HTTP/1.1 503 Busy \x1b]0;pwned\x07\x1b[2J now\r\ncontent-length: 0\r\nconnection: close\r\n\r\n')),
  );
  await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
  rawBase = `http://127.0.0.1:${(raw.address() as { port: number }).port}`;
  close = async () => {
    for (const t of timers) clearInterval(t);
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await new Promise((r) => raw.close(r));
  };
});
test.after(() => close());

const timing = (over: Partial<HttpTiming>): HttpTiming => ({ ...DEFAULT_HTTP_TIMING, ...over });

async function read(path: string, o: Partial<HttpReadOptions> = {}, url = `${base}${path}`): Promise<{ found: boolean; body: Buffer; ms: number }> {
  const chunks: Buffer[] = [];
  const t0 = Date.now();
  const found = await httpRead(url, { maxBytes: 1024 * KiB, limitName: '--max-test', timing: DEFAULT_HTTP_TIMING, ...o }, () => ({
    write: (c) => {
      chunks.push(Buffer.from(c));
    },
  }));
  return { found, body: Buffer.concat(chunks), ms: Date.now() - t0 };
}

async function refused(p: Promise<unknown>, code: string, re: RegExp, withinMs: number): Promise<OsforgeError> {
  const t0 = Date.now();
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  assert.instance(err, OsforgeError, `not refused: ${String(err)}`);
  const e = err as OsforgeError;
  assert.is(e.code, code, e.message);
  assert.match(e.message, re);
  assert.not.match(e.message, /\n/);
  assert.ok(Date.now() - t0 < withinMs, `took ${Date.now() - t0} ms`);
  return e;
}

test('control: a plain body is read whole; a 404 is "absent"', async () => {
  const r = await read('/ok');
  assert.ok(r.found);
  assert.ok(r.body.equals(BODY));
  assert.not.ok((await read('/missing')).found);
});

test('an endless body stops at the cap: no more than the cap is ever handed on', async () => {
  let handed = 0;
  const p = httpRead(`${base}/endless`, { maxBytes: 256 * KiB, limitName: '--max-test', timing: DEFAULT_HTTP_TIMING }, () => ({
    write: (c) => {
      handed += c.length;
    },
  }));
  await refused(p, 'LIMIT_EXCEEDED', /\/endless is larger than the 256K limit \(more than \d+ bytes sent\)$/, 5000);
  assert.ok(handed <= 256 * KiB, `${handed} bytes handed on`);
});

test('one byte per 100 ms beats the idle timeout but not the minimum rate', async () => {
  // Idle 2 s is never reached; 1 KiB/s over 500 ms windows needs 512 bytes per window and gets about 5.
  await refused(
    read('/byte-per-tick', { timing: timing({ idleTimeoutMs: 2000, minRateBytesPerSec: KiB, rateWindowMs: 500 }) }),
    'SOURCE_FETCH',
    /^downloading http:\/\/127\.0\.0\.1:\d+\/byte-per-tick: only \d bytes in 0\.5s, below the minimum rate of 1K\/s$/,
    3000,
  );
});

test('a steady stream that never ends hits the total deadline', async () => {
  await refused(
    read('/steady', { maxBytes: 1024 * 1024 * KiB, timing: timing({ idleTimeoutMs: 5000, minRateBytesPerSec: KiB, rateWindowMs: 5000, deadlineMs: 800 }) }),
    'SOURCE_FETCH',
    /\/steady: not finished after 0\.8s \(download deadline\)$/,
    3000,
  );
});

test('a stall hits the idle timeout', async () => {
  await refused(read('/stall', { timing: timing({ idleTimeoutMs: 300 }) }), 'SOURCE_FETCH', /\/stall: no data for 0\.3s \(idle timeout\)$/, 3000);
});

test('Content-Encoding: gzip is decoded, and the cap is on the decoded size', async () => {
  // The decoded body is larger than the compressed length the header declares: that is no reason to refuse it.
  const r = await read('/gzip', { maxBytes: BODY.length });
  assert.ok(r.body.equals(BODY), 'the decoded body differs');
  await refused(read('/gzip', { maxBytes: BODY.length - 1 }), 'LIMIT_EXCEEDED', /\/gzip is larger than the \d+ bytes limit/, 3000);
  await refused(read('/gzip-bomb', { maxBytes: 1024 * KiB }), 'LIMIT_EXCEEDED', /\/gzip-bomb is larger than the 1M limit \(more than \d+ bytes sent\)/, 5000);
});

test('a reason phrase with escape sequences is printed escaped', async () => {
  const e = await refused(read('', {}, `${rawBase}/x`), 'SOURCE_FETCH', /HTTP 503 Busy \\x1b\]0;pwned\\x07\\x1b\[2J now$/, 3000);
  // eslint-disable-next-line no-control-regex -- the test asserts that no control character is left
  assert.not.ok(/[\x00-\x1f\x7f]/.test(e.message), 'a control character reached the message');
});

test('exactBytes: a longer body is refused at the exact size, a shorter one is cut short', async () => {
  await refused(read('/long', { exactBytes: 4000 }), 'LIMIT_EXCEEDED', /\/long is larger than the 4000 bytes limit/, 3000);
  await refused(read('/long', { exactBytes: 6000 }), 'SOURCE_FETCH', /\/long: the body was cut short after 5000 of 6000 bytes$/, 3000);
  await refused(read('/ok', { exactBytes: BODY.length + 1 }), 'SOURCE_FETCH', /\/ok: the server declares \d+ bytes, but the verified size is \d+$/, 3000);
  assert.ok((await read('/long', { exactBytes: 5000 })).body.length === 5000);
});

test.run();
