// A small, hand-written plan for compile's snapshot test: two arches, three
// packages (one slotted, one with USE flags and a patch, one depending on
// another), a default image set and a profile. Its contents are fixed here,
// so the stage ids and keys it compiles to change only when compile or the
// key recipe does, never when images/ does.
import type { BaseSpec, Plan, SourceSpec } from '../../../pipeline/plan/types.ts';

const b = (s: string) => Buffer.from(s);
const src = (name: string, version: string, license: string): SourceSpec => ({
  name,
  version,
  file: `${name}-${version}.tar.gz`,
  sha256: name
    .padEnd(64, '0')
    .slice(0, 64)
    .replace(/[^0-9a-f]/g, 'a'),
  license,
  urls: [`https://example.invalid/${name}-${version}.tar.gz`],
});
const base = (name: string, include: string[]): BaseSpec => ({
  name,
  suite: 'bookworm',
  variant: 'minbase',
  include,
  pins: { amd64: include.map((p) => `${p}=1.0`) },
  sourceDateEpoch: 1700000000,
  pull: {},
});

export const fakePlan: Plan = {
  name: 'fakeos',
  version: '0.1',
  arches: ['amd64', 'arm64'],
  base: base('base', ['ca-certificates']),
  buildenv: base('buildenv', ['gcc', 'make']),
  kernelBuild: base('kernel-build', ['bc', 'flex']),
  sources: {
    musl: src('musl', '1.2.5', 'MIT'),
    linux: src('linux', '6.6.1', 'GPL-2.0-only'),
    grub: src('grub', '2.12', 'GPL-3.0-or-later'),
    zlib: { ...src('zlib', '1.3.1', 'Zlib'), debian: { package: 'zlib', version: '1.3.1-1', file: 'zlib_1.3.1.orig.tar.gz', sha256: 'd'.repeat(64) } },
    tool: src('tool', '2.0', 'GPL-2.0-or-later'),
  },
  toolchainSource: 'musl',
  packages: [
    { id: 'zlib', name: 'zlib', version: '1.3.1', slot: '0', license: 'Zlib', sources: ['zlib'], deps: [], files: { 'build.sh': b('make\n') }, patches: [] },
    {
      id: 'tool',
      name: 'tool',
      version: '2.0',
      slot: '0',
      license: 'GPL-2.0-or-later',
      sources: ['tool'],
      deps: ['zlib'],
      files: { 'build.sh': b('./configure\n'), 'files/etc/tool.conf': b('x=1\n') },
      use: { iuse: ['ssl', 'zlib'], enabled: ['zlib'], configure: ['--with-zlib'] },
      patches: [{ name: 'fix.patch', data: b('--- a\n+++ b\n') }],
    },
    { id: 'lib:2', name: 'lib', version: '2.1', slot: '2', license: 'MIT', sources: [], deps: [], files: { 'build.sh': b('true\n') }, patches: [] },
  ],
  imageSets: [
    { profile: null, packages: ['zlib', 'tool'] },
    { profile: 'small', packages: ['lib:2'] },
  ],
  buck2: { version: '2024-01-01', asset: 'buck2', url: 'https://example.invalid/buck2', sha256: null },
  imageFiles: {
    tools: { 'build-musl.sh': b('#!/bin/sh\n') },
    builder: { 'builder.json': b('{}\n') },
    kernelConfig: { 'base.config': b('CONFIG_X=y\n'), 'arch/amd64.config': b('CONFIG_A=y\n'), 'arch/arm64.config': b('CONFIG_B=y\n') },
    grub: { 'build.sh': b('#!/bin/sh\n') },
  },
};

/** The imager's files, as steps/imager.ts imagerFiles() reads them. */
export const fakeImagerFiles: Record<string, Buffer> = {
  Dockerfile: b('FROM scratch\n'),
  init: b('#!/bin/sh\n'),
  'scripts/iso.sh': b('#!/bin/sh\n'),
  'scripts/raw.sh': b('#!/bin/sh\n'),
};
