// A manifest.json value following pipeline/model/manifest.ts, with
// two arches, shared sources and a dependency; used by unit and integration tests.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Manifest } from '../../../pipeline/model/manifest.ts';
import { loadSources } from '../../../pipeline/plan/load.ts';
import { cpeTable } from '../../../pipeline/sign/cpe.ts';

/** The SBOM's CPEs as `osforge sign` reads them: the source pins' `cpe` in the repo's images/sources.json. */
export const CPES = cpeTable(loadSources(join(import.meta.dirname, '../../../images')));

const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');

export function makeManifest(commit: string, artifacts: Manifest['artifacts']): Manifest {
  const musl = {
    name: 'musl',
    version: '1.2.3',
    file: 'musl-1.2.3.tar.gz',
    sha256: sha('musl-src'),
    urls: ['https://example.invalid/musl-1.2.3.tar.gz'],
    license: 'MIT',
  };
  const zlib = {
    name: 'zlib',
    version: '1.2.13',
    file: 'zlib-1.2.13.tar.gz',
    sha256: sha('zlib-src'),
    urls: ['https://example.invalid/zlib-1.2.13.tar.gz'],
    license: 'Zlib',
  };
  const pkg = (name: string, version: string, arch: 'amd64' | 'arm64', src: typeof musl, deps: string[], license?: string) => ({
    name,
    version,
    arch,
    ...(license ? { license } : {}),
    key: sha(`${name}/${arch}`),
    deps,
    sources: [{ file: src.file, sha256: src.sha256 }],
    outputSha256: sha(`${name}-out-${arch}`),
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
      buildenv: { ref: 'osforge/buildenv:1', id: `sha256:${sha('buildenv')}`, inputHash: sha('in-buildenv') },
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
    toolsCache: { key: sha('tools-cache') },
  };
}
