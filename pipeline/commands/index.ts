import type { Command } from './types.ts';
import { distCommand } from './dist.ts';
import { cleanToolsCacheCommand } from './clean-tools-cache.ts';
import { packageCommand } from './package.ts';
import { uploadCommand } from './upload.ts';
import { installCommand } from './install.ts';
import { uninstallCommand } from './uninstall.ts';

/** Every subcommand, in the order `osforge --help` lists them. */
export const commands: readonly Command[] = [
  distCommand,
  cleanToolsCacheCommand,
  packageCommand,
  uploadCommand,
  installCommand,
  uninstallCommand,
];
