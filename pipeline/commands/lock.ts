import { join } from 'node:path';
import type { Command } from './types.ts';
import { loadPlan } from '../plan/load.ts';
import { paths } from '../paths.ts';
import { lockImage } from '../steps/lock.ts';
import { writeFileAtomic } from '../util/write-atomic.ts';

export const lockCommand: Command = {
  name: 'lock',
  summary: 'refresh images/lock.json: the exact Debian package versions builds install',
  help: `usage: osforge lock

Bootstraps the base, buildenv and kernel-build images from the Debian archive the host's
apt points at (or OSFORGE_DEBIAN_MIRROR) without version pins, and writes
every installed package=version to images/lock.json. Builds then install
exactly those versions; when one is gone from the mirror the build stops and
says so. Review the diff and commit it. The plan is read from images/ (or
$OSFORGE_IMAGES), and validated before anything starts.`,
  options: {},
  async run() {
    const plan = loadPlan(paths.images);
    const images: Record<string, Record<string, string[]>> = {};
    for (const spec of [plan.base, plan.buildenv, ...(plan.kernelBuild ? [plan.kernelBuild] : [])]) {
      process.stdout.write(`lock: bootstrapping ${spec.name} (amd64) without pins...\n`);
      images[spec.name] = { amd64: await lockImage(spec, 'amd64', () => undefined) };
      process.stdout.write(`lock: ${spec.name}: ${images[spec.name]!.amd64!.length} packages\n`);
    }
    const file = join(paths.images, 'lock.json');
    const body =
      JSON.stringify(
        {
          comment: 'Exact Debian package versions for the Debian-based images (base, buildenv, kernel-build). Refresh with `osforge lock`.',
          suite: plan.base.suite,
          images,
        },
        null,
        2,
      ) + '\n';
    await writeFileAtomic(file, body);
    process.stdout.write(`lock: wrote ${file}\n`);
  },
};
