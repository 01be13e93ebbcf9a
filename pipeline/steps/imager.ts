// The imager image (images/imager/Dockerfile, FROM the resolved base image)
// and the one way image steps run in it: a script from images/imager/scripts
// with its inputs under /in, results read back from /out, and no network.
import { createReadStream } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { readTree } from '../plan/load.ts';
import type { Engine } from '../engine/engine.ts';
import { OsforgeError } from '../errors.ts';
import { paths } from '../paths.ts';
import type { Arch } from '../plan/types.ts';
import { keyOf, sha256 } from '../util/hash.ts';
import { packEntries } from '../util/tar.ts';
import { spoolTar } from '../util/tar-files.ts';
import { packStream, type StreamEntry } from '../util/tar-stream.ts';
import type { Imager } from '../model/step-outputs.ts';
import { ARCHES, archEnv, archShellEnv } from '../model/arch.ts';
import type { StepLog } from './step-log.ts';
import { runStep } from './step.ts';

/** Every file under images/imager/, keyed by its relative path. */
export function imagerFiles(dir = join(paths.images, 'imager')): Record<string, Buffer> {
  return readTree(dir);
}

function filesKey(files: Record<string, Buffer>, only: (p: string) => boolean): string[] {
  return Object.entries(files)
    .filter(([p]) => only(p))
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([p, c]) => `${p}:${sha256(c)}`);
}

/** Builds (or reuses) the imager image; its tag is a hash of the base image and the Dockerfile. */
export async function ensureImager(engine: Engine, baseRef: string, sourceDateEpoch: number, log: (l: string) => void): Promise<Imager> {
  const files = imagerFiles();
  const base = await engine.inspectImage(baseRef);
  if (!base) {
    throw new OsforgeError('IMAGE_BUILD', `imager: base image ${baseRef} is not in the engine (removed by an image cleanup?)`, {
      stage: 'images',
      image: baseRef,
      hint: 'run make dist again: it re-creates the base image without a registry',
    });
  }
  const key = keyOf(['imager/v1', base.id, ...filesKey(files, (p) => p === 'Dockerfile')]);
  const ref = `osforge/imager:${key.slice(0, 12)}`;
  const existing = await engine.inspectImage(ref);
  if (existing) return { ref, id: existing.id, key, files };
  log(`building ${ref}`);
  const id = await engine.buildImage({
    context: await packEntries([{ path: 'Dockerfile', type: 'file', mode: 0o644, data: files.Dockerfile! }], sourceDateEpoch),
    tag: ref,
    buildArgs: { BASE: baseRef },
    labels: { 'osforge.imager.key': key },
    onLog: log,
  });
  return { ref, id, key, files };
}

/**
 * Hash of everything a step's result depends on besides its inputs: the
 * image, the scripts and the per-arch environment they read (model/arch.ts
 * archEnv, every arch's: the key does not know which arch a step is for).
 */
export function imagerStepKey(imager: Imager): string {
  return keyOf([
    'imager-steps/v1',
    imager.id,
    ...filesKey(imager.files, (p) => p !== 'Dockerfile'),
    ...ARCHES.map((a) => `arch-env:${a}:${sha256(archShellEnv(a))}`),
  ]);
}

export interface StepRun {
  engine: Engine;
  imager: Imager;
  arch: Arch;
  runId: string;
  log: StepLog;
  script: string;
  env: Record<string, string>;
  inputs: StreamEntry[];
  sourceDateEpoch: number;
  what: string;
  /** Where the step's /out files are put (a stage store entry being written). */
  outDir: string;
  /** Scratch space on the same filesystem as outDir. */
  workDir: string;
}

/** Runs images/imager/scripts/<script> with /in populated (streamed from disk); moves what it left in /out into outDir. */
export async function runImagerStep(s: StepRun): Promise<void> {
  const scripts: StreamEntry[] = Object.entries(s.imager.files)
    .filter(([p]) => p.startsWith('scripts/'))
    .map(([p, data]) => ({ path: `in/${p}`, type: 'file', mode: 0o755, data }));
  const outTar = join(s.workDir, 'out.tar');
  await runStep({
    engine: s.engine,
    image: s.imager.ref,
    cmd: ['sh', `/in/scripts/${s.script}`],
    env: { ...archEnv(s.arch), SOURCE_DATE_EPOCH: String(s.sourceDateEpoch), ...s.env },
    runId: s.runId,
    stage: `images:${s.what}`,
    arch: s.arch,
    log: s.log,
    inputs: [{ dir: '/', tar: () => packStream([...scripts, ...s.inputs.map((e) => ({ ...e, path: `in/${e.path}` }))], s.sourceDateEpoch) }],
    outputFiles: [{ path: '/out', file: outTar }],
    hint: `fix images/imager/scripts/${s.script}; it runs with no network`,
  });
  for (const e of await spoolTar(createReadStream(outTar), join(s.workDir, 'spool'), 'out')) {
    if (e.type !== 'file') continue;
    await mkdir(dirname(join(s.outDir, e.path)), { recursive: true });
    await rename((e.data as { file: string }).file, join(s.outDir, e.path));
  }
}
