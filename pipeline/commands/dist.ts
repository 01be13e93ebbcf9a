import type { Command } from './types.ts';

export const distCommand: Command = {
  name: 'dist',
  summary: 'build BuckOS for every architecture and write dist/',
  help: 'usage: osforge dist [--verbose]',
  options: { verbose: { type: 'boolean', short: 'v' } },
  async run() {
    throw new Error('dist: not wired yet');
  },
};
