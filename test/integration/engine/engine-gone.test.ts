// An engine that goes away mid-run: a fake engine on a unix socket answers
// pings and holds an event stream open, then dies with calls pending. Every
// pending call must reject with ENGINE_UNAVAILABLE within seconds, instead
// of never settling (which let Node exit 0 with nothing done).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server, type Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { DockerEngine } from '../../../pipeline/engine/docker.ts';

const t = suite('engine goes away');
let dir: string;
t.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'osforge-fake-engine-'));
});
t.after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A fake engine: /_ping answers, /events streams forever, everything else never answers. */
function fakeEngine(socketPath: string): Promise<{ server: Server; die: () => void; hang: () => void }> {
  const sockets = new Set<Socket>();
  let hung = false;
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('data', (b) => {
      const path = /^[A-Z]+ (\S+)/.exec(b.toString())?.[1] ?? '';
      if (hung) return;
      if (path.includes('/_ping')) s.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nOK');
      else if (path.includes('/events')) s.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
      // anything else: hang, like a dockerd that died mid-request
    });
  });
  return new Promise((resolve) =>
    server.listen(socketPath, () =>
      resolve({
        server,
        die: () => {
          server.close();
          for (const s of sockets) s.destroy();
        },
        hang: () => {
          hung = true;
        },
      }),
    ),
  );
}

t('pending calls reject with ENGINE_UNAVAILABLE within seconds once the engine dies', async () => {
  const socketPath = join(dir, 'docker.sock');
  const fake = await fakeEngine(socketPath);
  const engine = new DockerEngine(new Docker({ socketPath }));
  await engine.ping();
  engine.watch();
  const started = Date.now();
  const pending = engine.inspectImage('osforge/never:answers');
  const pendingRun = engine.run({
    image: 'osforge/never:answers',
    cmd: ['true'],
    network: 'none',
    labels: { 'osforge.run': 'gone', 'osforge.stage': 'stage2:busybox', 'osforge.arch': 'arm64' },
  });
  await new Promise((r) => setTimeout(r, 500));
  fake.die();
  for (const p of [pending, pendingRun]) {
    await (p as Promise<unknown>).then(
      () => assert.unreachable('must not succeed'),
      (err: Error & { code: string }) => {
        assert.is(err.code, 'ENGINE_UNAVAILABLE');
        assert.match(err.message, new RegExp(`Docker engine at .* went away while`));
      },
    );
  }
  await pendingRun.catch((err: Error) => assert.match(err.message, /while running stage2:busybox \(arm64\)/));
  assert.ok(Date.now() - started < 10_000, `settled in ${Date.now() - started} ms`);
  engine.unwatch();
});

t('a hung engine (no answer to pings) also fails the pending calls', async () => {
  const socketPath = join(dir, 'hung.sock');
  const fake = await fakeEngine(socketPath);
  const engine = new DockerEngine(new Docker({ socketPath }));
  engine.watch();
  const pending = engine.inspectImage('osforge/never:answers');
  // Stop answering pings but keep the connections: the ping timeout must notice.
  fake.hang();
  const started = Date.now();
  await pending.then(
    () => assert.unreachable(),
    (err: Error & { code: string }) => assert.is(err.code, 'ENGINE_UNAVAILABLE'),
  );
  assert.ok(Date.now() - started < 15_000);
  engine.unwatch();
  fake.die();
});

t.run();
