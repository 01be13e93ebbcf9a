// The imager image (images/imager/Dockerfile, FROM the resolved base image)
// and the one way image steps run in it: a script from images/imager/scripts
// with its inputs under /in, results read back from /out, and no network.
import { join } from 'node:path';
import { readTree } from '../../plan/load.ts';
import type { Engine } from '../../engine/engine.ts';
import { LABEL_RUN, LABEL_STAGE } from '../../engine/docker.ts';
import { OsforgeError } from '../../errors.ts';
import { paths } from '../../paths.ts';
import type { Arch } from '../../plan/types.ts';
import { keyOf, sha256 } from '../../util/hash.ts';
import { packEntries, readEntries, type TarEntry } from '../../util/tar.ts';
import { stepFailed, type StepLog } from '../../stages/step-log.ts';

/** Every file under images/imager/, keyed by its relative path. */
export function imagerFiles(dir = join(paths.images, 'imager')): Record<string, Buffer> {
  return readTree(dir);
}

function filesKey(files: Record<string, Buffer>, only: (p: string) => boolean): string[] {
  return Object.entries(files).filter(([p]) => only(p)).sort(([a], [b]) => (a < b ? -1 : 1)).map(([p, c]) => `${p}:${sha256(c)}`);
}

export interface Imager { ref: string; id: string; key: string; files: Record<string, Buffer> }

/** Builds (or reuses) the imager image; its tag is a hash of the base image and the Dockerfile. */
export async function ensureImager(engine: Engine, baseRef: string, sourceDateEpoch: number, log: (l: string) => void): Promise<Imager> {
  const files = imagerFiles();
  const base = await engine.inspectImage(baseRef);
  if (!base) {
    throw new OsforgeError('IMAGE_BUILD', `imager: base image ${baseRef} is not in the engine (removed by an image cleanup?)`, {
      stage: 'images', image: baseRef, hint: 'run make dist again: it re-creates the base image without a registry',
    });
  }
  const key = keyOf(['imager/v1', base.id, ...filesKey(files, (p) => p === 'Dockerfile')]);
  const ref = `osforge/imager:${key.slice(0, 12)}`;
  const existing = await engine.inspectImage(ref);
  if (existing) return { ref, id: existing.id, key, files };
  log(`building ${ref}`);
  const id = await engine.buildImage({
    context: await packEntries([{ path: 'Dockerfile', type: 'file', mode: 0o644, data: files.Dockerfile! }], sourceDateEpoch),
    tag: ref, buildArgs: { BASE: baseRef }, labels: { 'osforge.imager.key': key }, onLog: log,
  });
  return { ref, id, key, files };
}

/** Hash of everything a step's result depends on besides its inputs: the image and the scripts. */
export function imagerStepKey(imager: Imager): string {
  return keyOf(['imager-steps/v1', imager.id, ...filesKey(imager.files, (p) => p !== 'Dockerfile')]);
}

export interface StepRun {
  engine: Engine; imager: Imager; arch: Arch; runId: string; log: StepLog;
  script: string; env: Record<string, string>; inputs: TarEntry[]; sourceDateEpoch: number; what: string;
}

/** Runs images/imager/scripts/<script> with /in populated; returns the files it left in /out. */
export async function runImagerStep(s: StepRun): Promise<Map<string, Buffer>> {
  const scripts: TarEntry[] = Object.entries(s.imager.files)
    .filter(([p]) => p.startsWith('scripts/'))
    .map(([p, data]) => ({ path: `in/${p}`, type: 'file', mode: 0o755, data }));
  const res = await s.engine.run({
    image: s.imager.ref, cmd: ['sh', `/in/scripts/${s.script}`], network: 'none',
    env: { ARCH: s.arch, SOURCE_DATE_EPOCH: String(s.sourceDateEpoch), ...s.env },
    labels: { [LABEL_RUN]: s.runId, [LABEL_STAGE]: `images:${s.what}`, 'osforge.arch': s.arch },
    inputs: [{ dir: '/', tar: await packEntries([...scripts, ...s.inputs.map((e) => ({ ...e, path: `in/${e.path}` }))], s.sourceDateEpoch) }],
    outputs: ['/out'], onLog: (l) => s.log.write(l),
  });
  if (res.exitCode !== 0) {
    throw stepFailed(`image step ${s.what} (${s.arch})`, s.log, {
      stage: `images:${s.what}`, arch: s.arch, exitCode: res.exitCode, hint: `fix images/imager/scripts/${s.script}; it runs with no network`,
    });
  }
  const entries = await readEntries(res.outputs.get('/out')!, 'out');
  return new Map(entries.filter((e) => e.type === 'file').map((e) => [e.path, e.data!]));
}
