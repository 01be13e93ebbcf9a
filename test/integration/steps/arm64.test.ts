import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { LABEL_RUN } from '../../../pipeline/engine/docker.ts';
import { engine, base, runId } from '../fixtures.ts';

const t = suite('arm64 through binfmt');
t.after(async () => {
  await engine.removeByLabel(`${LABEL_RUN}=${runId}`);
});

t('the arm64 base image carries arm64 metadata and runs under QEMU binfmt', async () => {
  const b = await base('arm64');
  const info = await engine.inspectImage(b.ref);
  assert.is(info!.architecture, 'arm64');
  const res = await engine.run({ image: b.ref, cmd: ['uname', '-m'], network: 'none', labels: { [LABEL_RUN]: runId }, platform: 'arm64' });
  assert.is(res.exitCode, 0);
  assert.equal(res.log, ['aarch64']);
});

t.run();
