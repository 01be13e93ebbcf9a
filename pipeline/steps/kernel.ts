// The kernel stage for one arch: Linux from the pinned source, configured
// from the fragments in images/kernel/config/ and built in the kernel build
// image (arm64 cross-compiled, never emulated). Two steps, so a fragment
// whose request Kconfig dropped fails in seconds, before the long compile:
// 1. configure: allnoconfig + fragments (merge_config.sh -s), read back;
// 2. build, from exactly the checked .config.
// The output is a directory entry of the stage store: the boot image, vmlinux
// where the arch boots it directly, .config, System.map and the release.
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import type { Engine } from '../engine/engine.ts';
import type { StageEntry, StageStore } from '../cache/stage-store.ts';
import { KERNEL_FILES, type KernelMeta } from '../model/step-outputs.ts';
import { archInfo } from '../model/arch.ts';
import type { Arch } from '../plan/types.ts';
import { keyOf, sha256 } from '../util/hash.ts';
import { readEntries } from '../util/tar.ts';
import { spoolTar } from '../util/tar-files.ts';
import { packStream, type StreamEntry } from '../util/tar-stream.ts';
import type { FetchedSource } from './fetch.ts';
import { describeMismatches, fragmentsFor, missingOptions, type Fragment } from './kernel-config.ts';
import { runStep } from './step.ts';
import { openStepLog, stepFailed, type StepLog } from './step-log.ts';
import { stateTempDir } from './temp.ts';

export interface KernelBuild {
  engine: Engine;
  store: StageStore;
  arch: Arch;
  /** The pinned Linux source tarball. */
  source: FetchedSource;
  /** Every file under images/kernel/config/ (paths relative to it); the arch's are picked here. */
  fragments: readonly Fragment[];
  /** The kernel build image, its input hash, and its arch (any other target arch is cross-compiled). */
  image: { ref: string; key: string; arch: Arch };
  /** The stage key when the caller computed it already (the graph, from the pin). */
  key?: string;
  sourceDateEpoch: number;
  runId: string;
  logDir: string;
  jobs: number;
  echo?: (line: string) => void;
}

// Unpacked to a fixed path whatever the version, so -ffile-prefix-map and every recorded path are the same.
const UNPACK = `set -eu
mkdir -p /build/linux /out
tar -xJf "/src/$SOURCE_FILE" -C /build/linux --strip-components=1
cd /build/linux`;

const CONFIGURE_SCRIPT = `${UNPACK}
scripts/kconfig/merge_config.sh -s -n $FRAGMENTS
cp .config /out/config`;

// olddefconfig must not change the checked .config; the stage compares the one it returns.
// `times` logs the CPU time spent, which says more than wall time on a shared machine.
const BUILD_SCRIPT = `${UNPACK}
cp /config/config .config
make -s olddefconfig
make -s kernelrelease > /out/release
make -j"$JOBS" $TARGETS
cp .config /out/config
cp System.map /out/System.map
cp "$IMAGE_PATH" /out/vmlinuz
if [ "$KEEP_VMLINUX" = 1 ]; then cp vmlinux /out/vmlinux; fi
times`;

/** Every fragment under `dir` (images/kernel/config), with paths relative to it. */
export async function loadFragments(dir: string): Promise<Fragment[]> {
  const files = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile() && e.name.endsWith('.config'));
  return Promise.all(
    files.map(async (e) => {
      const path = join(e.parentPath, e.name);
      return { path: relative(dir, path), text: await readFile(path, 'utf8') };
    }),
  );
}

function selected(k: Pick<KernelBuild, 'fragments' | 'arch'>): Fragment[] {
  return fragmentsFor(k.fragments, k.arch);
}

/** The stage key: the source pin, the arch's fragments, the image spec, arch, epoch, the build image and the scripts. */
export function kernelKey(k: {
  source: { file: string; sha256: string };
  fragments: readonly Fragment[];
  arch: Arch;
  image: { key: string };
  sourceDateEpoch: number;
}): string {
  const info = archInfo(k.arch);
  return keyOf([
    'kernel/v1',
    k.arch,
    `source:${k.source.file}:${k.source.sha256}`,
    ...selected(k).map((f) => `fragment:${f.path}:${sha256(f.text)}`),
    `image-spec:${info.kernelArch}:${info.kernelImage.make}:${info.kernelImage.path}:${info.directBootFormat}`,
    `epoch:${k.sourceDateEpoch}`,
    `build-image:${k.image.key}`,
    `scripts:${sha256(CONFIGURE_SCRIPT + BUILD_SCRIPT)}`,
  ]);
}

/** Kbuild's reproducibility knobs: fixed time, user, host and build number, and no build path in the objects. */
export function kernelEnv(k: Pick<KernelBuild, 'arch' | 'image' | 'sourceDateEpoch' | 'jobs' | 'source'>): Record<string, string> {
  const info = archInfo(k.arch);
  return {
    ARCH: info.kernelArch,
    CROSS_COMPILE: k.arch === k.image.arch ? '' : `${info.gnuTriple}-`,
    SOURCE_DATE_EPOCH: String(k.sourceDateEpoch),
    KBUILD_BUILD_TIMESTAMP: `@${k.sourceDateEpoch}`,
    KBUILD_BUILD_USER: 'buckos',
    KBUILD_BUILD_HOST: 'buckos',
    KBUILD_BUILD_VERSION: '1',
    KCONFIG_NOTIMESTAMP: '1',
    KCFLAGS: '-ffile-prefix-map=/build/linux=.',
    SOURCE_FILE: k.source.file,
    JOBS: String(k.jobs),
    TZ: 'UTC',
    LC_ALL: 'C',
  };
}

export async function buildKernel(k: KernelBuild): Promise<StageEntry<KernelMeta> & { hit: boolean }> {
  const key = k.key ?? kernelKey(k);
  return k.store.getOrBuild<KernelMeta>(key, async () => {
    const info = archInfo(k.arch);
    const stage = 'kernel';
    const log = openStepLog(k.logDir, `${k.arch}-kernel`, k.echo);
    const fragments = selected(k);
    const env = kernelEnv(k);
    // Inputs extract at / (the engine extracts into an existing directory only).
    const sourceInput = {
      dir: '/',
      tar: () => packStream([{ path: `src/${k.source.file}`, type: 'file', mode: 0o644, data: { file: k.source.path } }], k.sourceDateEpoch),
    };
    const fragmentInput = {
      dir: '/',
      tar: () =>
        packStream(
          fragments.map((f): StreamEntry => ({ path: `frag/${f.path}`, type: 'file', mode: 0o644, data: Buffer.from(f.text) })),
          k.sourceDateEpoch,
        ),
    };

    log.write(`configuring Linux ${k.source.file} for ${k.arch} from ${fragments.map((f) => f.path).join(', ')}`);
    const configured = await runStep({
      engine: k.engine,
      image: k.image.ref,
      cmd: ['sh', '-c', CONFIGURE_SCRIPT],
      runId: k.runId,
      stage,
      arch: k.arch,
      log,
      env: { ...env, FRAGMENTS: fragments.map((f) => `/frag/${f.path}`).join(' ') },
      inputs: [sourceInput, fragmentInput],
      outputs: ['/out'],
      hint: 'a fragment in images/kernel/config/ is malformed or two fragments set one option differently (merge_config.sh -s)',
    });
    const config = await outFile(configured.outputs.get('/out')!, 'config');
    failIfMissing(fragments, config, 'configure', k.arch, log);

    const work = await stateTempDir('osforge-kernel');
    try {
      const outTar = join(work, 'out.tar');
      const started = Date.now();
      await runStep({
        engine: k.engine,
        image: k.image.ref,
        cmd: ['sh', '-c', BUILD_SCRIPT],
        runId: k.runId,
        stage,
        arch: k.arch,
        log,
        env: {
          ...env,
          IMAGE_PATH: info.kernelImage.path,
          KEEP_VMLINUX: info.directBootFormat === 'vmlinux' ? '1' : '0',
          TARGETS: info.directBootFormat === 'vmlinux' ? `${info.kernelImage.make} vmlinux` : info.kernelImage.make,
        },
        inputs: [sourceInput, { dir: '/', tar: () => packStream([{ path: 'config/config', type: 'file', mode: 0o644, data: config }], k.sourceDateEpoch) }],
        outputFiles: [{ path: '/out', file: outTar }],
        hint: 'see the log for the first compiler error; a fragment may enable an option this kernel version cannot build',
      });
      log.write(`kernel ${k.arch} built in ${Math.round((Date.now() - started) / 1000)} s`);
      const entries = await spoolTar(createReadStream(outTar), join(work, 'spool'), 'out');
      const files = new Map(entries.filter((e) => e.type === 'file').map((e) => [e.path, (e.data as { file: string }).file]));
      const finalConfig = await readFile(files.get(KERNEL_FILES.config)!);
      // olddefconfig in the build step saw the same Kconfig; any change means the checked config is not what was built.
      if (!finalConfig.equals(config)) failIfMissing(fragments, finalConfig, 'build', k.arch, log, 'olddefconfig changed the checked .config');
      const release = (await readFile(files.get(KERNEL_FILES.release)!, 'utf8')).trim();
      return await k.store.putDir<KernelMeta>(
        {
          // The release is <version><CONFIG_LOCALVERSION>: the version is what precedes the local suffix.
          key,
          kind: 'kernel',
          arch: k.arch,
          version: release.split('-')[0]!,
          release,
          source: { file: k.source.file, sha256: k.source.sha256 },
          fragments: fragments.map((f) => f.path),
        },
        async (out) => {
          for (const [name, file] of files) {
            await mkdir(dirname(join(out, name)), { recursive: true });
            await copyFile(file, join(out, name));
          }
        },
      );
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
}

async function outFile(tar: Buffer, name: string): Promise<Buffer> {
  const entry = (await readEntries(tar, 'out')).find((e) => e.path === name && e.type === 'file');
  if (!entry?.data) throw new Error(`the kernel step wrote no ${name}`);
  return entry.data;
}

/** Fails the stage, listing every requested option that is missing or different (and why the check ran). */
function failIfMissing(fragments: Fragment[], config: Buffer, when: string, arch: Arch, log: StepLog, why?: string): void {
  const missing = missingOptions(fragments, config.toString('utf8'));
  if (!missing.length && !why) return;
  const detail = missing.length ? describeMismatches(missing) : why!;
  for (const line of detail.split('\n')) log.write(line);
  throw stepFailed(
    `kernel (${arch}) ${when}: ${missing.length ? `${missing.length} requested option(s) did not land in .config:\n  ${detail.split('\n').join('\n  ')}` : detail}`,
    log,
    {
      stage: 'kernel',
      arch,
      exitCode: 0,
      hint: 'an option whose dependencies are off is dropped silently by Kconfig: add its dependencies to the fragment (see `make menuconfig`, "Depends on")',
    },
  );
}
