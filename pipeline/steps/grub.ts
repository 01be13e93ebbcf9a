// The GRUB stage for one arch: GRUB from the pinned source (images/grub/
// build.sh), built in the kernel build image for the platforms the arch
// boots (x86_64-efi + i386-pc on amd64, arm64-efi on arm64; non-x86 targets
// cross-compiled, never emulated). The output is a directory entry holding
// one normalised tar (sorted, fixed owner and mtime) of bin/grub-mkimage and
// lib/grub/<platform>/: the image steps unpack it and run that grub-mkimage,
// so no Debian GRUB binary reaches an image.
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Engine } from '../engine/engine.ts';
import type { StageEntry, StageStore } from '../cache/stage-store.ts';
import { GRUB_TAR, type GrubMeta } from '../model/step-outputs.ts';
import { archInfo } from '../model/arch.ts';
import type { Arch } from '../plan/types.ts';
import { keyOf, sha256 } from '../util/hash.ts';
import { spoolTar } from '../util/tar-files.ts';
import { packStream } from '../util/tar-stream.ts';
import type { FetchedSource } from './fetch.ts';
import { runStep } from './step.ts';
import { openStepLog, stepFailed } from './step-log.ts';
import { stateTempDir } from './temp.ts';

/** GRUB's platforms for `arch`: the EFI one, and the PC BIOS one where the arch boots from a BIOS too. */
export function grubPlatforms(arch: Arch): string[] {
  const info = archInfo(arch);
  return [info.efi.grubPlatform, ...(info.biosGrubPlatform ? [info.biosGrubPlatform] : [])];
}

export interface GrubInputs {
  arch: Arch;
  source: { file: string; sha256: string; version: string };
  /** images/grub/build.sh. */
  script: Buffer;
  /** The kernel build image's input hash (it builds GRUB too). */
  imageKey: string;
  sourceDateEpoch: number;
}

export function grubKey(g: GrubInputs): string {
  return keyOf([
    'grub/v1',
    g.arch,
    `source:${g.source.file}:${g.source.sha256}`,
    `platforms:${grubPlatforms(g.arch).join(',')}`,
    `script:${sha256(g.script)}`,
    `build-image:${g.imageKey}`,
    `epoch:${g.sourceDateEpoch}`,
  ]);
}

export async function buildGrub(
  g: GrubInputs & {
    engine: Engine;
    store: StageStore;
    key: string;
    imageRef: string;
    fetched: FetchedSource;
    runId: string;
    logDir: string;
    jobs: number;
    echo?: (line: string) => void;
  },
): Promise<StageEntry<GrubMeta> & { hit: boolean }> {
  return g.store.getOrBuild<GrubMeta>(g.key, async () => {
    const platforms = grubPlatforms(g.arch);
    const log = openStepLog(g.logDir, `${g.arch}-grub`, g.echo);
    log.write(`building GRUB ${g.source.version} (${g.source.file}) for ${platforms.join(', ')}`);
    const work = await stateTempDir('osforge-grub');
    try {
      const outTar = join(work, 'out.tar');
      const started = Date.now();
      await runStep({
        engine: g.engine,
        image: g.imageRef,
        cmd: ['sh', '/grub/build.sh'],
        runId: g.runId,
        stage: 'grub',
        arch: g.arch,
        log,
        env: {
          SOURCE_FILE: g.source.file,
          PLATFORMS: platforms.join(' '),
          JOBS: String(g.jobs),
          SOURCE_DATE_EPOCH: String(g.sourceDateEpoch),
          TZ: 'UTC',
          LC_ALL: 'C',
        },
        inputs: [
          {
            dir: '/',
            tar: () =>
              packStream(
                [
                  { path: `src/${g.source.file}`, type: 'file', mode: 0o644, data: { file: g.fetched.path } },
                  { path: 'grub/build.sh', type: 'file', mode: 0o755, data: g.script },
                ],
                g.sourceDateEpoch,
              ),
          },
        ],
        outputFiles: [{ path: '/out', file: outTar }],
        hint: 'see the log for the first configure or compiler error (images/grub/build.sh)',
      });
      log.write(`GRUB ${g.arch} built in ${Math.round((Date.now() - started) / 1000)} s`);
      const entries = await spoolTar(createReadStream(outTar), join(work, 'spool'), 'out');
      const has = (p: string) => entries.some((e) => e.type === 'file' && e.path === p);
      const missing = ['bin/grub-mkimage', ...platforms.map((p) => `lib/grub/${p}/kernel.img`)].filter((p) => !has(p));
      if (missing.length) {
        throw stepFailed(`GRUB (${g.arch}): the build wrote no ${missing.join(', ')}`, log, {
          stage: 'grub',
          arch: g.arch,
          exitCode: 0,
          hint: 'images/grub/build.sh must install each platform under /out/lib/grub/<platform>',
        });
      }
      return await g.store.putDir<GrubMeta>(
        { key: g.key, kind: 'grub', arch: g.arch, version: g.source.version, platforms, source: { file: g.source.file, sha256: g.source.sha256 } },
        // Normalised: the build's own mtimes and owners never reach the store, so two builds store the same bytes.
        async (out) => pipeline(packStream(entries, g.sourceDateEpoch), createWriteStream(join(out, GRUB_TAR))),
      );
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
}
