// Builds the amd64 kernel from the pinned source twice, from clean stores,
// and checks the output (release, .config, a bzImage) and that both builds
// are bit-identical. Slow (minutes per build), so it runs only with
// OSFORGE_KERNEL_TESTS=1; OSFORGE_KERNEL_ARM64=1 adds one arm64 cross build.
// Every container is limited to OSFORGE_TEST_CPUS cores (default 1): the
// Docker engine may be shared with other builds.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LABEL_RUN, type Engine, type RunSpec } from '../../../pipeline/engine/engine.ts';
import { StageStore } from '../../../pipeline/cache/stage-store.ts';
import { paths } from '../../../pipeline/paths.ts';
import { resolveBase } from '../../../pipeline/steps/base.ts';
import { fetchSources, type FetchedSource } from '../../../pipeline/steps/fetch.ts';
import { buildKernel, kernelKey, loadFragments, type KernelBuild } from '../../../pipeline/steps/kernel.ts';
import { KERNEL_FILES } from '../../../pipeline/model/step-outputs.ts';
import { fragmentsFor, missingOptions, type Fragment } from '../../../pipeline/steps/kernel-config.ts';
import { openStepLog } from '../../../pipeline/steps/step-log.ts';
import { sha256File } from '../../../pipeline/util/hash.ts';
import type { Arch } from '../../../pipeline/plan/types.ts';
import { engine, base, plan, runId } from '../fixtures.ts';

const t = suite('kernel stage (real Docker, slow)');

if (!process.env.OSFORGE_KERNEL_TESTS) {
  console.log('kernel stage: skipped (set OSFORGE_KERNEL_TESTS=1 to build the kernel; minutes per arch)');
} else {
  const cpus = Number(process.env.OSFORGE_TEST_CPUS ?? 1);
  const limited: Engine = Object.assign(Object.create(engine) as Engine, { run: (spec: RunSpec) => engine.run({ ...spec, cpus }) });
  let work: string;
  let source: FetchedSource;
  let fragments: Fragment[];
  let image: KernelBuild['image'];
  const say = (l: string) => process.stdout.write(`  ${l}\n`);

  t.before(async () => {
    work = await mkdtemp(join(tmpdir(), 'osforge-kernel-'));
    const b = await base('amd64');
    const log = openStepLog(join(work, 'logs'), 'fetch');
    source = (await fetchSources({ engine: limited, baseRef: b.ref, specs: [plan.sources.linux!], cacheRoot: paths.sources(), runId, log })).get('linux')!;
    fragments = await loadFragments(join(paths.images, 'kernel', 'config'));
    const kb = await resolveBase(limited, plan.kernelBuild!, 'amd64', say);
    image = { ref: kb.ref, key: kb.inputHash, arch: 'amd64' };
  });
  t.after(async () => {
    await engine.removeByLabel(`${LABEL_RUN}=${runId}`);
    await rm(work, { recursive: true, force: true });
  });

  const build = async (arch: Arch, store: string) => {
    const started = Date.now();
    const r = await buildKernel({
      engine: limited,
      store: new StageStore(join(work, store)),
      arch,
      source,
      fragments,
      image,
      sourceDateEpoch: plan.base.sourceDateEpoch,
      runId,
      logDir: join(work, 'logs'),
      jobs: Math.max(1, cpus),
    });
    say(`${arch} kernel ${r.meta.release}: ${r.hit ? 'cache hit' : `cold build ${Math.round((Date.now() - started) / 1000)} s`} with ${cpus} core(s)`);
    return r;
  };
  const fileOf = (p: string) => execFileSync('file', ['-b', p], { encoding: 'utf8' });

  t('amd64: release, every requested option, a bzImage and a vmlinux', async () => {
    const r = await build('amd64', 'a');
    assert.is(r.hit, false);
    assert.is(r.meta.release, `${plan.sources.linux!.version}-buckos`);
    assert.is((await readFile(join(r.path, KERNEL_FILES.release), 'utf8')).trim(), r.meta.release);
    const config = await readFile(join(r.path, KERNEL_FILES.config), 'utf8');
    assert.equal(missingOptions(fragmentsFor(fragments, 'amd64'), config), []);
    assert.match(config, /^CONFIG_EFI_STUB=y$/m);
    assert.match(config, /^# CONFIG_MODULES is not set$/m);
    assert.match(fileOf(join(r.path, KERNEL_FILES.image)), /Linux kernel x86 boot executable bzImage, version 6\.12\.\d+-buckos/);
    assert.match(fileOf(join(r.path, KERNEL_FILES.vmlinux)), /^ELF 64-bit LSB executable, x86-64/);
    assert.ok((await readFile(join(r.path, KERNEL_FILES.systemMap), 'utf8')).includes(' T start_kernel'));
  });

  t('amd64: a second build from a clean store is bit-identical', async () => {
    const a = await new StageStore(join(work, 'a')).get(kernelKey({ source, fragments, arch: 'amd64', image, sourceDateEpoch: plan.base.sourceDateEpoch }));
    const b = await build('amd64', 'b');
    assert.is(b.hit, false);
    for (const f of [KERNEL_FILES.image, KERNEL_FILES.vmlinux, KERNEL_FILES.config, KERNEL_FILES.systemMap]) {
      assert.is(await sha256File(join(b.path, f)), await sha256File(join(a!.path, f)), `${f} differs between two clean builds`);
    }
    say(`bzImage sha256 ${b.meta.files![KERNEL_FILES.image]}`);
  });

  if (process.env.OSFORGE_KERNEL_ARM64) {
    t('arm64 (cross-compiled): an arm64 Image and every requested option', async () => {
      const r = await build('arm64', 'c');
      const config = await readFile(join(r.path, KERNEL_FILES.config), 'utf8');
      assert.equal(missingOptions(fragmentsFor(fragments, 'arm64'), config), []);
      assert.match(fileOf(join(r.path, KERNEL_FILES.image)), /Linux kernel ARM64 boot executable Image/);
    });
  }
}

t.run();
