// Where osforge keeps things. The repo holds inputs, tools-cache/ and dist/;
// everything else (sources, stage outputs, logs) lives in the state dir so
// `git clean` never costs a rebuild and logs never land in dist/.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { settings } from './settings.ts';

// The compiled bin runs this module from node_modules/.cache/osforge-build/pipeline/
// (pipeline/bin/build.mjs): the checkout is three levels above that copy.
const BUILD_COPY = /[/\\]node_modules[/\\]\.cache[/\\]osforge-build[/\\]pipeline$/;
export const repoRoot = BUILD_COPY.test(import.meta.dirname) ? resolve(import.meta.dirname, '../../../..') : resolve(import.meta.dirname, '..');

export function stateDir(): string {
  const s = settings();
  if (s.stateDir) return resolve(s.stateDir);
  const xdg = s.xdgCacheHome || join(homedir(), '.cache');
  return join(xdg, 'osforge');
}

export const paths = {
  /** The plan's inputs; $OSFORGE_IMAGES points at another copy (tests, forks of the image set). */
  get images(): string {
    return resolve(settings().images || join(repoRoot, 'images'));
  },
  // `||`, not `??`: an empty variable means unset; resolve('') would be the current directory.
  toolsCache: () => resolve(settings().toolsCache || join(repoRoot, 'tools-cache')),
  dist: () => resolve(settings().dist || join(repoRoot, 'dist')),
  /** Verified upstream sources, laid out by first letter: sources/m/musl-1.2.3.tar.gz. */
  sources: () => join(stateDir(), 'sources'),
  /** Content-addressed stage outputs: stages/<key>/. */
  stages: () => join(stateDir(), 'stages'),
  logs: () => join(stateDir(), 'logs'),
  /** Scratch space of runs (never the system /tmp): the next run holding the state lock empties it. */
  tmp: () => join(stateDir(), 'tmp'),
};
