// Builds a small but real release directory in a temp dir: two artifacts,
// manifest.json following pipeline/model/manifest.ts, SHA256SUMS and
// .sha256 sidecars; plus a temp git repo with conventional commits to build
// release notes from. Shared by the integration tests (not a test itself).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Manifest } from '../../../pipeline/model/manifest.ts';
import { makeManifest } from '../../unit/sign/fixture-manifest.ts';

const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');

/** Temp directories owned by one test file, removed together from its test.after. */
export class TempDirs {
  private created: string[] = [];
  make(prefix: string): string {
    const dir = mkdtempSync(join(tmpdir(), `osforge-${prefix}-`));
    this.created.push(dir);
    return dir;
  }
  /** Removes `dir` (made elsewhere) with the rest. */
  adopt(dir: string): void {
    this.created.push(dir);
  }
  removeAll(): void {
    for (const d of this.created.splice(0)) rmSync(d, { recursive: true, force: true });
  }
}

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'Test',
      GIT_AUTHOR_EMAIL: 'test@example.invalid',
      GIT_COMMITTER_NAME: 'Test',
      GIT_COMMITTER_EMAIL: 'test@example.invalid',
      GIT_CONFIG_NOSYSTEM: '1',
      HOME: cwd,
    },
  }).trim();
}

/** A git repo whose history has a tagged release and two conventional commits after it. */
export function makeRepo(repo: string): { repo: string; commit: string } {
  git(repo, 'init', '-q', '-b', 'main');
  const commit = (msg: string, date: string, file: string) => {
    writeFileSync(join(repo, file), msg + '\n');
    git(repo, 'add', file);
    execFileSync('git', ['commit', '-q', '-m', msg], {
      cwd: repo,
      env: {
        ...process.env,
        HOME: repo,
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_AUTHOR_NAME: 'Test',
        GIT_AUTHOR_EMAIL: 'test@example.invalid',
        GIT_COMMITTER_NAME: 'Test',
        GIT_COMMITTER_EMAIL: 'test@example.invalid',
        GIT_AUTHOR_DATE: date,
        GIT_COMMITTER_DATE: date,
      },
    });
  };
  commit('feat: first boot', '2023-01-02T03:04:05Z', 'a.txt');
  git(repo, 'tag', 'v0.1.0');
  commit('fix(rootfs): correct inittab', '2023-02-03T04:05:06Z', 'b.txt');
  mkdirSync(join(repo, 'images'));
  writeFileSync(join(repo, 'images', 'buckos.json'), '{"name":"buckos","version":"0.2.0"}\n');
  writeFileSync(join(repo, 'images', 'lock.json'), '{"base":{}}\n');
  git(repo, 'add', 'images');
  commit('feat(sign): signed releases', '2023-03-04T05:06:07Z', 'c.txt');
  return { repo, commit: git(repo, 'rev-parse', 'HEAD') };
}

/** Writes a consistent dist/ and returns its path and manifest. */
export function makeDist(commit: string, dir: string): { dist: string; manifest: Manifest } {
  const files: Record<string, { arch: 'amd64' | 'arm64'; kind: string; body: Buffer }> = {
    'buckos-0.2.0-amd64-rootfs.tar.gz': { arch: 'amd64', kind: 'rootfs', body: Buffer.from('amd64 rootfs bytes\n'.repeat(5000)) },
    'buckos-0.2.0-arm64-rootfs.tar.gz': { arch: 'arm64', kind: 'rootfs', body: Buffer.from('arm64 rootfs bytes\n'.repeat(300)) },
  };
  const artifacts: Manifest['artifacts'] = [];
  let sums = '';
  for (const [path, f] of Object.entries(files)) {
    writeFileSync(join(dir, path), f.body);
    const digest = sha(f.body);
    writeFileSync(join(dir, `${path}.sha256`), `${digest}  ${path}\n`);
    artifacts.push({ path, arch: f.arch, kind: f.kind, size: f.body.length, sha256: digest });
    sums += `${digest}  ${path}\n`;
  }
  writeFileSync(join(dir, 'SHA256SUMS'), sums);
  const manifest = makeManifest(commit, artifacts);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return { dist: dir, manifest };
}
