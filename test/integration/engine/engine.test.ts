import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import Docker from 'dockerode';
import { DockerEngine, LABEL_RUN } from '../../../pipeline/engine/docker.ts';
import { engine, base, runId } from '../fixtures.ts';
import { packEntries } from '../../../pipeline/util/tar.ts';
import { connectEngine } from '../../../pipeline/engine/connect.ts';

const t = suite('engine (real Docker)');

t.after(async () => {
  await engine.removeByLabel(`${LABEL_RUN}=${runId}`);
});

t('runs a command, copies files in and out, and removes the container', async () => {
  const { ref } = await base('amd64');
  const input = await packEntries([{ path: 'in/hello.txt', type: 'file', mode: 0o644, data: Buffer.from('hi\n') }], 0);
  const res = await engine.run({
    image: ref,
    cmd: ['sh', '-c', 'mkdir -p /out && tr a-z A-Z < /in/hello.txt > /out/up.txt && echo done'],
    network: 'none',
    labels: { [LABEL_RUN]: runId },
    inputs: [{ dir: '/', tar: input }],
    outputs: ['/out'],
  });
  assert.is(res.exitCode, 0);
  assert.ok(res.log.includes('done'));
  assert.ok(res.outputs.get('/out')!.includes(Buffer.from('HI\n')));
  const left = await engine.docker.listContainers({ all: true, filters: { label: [`${LABEL_RUN}=${runId}`] } });
  assert.is(left.length, 0);
});

t('a prepared step is running but holds its command until go(); late inputs are in by then; discard removes it', async () => {
  const { ref } = await base('amd64');
  const early = await packEntries([{ path: 'in/early.txt', type: 'file', mode: 0o644, data: Buffer.from('early\n') }], 0);
  const late = await packEntries([{ path: 'late.txt', type: 'file', mode: 0o644, data: Buffer.from('late\n') }], 0);
  const label = `${runId}-prepared`;
  const spec = {
    image: ref,
    cmd: ['sh', '-c', 'echo started; cat /in/early.txt /in/late.txt'],
    network: 'none' as const,
    labels: { [LABEL_RUN]: label },
    inputs: [{ dir: '/', tar: early }],
  };
  const held = await engine.prepare(spec);
  const running = await engine.docker.listContainers({ filters: { label: [`${LABEL_RUN}=${label}`] } });
  assert.is(running.length, 1, 'the held container is already running');
  await new Promise((r) => setTimeout(r, 500));
  let started = false;
  const res = await held.go([{ dir: '/in', tar: late }], () => {
    started = true;
  });
  assert.ok(started);
  assert.is(res.exitCode, 0);
  assert.equal(res.log, ['started', 'early', 'late'], 'nothing ran before go(), and the late input was there');
  const other = await engine.prepare(spec);
  await other.discard();
  assert.is((await engine.docker.listContainers({ all: true, filters: { label: [`${LABEL_RUN}=${label}`] } })).length, 0);
});

t('reports the exit code of a failing command', async () => {
  const { ref } = await base('amd64');
  const res = await engine.run({ image: ref, cmd: ['sh', '-c', 'echo oops; exit 7'], network: 'none', labels: { [LABEL_RUN]: runId } });
  assert.is(res.exitCode, 7);
  assert.equal(res.log, ['oops']);
});

t('an errorDetail line in a build is a failure with the message', async () => {
  const { ref } = await base('amd64');
  const context = await packEntries([{ path: 'Dockerfile', type: 'file', mode: 0o644, data: Buffer.from(`FROM ${ref}\nRUN echo building && exit 3\n`) }], 0);
  await engine.buildImage({ context, tag: `osforge/test-fail:${process.pid}` }).then(
    () => assert.unreachable('build should fail'),
    (err: Error) => {
      assert.match(err.message, /returned a non-zero code: 3/);
    },
  );
});

t('a missing engine is reported with the fix', async () => {
  const dead = new DockerEngine(new Docker({ socketPath: '/nonexistent/docker.sock' }));
  await dead.ping().then(
    () => assert.unreachable(),
    (err: Error & { context: { hint?: string } }) => {
      assert.match(err.message, /no Docker engine answers/);
      assert.match(err.context.hint ?? '', /make setup|DOCKER_HOST/);
    },
  );
});

t('removeByLabel removes leftovers (as after Ctrl-C)', async () => {
  const { ref } = await base('amd64');
  const label = `${LABEL_RUN}=${runId}-leftover`;
  await engine.docker.createContainer({ Image: ref, Cmd: ['true'], Labels: { [LABEL_RUN]: `${runId}-leftover` } });
  assert.is(await engine.removeByLabel(label), 1);
  assert.is((await engine.docker.listContainers({ all: true, filters: { label: [label] } })).length, 0);
});

t('after shutdown (Ctrl-C) no new container is started and the run containers are gone', async () => {
  const { ref } = await base('amd64');
  const local = connectEngine();
  const label = `${runId}-shutdown`;
  await local.docker.createContainer({ Image: ref, Cmd: ['true'], Labels: { [LABEL_RUN]: label } });
  assert.is(await local.shutdown(`${LABEL_RUN}=${label}`), 1);
  await local.run({ image: ref, cmd: ['true'], network: 'none', labels: { [LABEL_RUN]: label } }).then(
    () => assert.unreachable('run after shutdown must fail'),
    (err: Error) => assert.match(err.message, /interrupted/),
  );
  assert.is((await engine.docker.listContainers({ all: true, filters: { label: [`${LABEL_RUN}=${label}`] } })).length, 0);
});

t.run();
