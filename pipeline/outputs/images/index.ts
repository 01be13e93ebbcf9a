// Bootable images for one arch: kernel, initramfs, ISO, raw GPT disk, qcow2
// and their boot scripts, as PendingArtifacts for dist/. The .debs are the
// only network step; every assembly step runs in the imager with no network.
// Results are kept under <state>/images/<arch>/<key>/ so an unchanged rootfs,
// pin set and imager reuse them (raw images are stored sparse there).
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Engine } from '../../engine/engine.ts';
import type { Arch } from '../../plan/types.ts';
import { archInfo } from '../../plan/arch.ts';
import { keyOf, sha256 } from '../../util/hash.ts';
import { packEntries, type TarEntry } from '../../util/tar.ts';
import { openStepLog } from '../../stages/step-log.ts';
import type { PendingArtifact } from '../dist-writer.ts';
import { fetchDebs, readDeb } from './debs.ts';
import { bootFormats, imageSteps, type StepContext } from './formats.ts';
import { ensureImager, imagerStepKey, runImagerStep } from './imager.ts';
import { loadBootPins, debFileName, type BootPins } from './pins.ts';
import { cloudHypervisorScript, cloudHypervisorScriptName, qemuScript, qemuScriptName, type DiskFormat } from './boot-scripts.ts';
import { imageIds } from './ids.ts';

export interface BootArtifactOptions {
  engine: Engine;
  /** The resolved Debian base image (amd64); the imager is built FROM it and .debs are downloaded in it. */
  baseRef: string;
  arch: Arch;
  name: string;
  version: string;
  sourceDateEpoch: number;
  /** The stage2 root filesystem for `arch`. */
  rootfs: TarEntry[];
  runId: string;
  logDir: string;
  /** The verified source cache (pinned .debs are kept there); built images go to its sibling images/. */
  sourcesCacheRoot: string;
  log: (line: string) => void;
  /** Where built images are kept between runs; default: images/ next to the source cache. */
  imagesCacheRoot?: string;
}

const STEP_ORDER = ['prepare', 'iso', 'raw', 'qcow2'] as const;

export async function buildBootArtifacts(opts: BootArtifactOptions): Promise<PendingArtifact[]> {
  const { arch, name, version, engine } = opts;
  const pins = loadBootPins(arch);
  const fetchLog = openStepLog(opts.logDir, `${arch}-images-fetch`);
  const [kernelDeb, ...grubDebs] = await fetchDebs({
    engine, baseRef: opts.baseRef, pins: [pins.kernel, ...pins.grub], cacheRoot: opts.sourcesCacheRoot, runId: opts.runId, log: fetchLog,
  });
  opts.log(`${arch}: kernel ${pins.kernel.package} ${pins.kernel.version}, ${pins.grub.map((g) => `${g.package} ${g.version}`).join(', ')} verified`);
  let imager = await ensureImager(engine, opts.baseRef, opts.sourceDateEpoch, opts.log);
  const rootfsTar = await packEntries(opts.rootfs, opts.sourceDateEpoch);
  const key = keyOf(['boot-images/v1', imagerStepKey(imager), name, version, arch, String(opts.sourceDateEpoch), sha256(rootfsTar),
    JSON.stringify(pins), kernelDeb!.pin.sha256, ...grubDebs.map((d) => d.pin.sha256)]);
  const archRoot = join(opts.imagesCacheRoot ?? join(dirname(opts.sourcesCacheRoot), 'images'), arch);
  const dir = join(archRoot, key.slice(0, 32));

  const ctx: StepContext = {
    name, version, arch, pins, kernelDeb: await readDeb(kernelDeb!), rootfsTar, initScript: imager.files.init!,
    grubDebs: await Promise.all(grubDebs.map(async (d) => ({ file: d.file, data: await readDeb(d) }))), outputs: new Map(),
  };
  const formats = Object.entries(bootFormats).filter(([, f]) => f.arches.includes(arch));
  let extras: Record<string, Record<string, unknown>>;
  if (existsSync(join(dir, 'done'))) {
    opts.log(`${arch}: boot images cached (${key.slice(0, 12)})`);
    extras = JSON.parse(await readFile(join(dir, 'extras.json'), 'utf8')) as typeof extras;
  } else {
    const tmp = `${dir}.tmp-${process.pid}`;
    await rm(tmp, { recursive: true, force: true });
    for (const step of STEP_ORDER) {
      const spec = imageSteps[step]!;
      const log = openStepLog(opts.logDir, `${arch}-images-${step}`);
      const started = Date.now();
      opts.log(`${arch}: ${step} (${spec.script})`);
      // Re-check per step: an image cleanup elsewhere (docker image prune, cache gc) may have removed it.
      imager = await ensureImager(engine, opts.baseRef, opts.sourceDateEpoch, opts.log);
      const outputs = await runImagerStep({
        engine, imager, arch, runId: opts.runId, log, script: spec.script, env: spec.env(ctx), inputs: spec.inputs(ctx),
        sourceDateEpoch: opts.sourceDateEpoch, what: step,
      });
      ctx.outputs.set(step, outputs);
      await writeStepDir(join(tmp, step), outputs);
      opts.log(`${arch}: ${step} done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    extras = Object.fromEntries(formats.map(([format, f]) => [format, f.extra(ctx)]));
    await writeFile(join(tmp, 'extras.json'), JSON.stringify(extras, null, 2) + '\n');
    await writeFile(join(tmp, 'done'), key + '\n');
    await rm(dir, { recursive: true, force: true });
    await mkdir(archRoot, { recursive: true });
    await rename(tmp, dir);
    await pruneOthers(archRoot, dir);
  }

  const kernelFacts = { package: pins.kernel.package, version: pins.kernel.version, release: pins.kernel.release, deb: debFileName(pins.kernel), debSha256: pins.kernel.sha256 };
  const grubFacts = pins.grub.map((g) => ({ package: g.package, version: g.version, platform: g.platform, deb: debFileName(g), debSha256: g.sha256 }));
  const artifacts: PendingArtifact[] = [];
  for (const [format, f] of formats) {
    const [step, output] = f.from;
    artifacts.push({
      path: f.fileName(name, version, arch), arch, kind: f.kind, file: join(dir, step, output),
      extra: { ...extras[format], kernel: kernelFacts, ...(['iso', 'raw', 'qcow2'].includes(format) ? { grub: grubFacts } : {}) },
    });
  }
  for (const format of ['iso', 'raw', 'qcow2'] as DiskFormat[]) {
    const image = bootFormats[format]!.fileName(name, version, arch);
    artifacts.push({ path: qemuScriptName(arch, format), arch, kind: 'boot-script', mode: 0o755, data: Buffer.from(qemuScript(arch, format, image)), extra: { boots: image, with: 'qemu' } });
  }
  const ch = {
    kernel: bootFormats[archInfo(arch).directBootFormat]!.fileName(name, version, arch),
    initramfs: bootFormats.initramfs!.fileName(name, version, arch),
    raw: bootFormats.raw!.fileName(name, version, arch),
  };
  artifacts.push({
    path: cloudHypervisorScriptName(arch), arch, kind: 'boot-script', mode: 0o755,
    data: Buffer.from(cloudHypervisorScript(arch, ch, imageIds(name, version, arch, 'raw').imageId)), extra: { boots: ch.raw, with: 'cloud-hypervisor (direct kernel boot)' },
  });
  return artifacts;
}

async function writeStepDir(dir: string, files: Map<string, Buffer>): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [f, data] of files) await writeSparse(join(dir, f), data);
}

/** Writes only the non-zero 64 KiB chunks, so disk images stay sparse in the cache. */
export async function writeSparse(path: string, data: Buffer, chunk = 65536): Promise<void> {
  const fh = await open(path, 'w');
  try {
    await fh.truncate(data.length);
    for (let off = 0; off < data.length; off += chunk) {
      const part = data.subarray(off, Math.min(off + chunk, data.length));
      if (part.some((b) => b !== 0)) await fh.write(part, 0, part.length, off);
    }
  } finally {
    await fh.close();
  }
}

/** Keeps the newest two builds per arch (another checkout may be on the previous one). */
async function pruneOthers(archRoot: string, keep: string): Promise<void> {
  const entries = await Promise.all((await readdir(archRoot)).filter((n) => !n.includes('.tmp-')).map(async (n) => ({ p: join(archRoot, n), t: (await stat(join(archRoot, n))).mtimeMs })));
  const old = entries.filter((e) => e.p !== keep).sort((a, b) => b.t - a.t).slice(1);
  for (const e of old) await rm(e.p, { recursive: true, force: true });
}

export type { BootPins };
