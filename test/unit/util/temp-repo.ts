// A throwaway git repository shaped like osforge's (images/, pipeline/,
// README.md, test/), for the build-input and build-identity tests. Commits
// take an explicit time so SOURCE_DATE_EPOCH is known exactly.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface TempRepo {
  root: string;
  write(path: string, content: string): void;
  git(...args: string[]): string;
  /** Commits everything at unix time `at`; returns the commit hash. */
  commit(message: string, at: number): string;
  remove(): void;
}

export const seedFiles: Record<string, string> = {
  'README.md': '# osforge\n',
  'package.json': '{"type":"module"}\n',
  'images/buckos.json': '{"name":"buckos"}\n',
  'images/packages/zlib/build.sh': 'make\n',
  'pipeline/stages/run.ts': 'export const x = 1;\n',
  'pipeline/commands/dist.ts': 'export const help = "usage: osforge dist";\n',
  'test/unit/run.test.ts': 'test();\n',
};

export function tempRepo(files: Record<string, string> = seedFiles): TempRepo {
  const root = mkdtempSync(join(tmpdir(), 'osforge-repo-'));
  // The user's git config (signing, hooks, default branch) must not reach the test.
  const run = (args: string[], env: Record<string, string> = {}) =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', ...env },
    }).trim();
  const git = (...args: string[]) => run(args);
  const write = (path: string, content: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  };
  git('init', '-q');
  for (const [p, c] of Object.entries(files)) write(p, c);
  return {
    root,
    write,
    git,
    commit(message, at) {
      git('add', '-A');
      run(['commit', '-q', '-m', message], { GIT_AUTHOR_DATE: `@${at} +0000`, GIT_COMMITTER_DATE: `@${at} +0000` });
      return git('rev-parse', 'HEAD');
    },
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** Runs `fn` on a fresh temp repo and removes it afterwards, pass or fail. */
export function withRepo(fn: (r: TempRepo) => void, files?: Record<string, string>): void {
  const r = tempRepo(files);
  try {
    fn(r);
  } finally {
    r.remove();
  }
}
