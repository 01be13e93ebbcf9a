// Builds a small but real release directory in a temp dir: two artifacts,
// manifest.json following pipeline/outputs/manifest-types.ts, SHA256SUMS and
// .sha256 sidecars; plus a temp git repo with conventional commits to build
// release notes from. Shared by the integration tests (not a test itself).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Manifest } from '../../../pipeline/outputs/manifest-types.ts';

const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `osforge-${prefix}-`));
}

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'Test', GIT_AUTHOR_EMAIL: 'test@example.invalid',
      GIT_COMMITTER_NAME: 'Test', GIT_COMMITTER_EMAIL: 'test@example.invalid',
      GIT_CONFIG_NOSYSTEM: '1', HOME: cwd,
    },
  }).trim();
}

/** A git repo whose history has a tagged release and two conventional commits after it. */
export function makeRepo(): { repo: string; commit: string } {
  const repo = tempDir('repo');
  git(repo, 'init', '-q', '-b', 'main');
  const commit = (msg: string, date: string, file: string) => {
    writeFileSync(join(repo, file), msg + '\n');
    git(repo, 'add', file);
    execFileSync('git', ['commit', '-q', '-m', msg], {
      cwd: repo,
      env: { ...process.env, HOME: repo, GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 'Test', GIT_AUTHOR_EMAIL: 'test@example.invalid',
        GIT_COMMITTER_NAME: 'Test', GIT_COMMITTER_EMAIL: 'test@example.invalid', GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date },
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

export function makeManifest(commit: string, artifacts: Manifest['artifacts']): Manifest {
  const musl = { name: 'musl', version: '1.2.3', file: 'musl-1.2.3.tar.gz', sha256: sha('musl-src'), urls: ['https://example.invalid/musl-1.2.3.tar.gz'], license: 'MIT' };
  const zlib = { name: 'zlib', version: '1.2.13', file: 'zlib-1.2.13.tar.gz', sha256: sha('zlib-src'), urls: ['https://example.invalid/zlib-1.2.13.tar.gz'], license: 'Zlib' };
  const pkg = (name: string, version: string, arch: 'amd64' | 'arm64', src: typeof musl, deps: string[], license?: string) => ({
    name, version, arch, ...(license ? { license } : {}), key: sha(`${name}/${arch}`), deps,
    sources: [{ file: src.file, sha256: src.sha256 }], outputSha256: sha(`${name}-out-${arch}`),
  });
  return {
    name: 'buckos',
    version: '0.2.0',
    commit,
    dirty: false,
    sourceDateEpoch: 1700000000,
    artifacts,
    images: {
      base: {
        amd64: { ref: 'osforge/base:amd64', id: `sha256:${sha('base-amd64')}`, inputHash: sha('in-base-amd64') },
        arm64: { ref: 'osforge/base:arm64', id: `sha256:${sha('base-arm64')}`, inputHash: sha('in-base-arm64') },
      },
      tools: { ref: 'osforge/tools:1', id: `sha256:${sha('tools')}`, inputHash: sha('in-tools') },
      builder: { ref: 'osforge/builder:1', id: `sha256:${sha('builder')}`, inputHash: sha('in-builder') },
    },
    buck2: { version: '2024-12-16', sha256: sha('buck2') },
    toolchains: { amd64: { triple: 'x86_64-linux-musl', libc: 'musl', libcVersion: '1.2.3', compiler: 'gcc', cflags: ['-O2'] } },
    packages: [
      pkg('zlib', '1.2.13', 'arm64', zlib, [], 'Zlib'),
      pkg('musl', '1.2.3', 'amd64', musl, [], 'MIT'),
      pkg('zlib', '1.2.13', 'amd64', zlib, ['musl'], 'Zlib'),
      pkg('musl', '1.2.3', 'arm64', musl, []),
    ],
    sources: [zlib, musl],
    toolsCache: { hit: true, key: sha('tools-cache') },
  };
}

/** Writes a consistent dist/ and returns its path and manifest. */
export function makeDist(commit: string, dir = tempDir('dist')): { dist: string; manifest: Manifest } {
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
