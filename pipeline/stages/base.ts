// Resolves the Debian base image for one arch without needing a registry:
// 1. a local image with the pinned name; 2. a pull by pinned digest when a
// registry answers within a few seconds; 3. mmdebstrap from the host's
// Debian archive, loaded as a docker-archive carrying the right architecture.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OsforgeError } from '../errors.ts';
import type { Engine } from '../engine/docker.ts';
import { dockerArchive } from '../engine/docker-archive.ts';
import { keyOf, sha256File } from '../util/hash.ts';
import type { Arch, BaseSpec } from '../plan/types.ts';
import { hostDebianMirror } from './host-apt.ts';

export interface ResolvedBase { ref: string; id: string; inputHash: string; how: 'local' | 'pulled' | 'bootstrapped' }

export function baseInputHash(spec: BaseSpec, arch: Arch): string {
  return keyOf(['base/v1', spec.suite, spec.variant, spec.include.join(','), String(spec.sourceDateEpoch), arch]);
}

export function baseRef(spec: BaseSpec, arch: Arch): string {
  return `osforge/base:${spec.suite}-${arch}-${baseInputHash(spec, arch).slice(0, 12)}`;
}

export async function resolveBase(engine: Engine, spec: BaseSpec, arch: Arch, log: (l: string) => void): Promise<ResolvedBase> {
  const ref = baseRef(spec, arch);
  const inputHash = baseInputHash(spec, arch);
  const local = await engine.inspectImage(ref);
  if (local) return { ref, id: local.id, inputHash, how: 'local' };

  const pinned = spec.pull[arch];
  if (pinned) {
    log(`trying ${pinned} (5 s limit)`);
    if (await engine.pullWithin(pinned, 5000)) {
      await engine.tagImage(pinned, ref);
      const info = await engine.inspectImage(ref);
      if (info) return { ref, id: info.id, inputHash, how: 'pulled' };
    }
    log('no registry answered; bootstrapping from the Debian archive');
  }

  const mirror = hostDebianMirror(spec.suite);
  const work = await mkdtemp(join(tmpdir(), 'osforge-base-'));
  try {
    const layer = join(work, 'layer.tar');
    const args = [`--variant=${spec.variant}`, `--arch=${arch}`, ...(spec.include.length ? [`--include=${spec.include.join(',')}`] : []),
      spec.suite, layer, `deb ${mirror} ${spec.suite} main`];
    log(`mmdebstrap ${args.join(' ')}`);
    await runTool('mmdebstrap', args, { ...process.env, SOURCE_DATE_EPOCH: String(spec.sourceDateEpoch) }, log);
    const digest = await sha256File(layer);
    const { stream, imageId } = await dockerArchive(layer, digest, ref, {
      arch, createdEpoch: spec.sourceDateEpoch, cmd: ['/bin/bash'], labels: { 'osforge.base.input': inputHash },
    });
    await engine.loadImage(stream);
    return { ref, id: imageId, inputHash, how: 'bootstrapped' };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function runTool(cmd: string, args: string[], env: NodeJS.ProcessEnv, log: (l: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    const onData = (b: Buffer) => {
      for (const l of b.toString().split('\n')) if (l) { tail.push(l); if (tail.length > 40) tail.shift(); log(l); }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (err) => reject(new OsforgeError('HOST_SETUP', `cannot run ${cmd}: ${err.message}`, {
      hint: `install it: apt-get install -y ${cmd} (or run make setup)`,
    })));
    child.on('close', (code) => code === 0 ? resolve() : reject(new OsforgeError('IMAGE_BUILD', `${cmd} exited with ${code}`, {
      stage: 'base', exitCode: code ?? -1, logTail: tail,
    })));
  });
}
