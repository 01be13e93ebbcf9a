// Build identity from git: the commit, whether the tree is dirty, and
// SOURCE_DATE_EPOCH, the committer time of the last commit that touched a
// build input (not HEAD's: a docs-only commit must not change a single
// artifact byte). An explicit SOURCE_DATE_EPOCH in the environment wins.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { OsforgeError } from '../errors.ts';
import { settings } from '../settings.ts';

export interface BuildIdentity {
  /** HEAD, which manifest.json records. */
  commit: string;
  /** The last commit that touched a build input; its committer time is the default SOURCE_DATE_EPOCH. */
  inputsCommit: string;
  /**
   * Tracked files differ from HEAD, or untracked (not ignored) build inputs
   * exist: both can reach the artifacts, so neither may pass for `commit`.
   * The epoch stays that of `inputsCommit` either way.
   */
  dirty: boolean;
  sourceDateEpoch: number;
}

function git(args: string[], cwd: string): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
}

/** Whether `commit` is where a shallow clone's history was cut: git then sees it as adding every file. */
function atShallowBoundary(cwd: string, commit: string): boolean {
  if (git(['rev-parse', '--is-shallow-repository'], cwd) !== 'true') return false;
  const file = resolve(cwd, git(['rev-parse', '--git-path', 'shallow'], cwd));
  return existsSync(file) && readFileSync(file, 'utf8').split('\n').includes(commit);
}

/** `inputs`: git pathspecs of the build inputs, relative to `cwd` (plan/build-inputs.ts). */
export function buildIdentity(cwd: string, inputs: readonly string[], env = process.env): BuildIdentity {
  let commit = 'unknown';
  let inputsCommit = 'unknown';
  let dirty = false;
  let epoch: number | undefined;
  let shallow = false;
  try {
    commit = git(['rev-parse', 'HEAD'], cwd);
    dirty =
      git(['status', '--porcelain', '--untracked-files=no'], cwd) !== '' || git(['ls-files', '--others', '--exclude-standard', '--', ...inputs], cwd) !== '';
    const [hash, time] = git(['log', '-1', '--format=%H %ct', '--', ...inputs], cwd).split(' ');
    if (hash && time) {
      inputsCommit = hash;
      epoch = Number(time);
      shallow = atShallowBoundary(cwd, hash);
    }
  } catch {
    // Not a git checkout (e.g. a source tarball): SOURCE_DATE_EPOCH must be given.
  }
  const pinnedEpoch = settings(env).sourceDateEpoch;
  if (pinnedEpoch) {
    const v = Number(pinnedEpoch);
    if (!Number.isInteger(v) || v < 0) throw new OsforgeError('USAGE', `SOURCE_DATE_EPOCH=${pinnedEpoch} is not a non-negative integer`);
    return { commit, inputsCommit, dirty, sourceDateEpoch: v };
  }
  if (shallow) {
    throw new OsforgeError(
      'USAGE',
      `cannot determine SOURCE_DATE_EPOCH: this shallow clone ends at ${inputsCommit.slice(0, 12)}, so the last commit that touched a build input is unknown`,
      {
        hint: 'fetch the history (git fetch --unshallow; in GitHub Actions, checkout with fetch-depth: 0), or set SOURCE_DATE_EPOCH=<unix seconds>',
      },
    );
  }
  if (epoch === undefined || !Number.isFinite(epoch)) {
    const why = commit === 'unknown' ? 'this is not a git checkout with commits' : `no commit touches a build input (${inputs.join(' ')})`;
    throw new OsforgeError('USAGE', `cannot determine SOURCE_DATE_EPOCH: ${why}`, {
      hint: 'build from a git checkout, or set SOURCE_DATE_EPOCH=<unix seconds>',
    });
  }
  return { commit, inputsCommit, dirty, sourceDateEpoch: epoch };
}
