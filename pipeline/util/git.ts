// Build identity from git: the commit, whether the tree is dirty, and
// SOURCE_DATE_EPOCH (an explicit SOURCE_DATE_EPOCH in the environment wins).
import { execFileSync } from 'node:child_process';
import { OsforgeError } from '../errors.ts';

export interface BuildIdentity { commit: string; dirty: boolean; sourceDateEpoch: number }

function git(args: string[], cwd: string): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
}

export function buildIdentity(cwd: string, env = process.env): BuildIdentity {
  let commit = 'unknown';
  let dirty = false;
  let epoch: number | undefined;
  try {
    commit = git(['rev-parse', 'HEAD'], cwd);
    dirty = git(['status', '--porcelain', '--untracked-files=no'], cwd) !== '';
    epoch = Number(git(['log', '-1', '--format=%ct'], cwd));
  } catch {
    // Not a git checkout (e.g. a source tarball): SOURCE_DATE_EPOCH must be given.
  }
  if (env.SOURCE_DATE_EPOCH) {
    const v = Number(env.SOURCE_DATE_EPOCH);
    if (!Number.isInteger(v) || v < 0) throw new OsforgeError('USAGE', `SOURCE_DATE_EPOCH=${env.SOURCE_DATE_EPOCH} is not a non-negative integer`);
    epoch = v;
  }
  if (epoch === undefined || !Number.isFinite(epoch)) {
    throw new OsforgeError('USAGE', 'cannot determine SOURCE_DATE_EPOCH: this is not a git checkout with commits', {
      hint: 'build from a git checkout, or set SOURCE_DATE_EPOCH=<unix seconds>',
    });
  }
  return { commit, dirty, sourceDateEpoch: epoch };
}
