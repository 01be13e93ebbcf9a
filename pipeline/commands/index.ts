import type { Command } from './types.ts';
import { distCommand } from './dist.ts';
import { cleanToolsCacheCommand } from './clean-tools-cache.ts';
import { explainCommand } from './explain.ts';
import { cacheCommand } from './cache.ts';
import { queryCommand } from './query.ts';
import { lockCommand } from './lock.ts';
import { packageCommand } from './package.ts';
import { uploadCommand } from './upload.ts';
import { installCommand } from './install.ts';
import { uninstallCommand } from './uninstall.ts';
import { keygenCommand } from './keygen.ts';
import { signCommand } from './sign.ts';
import { verifyCommand } from './verify.ts';
import { changelogCommand } from './changelog.ts';

/** Every subcommand, in the order `osforge --help` lists them. */
export const commands: readonly Command[] = [
  distCommand,
  explainCommand,
  queryCommand,
  cacheCommand,
  lockCommand,
  cleanToolsCacheCommand,
  packageCommand,
  uploadCommand,
  installCommand,
  uninstallCommand,
  keygenCommand,
  signCommand,
  verifyCommand,
  changelogCommand,
];
