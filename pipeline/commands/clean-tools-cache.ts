import { rm } from 'node:fs/promises';
import { paths } from '../paths.ts';
import type { Command } from './types.ts';

export const cleanToolsCacheCommand: Command = {
  name: 'clean-tools-cache',
  summary: 'delete tools-cache/ so the next dist compiles the toolchain again',
  help: 'usage: osforge clean-tools-cache\n\nDeletes tools-cache/ (or $OSFORGE_TOOLS_CACHE). The next `osforge dist` rebuilds the tools image from source.',
  options: {},
  async run() {
    const dir = paths.toolsCache();
    await rm(dir, { recursive: true, force: true });
    process.stdout.write(`removed ${dir}\n`);
  },
};
