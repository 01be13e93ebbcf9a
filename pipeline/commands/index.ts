import type { Command } from './types.ts';
import { distCommand } from './dist.ts';
import { cleanToolsCacheCommand } from './clean-tools-cache.ts';

/** Every subcommand, in the order `osforge --help` lists them. */
export const commands: readonly Command[] = [
  distCommand,
  cleanToolsCacheCommand,
];
