import type { Command } from './types.ts';
import { lockImages } from '../app/lock.ts';

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
    const file = await lockImages((line) => process.stdout.write(line + '\n'));
    process.stdout.write(`lock: wrote ${file}\n`);
  },
};
