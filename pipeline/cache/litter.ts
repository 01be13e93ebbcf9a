// Removes what killed runs left behind: temp dirs in the state dir, half
// written cache entries, dist/ temp dirs in .osforge-tmp/ (and the old
// `.dist.tmp-<pid>` ones beside dist/). Called while this run holds the
// locks on those dirs; a temp name whose process is still alive is left.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface LitterRoots {
  stateDir: string;
  /** Cache dirs whose `*.tmp-*` children are unfinished entries (stages/, sources/<letter>/). */
  caches: string[];
  toolsCache: string;
  distDir: string;
  distTmpRoot: string;
}

/** Lazily unmounts anything mounted below `dir` (a killed mmdebstrap may leave /proc or /dev of its chroot mounted). */
function unmountBelow(dir: string): void {
  let mounts: string[];
  try {
    mounts = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4] ?? '')
      .filter((m) => m.startsWith(`${dir}/`));
  } catch {
    return;
  }
  for (const m of mounts.sort((a, b) => b.length - a.length)) {
    try {
      execFileSync('umount', ['-l', m], { stdio: 'ignore' });
    } catch {
      /* removal below stays on this filesystem anyway */
    }
  }
}

/** rm -rf that never crosses into another filesystem (a leftover bind mount of the host's /dev must not be emptied). */
function removeTree(path: string): void {
  unmountBelow(path);
  execFileSync('rm', ['-rf', '--one-file-system', '--', path], { stdio: 'ignore' });
}

function children(dir: string): string[] {
  try {
    return readdirSync(dir).map((n) => join(dir, n));
  } catch {
    return [];
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Whether the process named in a temp name (`-p<pid>-` of stateTempDir,
 * `.tmp-<pid>` of the caches) is still running: then it is not litter, even
 * though this run holds the lock (a test or another tool may use the dir).
 */
function ownerAlive(name: string): boolean {
  const pid = Number((/-p(\d+)-/.exec(name) ?? /\.tmp-(\d+)/.exec(name))?.[1]);
  if (!pid || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Returns the paths removed. */
export function removeLitter(r: LitterRoots): string[] {
  const found: string[] = [];
  found.push(...children(join(r.stateDir, 'tmp')));
  const cacheDirs = r.caches.flatMap((c) => [c, ...children(c).filter(isDir)]);
  for (const dir of cacheDirs) found.push(...children(dir).filter((p) => /\.tmp-\d+/.test(basename(p))));
  found.push(...children(r.toolsCache).filter((p) => /^toolchain\.(tmp-\d+|old)$/.test(basename(p))));
  found.push(...children(r.distTmpRoot).filter((p) => !p.endsWith('.lock')));
  const name = basename(r.distDir);
  found.push(...children(dirname(r.distDir)).filter((p) => basename(p).startsWith(`.${name}.tmp-`) || basename(p).startsWith(`.${name}.old-`)));
  const removed: string[] = [];
  for (const p of [...new Set(found)]) {
    if (!existsSync(p) || ownerAlive(basename(p))) continue;
    removeTree(p);
    removed.push(p);
  }
  return removed;
}
