// The composition root of `osforge lock`: the plan's Debian-based images
// (base, buildenv, kernel-build) bootstrapped for amd64 without pins, and
// every installed package=version written to images/lock.json. No printing
// of its own: progress goes to `log`, the command prints it.
import { join } from 'node:path';
import { loadPlan } from '../plan/load.ts';
import { paths } from '../paths.ts';
import { lockImage } from '../steps/lock.ts';
import { writeFileAtomic } from '../util/write-atomic.ts';

/** Locks every Debian-based image of the plan in images/ and returns the lock file written. */
export async function lockImages(log: (line: string) => void): Promise<string> {
  const plan = loadPlan(paths.images);
  const images: Record<string, Record<string, string[]>> = {};
  for (const spec of [plan.base, plan.buildenv, ...(plan.kernelBuild ? [plan.kernelBuild] : [])]) {
    log(`lock: bootstrapping ${spec.name} (amd64) without pins...`);
    images[spec.name] = { amd64: await lockImage(spec, 'amd64', () => undefined) };
    log(`lock: ${spec.name}: ${images[spec.name]!.amd64!.length} packages`);
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
  return file;
}
