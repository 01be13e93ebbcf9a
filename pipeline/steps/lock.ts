// `osforge lock`: bootstraps each Debian-based image from the mirror without
// pins and records the exact package versions it got (like `apko lock`).
// Builds then install exactly those versions, so archive drift is an input.
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import tarStream from 'tar-stream';
import type { Arch, BaseSpec } from '../plan/types.ts';
import { mmdebstrap } from './base.ts';
import { stateTempDir } from './temp.ts';

/** `package=version` for every installed package in a dpkg status file, sorted bytewise. */
export function pinsFromDpkgStatus(status: string): string[] {
  const pins: string[] = [];
  for (const stanza of status.split(/\n\n+/)) {
    const field = (name: string) => new RegExp(`^${name}: (.*)$`, 'm').exec(stanza)?.[1]?.trim();
    const pkg = field('Package');
    const version = field('Version');
    if (pkg && version && field('Status') === 'install ok installed') pins.push(`${pkg}=${version}`);
  }
  return pins.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

async function readDpkgStatus(tarPath: string): Promise<string> {
  const extract = tarStream.extract();
  let status = '';
  await new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      const wanted = header.name.replace(/^\.\//, '') === 'var/lib/dpkg/status';
      stream.on('data', (c) => {
        if (wanted) chunks.push(c as Buffer);
      });
      stream.on('end', () => {
        if (wanted) status = Buffer.concat(chunks).toString('utf8');
        next();
      });
      stream.resume();
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
    createReadStream(tarPath).on('error', reject).pipe(extract);
  });
  return status;
}

export async function lockImage(spec: BaseSpec, arch: Arch, log: (l: string) => void): Promise<string[]> {
  const work = await stateTempDir('osforge-lock');
  try {
    const out = join(work, 'rootfs.tar');
    await mmdebstrap(spec, arch, out, log, true);
    return pinsFromDpkgStatus(await readDpkgStatus(out));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
