// Builds arm64 GRUB (one platform, cross-compiled: the quickest) from the
// pinned source twice, from clean stores, and checks the tree (an aarch64
// grub-mkimage host tool is not needed: grub-mkimage runs on amd64; arm64-efi
// modules are aarch64 ELF) and that both stored tars are bit-identical.
// Slow (minutes per build), so it runs only with OSFORGE_KERNEL_TESTS=1, like
// the kernel stage's test; OSFORGE_TEST_CPUS cores (default 1) per container.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LABEL_RUN, type Engine, type RunSpec } from '../../../pipeline/engine/engine.ts';
import { StageStore } from '../../../pipeline/cache/stage-store.ts';
import { paths } from '../../../pipeline/paths.ts';
import { grubInputs } from '../../../pipeline/graph/keys.ts';
import { resolveBase } from '../../../pipeline/steps/base.ts';
import { fetchSources, type FetchedSource } from '../../../pipeline/steps/fetch.ts';
import { buildGrub, grubKey } from '../../../pipeline/steps/grub.ts';
import { GRUB_SOURCE, GRUB_TAR } from '../../../pipeline/model/step-outputs.ts';
import { openStepLog } from '../../../pipeline/steps/step-log.ts';
import { engine, base, plan, runId } from '../fixtures.ts';

const t = suite('GRUB stage (real Docker, slow)');

if (!process.env.OSFORGE_KERNEL_TESTS) {
  console.log('GRUB stage: skipped (set OSFORGE_KERNEL_TESTS=1 to build GRUB; minutes per build)');
} else {
  const cpus = Number(process.env.OSFORGE_TEST_CPUS ?? 1);
  const limited: Engine = Object.assign(Object.create(engine) as Engine, { run: (spec: RunSpec) => engine.run({ ...spec, cpus }) });
  let work: string;
  let fetched: FetchedSource;
  let imageRef: string;
  const inputs = grubInputs(plan, 'arm64');

  t.before(async () => {
    work = await mkdtemp(join(tmpdir(), 'osforge-grub-'));
    const b = await base('amd64');
    fetched = (
      await fetchSources({
        engine: limited,
        baseRef: b.ref,
        specs: [plan.sources[GRUB_SOURCE]!],
        cacheRoot: paths.sources(),
        runId,
        log: openStepLog(join(work, 'logs'), 'fetch'),
      })
    ).get(GRUB_SOURCE)!;
    imageRef = (await resolveBase(limited, plan.kernelBuild!, 'amd64', () => undefined)).ref;
  });
  t.after(async () => {
    await engine.removeByLabel(`${LABEL_RUN}=${runId}`);
    await rm(work, { recursive: true, force: true });
  });

  const build = (store: string) =>
    buildGrub({
      ...inputs,
      engine: limited,
      store: new StageStore(join(work, store)),
      key: grubKey(inputs),
      imageRef,
      fetched,
      runId,
      logDir: join(work, 'logs'),
      jobs: Math.max(1, cpus),
    });

  t('arm64: two clean builds store the same tree; it holds grub-mkimage and aarch64 arm64-efi modules', async () => {
    const a = await build('a');
    const b = await build('b');
    assert.is(a.hit, false);
    assert.is(b.hit, false);
    assert.is(b.meta.files![GRUB_TAR], a.meta.files![GRUB_TAR], 'grub.tar differs between two clean builds');
    const tar = join(a.path, GRUB_TAR);
    const list = execFileSync('tar', ['-tvf', tar], { encoding: 'utf8' }).trim().split('\n');
    assert.ok(
      list.some((l) => /^-rwxr-xr-x 0\/0 .* bin\/grub-mkimage$/.test(l)),
      'bin/grub-mkimage, executable, owned by 0:0',
    );
    assert.ok(list.some((l) => l.endsWith('lib/grub/arm64-efi/normal.mod')));
    const x = join(work, 'x');
    execFileSync('mkdir', ['-p', x]);
    execFileSync('tar', ['-xf', tar, '-C', x, 'lib/grub/arm64-efi/normal.mod']);
    assert.match(execFileSync('file', ['-b', join(x, 'lib/grub/arm64-efi/normal.mod')], { encoding: 'utf8' }), /ELF 64-bit LSB relocatable, ARM aarch64/);
  });
}

t.run();
