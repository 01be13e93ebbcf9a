// Resolves a Debian-based image (the base, or the builder's buildenv root)
// for one arch without needing a registry:
// 1. a local image with the pinned name; 2. a pull by pinned digest when a
// registry answers within a few seconds; 3. mmdebstrap from the host's
// Debian archive (package versions from images/lock.json when locked),
// loaded as a docker-archive carrying the right architecture. mmdebstrap
// with a fixed SOURCE_DATE_EPOCH is reproducible, so the image ID is too.
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { OsforgeError } from '../errors.ts';
import { diskFullError } from '../util/durable.ts';
import type { Engine } from '../engine/engine.ts';
import { dockerArchive } from '../engine/docker-archive.ts';
import { withoutSigningSecrets } from '../engine/secrets.ts';
import { keyOf, sha256File } from '../util/hash.ts';
import type { Arch, BaseSpec } from '../plan/types.ts';
import { hostDebianMirror } from './host-apt.ts';
import { stateTempDir } from './temp.ts';
import { runHost } from '../host/run.ts';

export interface ResolvedBase {
  ref: string;
  id: string;
  inputHash: string;
  how: 'local' | 'pulled' | 'bootstrapped';
  /** The image's single layer tar, when a layer dir was given. */
  layer?: { path: string; digest: string };
}

/** The packages to bootstrap: the lock's exact pins when present, else the plain include list. */
export function includeFor(spec: BaseSpec, arch: Arch): string[] {
  return spec.pins[arch] ?? spec.include;
}

export function baseInputHash(spec: BaseSpec, arch: Arch): string {
  // v3: apt runs unsandboxed as root (see mmdebstrap()), which changes the owner of apt's partial/ dirs.
  return keyOf(['rootfs/v3', spec.name, spec.suite, spec.variant, includeFor(spec, arch).join(','), String(spec.sourceDateEpoch), arch]);
}

export function baseRef(spec: BaseSpec, arch: Arch): string {
  return `osforge/${spec.name}:${spec.suite}-${arch}-${baseInputHash(spec, arch).slice(0, 12)}`;
}

export async function resolveBase(
  engine: Engine,
  spec: BaseSpec,
  arch: Arch,
  log: (l: string) => void,
  opts: { layerDir?: string } = {},
): Promise<ResolvedBase> {
  const ref = baseRef(spec, arch);
  const inputHash = baseInputHash(spec, arch);
  const layerPath = opts.layerDir ? join(opts.layerDir, `${inputHash}.tar`) : undefined;
  const local = await engine.inspectImage(ref);
  if (local && (!layerPath || existsSync(layerPath))) {
    return { ref, id: local.id, inputHash, how: 'local', ...(layerPath ? { layer: { path: layerPath, digest: local.layers[0]! } } : {}) };
  }

  const pinned = spec.pull[arch];
  if (pinned && !layerPath) {
    log(`trying ${pinned} (5 s limit)`);
    if (await engine.pullWithin(pinned, 5000)) {
      await engine.tagImage(pinned, ref);
      const info = await engine.inspectImage(ref);
      if (info) return { ref, id: info.id, inputHash, how: 'pulled' };
    }
    log('no registry answered; bootstrapping from the Debian archive');
  }

  const work = await stateTempDir('osforge-base');
  try {
    const layer = join(work, 'layer.tar');
    await mmdebstrap(spec, arch, layer, log, false, work).catch((err: unknown) => {
      // mmdebstrap (and apt inside it) report a full disk only in their log: name the filesystem.
      if ((err as OsforgeError).context?.logTail?.some((l) => /No space left on device|enough free space/.test(l))) {
        throw diskFullError(Object.assign(new Error('No space left on device'), { code: 'ENOSPC' }), work);
      }
      throw err;
    });
    const digest = await sha256File(layer);
    if (local && local.layers[0] !== digest) {
      log(`warning: re-bootstrapped ${ref} differs from the local image (${local.layers[0]?.slice(0, 12)} vs ${digest.slice(0, 12)})`);
    }
    const { stream, imageId } = await dockerArchive([{ path: layer, digest }], ref, {
      arch,
      createdEpoch: spec.sourceDateEpoch,
      cmd: ['/bin/bash'],
      labels: { 'osforge.rootfs.input': inputHash },
    });
    await engine.loadImage(stream);
    let kept: ResolvedBase['layer'];
    if (layerPath) {
      await mkdir(opts.layerDir!, { recursive: true });
      await rename(layer, layerPath).catch(async () => {
        const { copyFile } = await import('node:fs/promises');
        await copyFile(layer, layerPath);
      });
      kept = { path: layerPath, digest };
    }
    return { ref, id: imageId, inputHash, how: 'bootstrapped', ...(kept ? { layer: kept } : {}) };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Runs mmdebstrap for `spec` into `out`; a locked version gone from the mirror is a clear error. */
export async function mmdebstrap(spec: BaseSpec, arch: Arch, out: string, log: (l: string) => void, unpinned = false, tmp?: string): Promise<void> {
  const mirror = hostDebianMirror(spec.suite);
  const include = unpinned ? spec.include : includeFor(spec, arch);
  // apt drops to its _apt user only where _apt can reach the chroot; that
  // depends on the permissions of the state dir's parents (0700 under /root
  // or mktemp), and it shows in the image as the owner of apt's partial/
  // dirs. Always running apt as root makes the image independent of where
  // the state dir lives.
  const args = [
    '--aptopt=APT::Sandbox::User "root"',
    `--variant=${spec.variant}`,
    `--arch=${arch}`,
    ...(include.length ? [`--include=${include.join(',')}`] : []),
    spec.suite,
    out,
    `deb ${mirror} ${spec.suite} main`,
  ];
  log(`mmdebstrap --variant=${spec.variant} --arch=${arch} (${include.length} packages${unpinned ? '' : spec.pins[arch] ? ', locked' : ''}) ${spec.suite}`);
  try {
    // TMPDIR: mmdebstrap's own chroot dir must be litter the next run can find.
    await runHost('mmdebstrap', args, {
      env: { ...withoutSigningSecrets(process.env), SOURCE_DATE_EPOCH: String(spec.sourceDateEpoch), LC_ALL: 'C.UTF-8', ...(tmp ? { TMPDIR: tmp } : {}) },
      log,
      failure: {
        code: 'IMAGE_BUILD',
        stage: 'base',
        hint: (tail) => (tail.some((l) => /arch-test/.test(l)) ? 'install arch-test (apt-get install -y arch-test, or run make setup)' : undefined),
      },
    });
  } catch (err) {
    const tail = (err as OsforgeError).context?.logTail ?? [];
    const gone = tail
      .map((l) => /Version '([^']+)' for '([^']+)' was not found/.exec(l))
      .filter(Boolean)
      .map((m) => `${m![2]}=${m![1]}`);
    if (gone.length) {
      throw new OsforgeError(
        'CONFIG_INVALID',
        `locked package version(s) no longer on the mirror ${mirror}: ${gone.join(', ')}`,
        {
          stage: spec.name,
          arch,
          hint: 'run `osforge lock` to refresh images/lock.json from the mirror, review the diff, and commit it',
        },
        { cause: err },
      );
    }
    throw err;
  }
}
