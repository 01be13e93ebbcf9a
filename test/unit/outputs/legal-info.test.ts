// oss_source.tgz's legal-info layout from a small plan with real tarballs
// (.tar.gz, .tar.xz through the host's xz, .tar.bz2), incl. Linux and GRUB.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { legalComponents, legalInfoArchive, legalInfoInputs, legalSources, sourceSite, type ShippedSource } from '../../../pipeline/outputs/legal-info.ts';
import { isLicensePath, licenseTexts } from '../../../pipeline/util/license-files.ts';
import type { Plan, SourceSpec } from '../../../pipeline/plan/types.ts';
import { gunzip, readEntries } from '../../../pipeline/util/tar.ts';
import { sha256 } from '../../../pipeline/util/hash.ts';

const root = mkdtempSync(join(tmpdir(), 'osforge-legal-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

/** A tarball `<file>` of `<top>/` holding `files`, compressed by tar's -z, -J (xz) or -j (bzip2). */
function tarball(file: string, top: string, files: Record<string, string>): ShippedSource & { spec: SourceSpec } {
  const dir = join(root, 'src', file);
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(dir, top, p, '..'), { recursive: true });
    writeFileSync(join(dir, top, p), text);
  }
  const flag = file.endsWith('.xz') ? '-J' : file.endsWith('.bz2') ? '-j' : '-z';
  const path = join(root, file);
  execFileSync('tar', ['-c', flag, '-f', path, '-C', dir, top]);
  const sum = sha256(readFileSync(path));
  const name = top.replace(/-[0-9.]+$/, '');
  const version = top.slice(name.length + 1);
  return { name, file, sha256: sum, path, spec: { name, version, file, sha256: sum, license: 'MIT', urls: [`https://example.invalid/pub/${file}`] } };
}

const musl = tarball('musl-1.2.3.tar.gz', 'musl-1.2.3', { COPYRIGHT: 'musl licence\n', 'src/a.c': 'int a;\n' });
const zlib = tarball('zlib-1.3.1.tar.bz2', 'zlib-1.3.1', { LICENSE: 'zlib licence\n', 'zlib.h': '/* */\n', 'contrib/LICENSE.txt': 'not top-level\n' });
const linux = tarball('linux_6.12.107.orig.tar.xz', 'linux-6.12.107', {
  COPYING: 'GPL-2.0 WITH Linux-syscall-note\n',
  'LICENSES/preferred/GPL-2.0': 'GPL text\n',
  'LICENSES/exceptions/Linux-syscall-note': 'note\n',
  'kernel/fork.c': 'int fork;\n',
  Makefile: 'all:\n',
});
const grub = tarball('grub-2.12.tar.xz', 'grub-2.12', { COPYING: 'GPLv3\n', 'grub-core/kern/main.c': 'int main;\n' });

// Linux comes from Debian's archive only: no URL, as in images/sources.json.
linux.spec.urls = [];
linux.spec.license = 'GPL-2.0-only';
linux.spec.debian = { package: 'linux', version: '6.12.107-1', file: linux.file, suite: 'trixie' };

const kernelConfig = { 'base.config': Buffer.from('CONFIG_EXT4_FS=y\n'), 'arch/amd64.config': Buffer.from('CONFIG_X86_64=y\n') };

function plan(kernel: Record<string, Buffer> = kernelConfig): Plan {
  const sources: Record<string, SourceSpec> = { musl: musl.spec, zlib: zlib.spec, linux: linux.spec, grub: grub.spec };
  return {
    name: 'buckos',
    version: '0.1.0',
    arches: ['amd64', 'arm64'],
    sources,
    toolchainSource: 'musl',
    packages: [
      {
        id: 'baselayout',
        name: 'baselayout',
        version: '0.1.0',
        slot: '0',
        license: 'Apache-2.0',
        sources: [],
        deps: [],
        patches: [],
        files: { 'recipe.json': Buffer.from('{}\n'), 'build.sh': Buffer.from('true\n'), 'files/etc/hostname': Buffer.from('buckos\n') },
      },
      {
        name: 'zlib',
        version: '1.3.1',
        license: 'Zlib',
        sources: ['zlib'],
        deps: [],
        patches: [{ name: 'user:zlib/cve.patch', data: Buffer.from('--- a\n') }],
        files: { 'recipe.json': Buffer.from('{"name":"zlib"}\n'), 'build.sh': Buffer.from('make\n') },
      },
    ],
    imageFiles: {
      tools: { 'build-musl.sh': Buffer.from('#!/bin/sh\n./configure\n') },
      builder: {},
      kernelConfig: kernel,
      grub: { 'build.sh': Buffer.from('./configure\n') },
    },
  } as unknown as Plan;
}
const shipped = new Map<string, ShippedSource>([musl, zlib, linux, grub].map((s) => [s.name, { name: s.name, file: s.file, sha256: s.sha256, path: s.path }]));

async function build() {
  const p = plan();
  const bytes = await buffer(await legalInfoArchive(p, legalComponents(p), shipped, 1700000000));
  return { bytes, entries: await readEntries(gunzip(bytes)) };
}

test('components: musl, every package, linux and grub, sorted', () => {
  assert.equal(
    legalComponents(plan()).map((c) => `${c.name}-${c.version}`),
    ['baselayout-0.1.0', 'grub-2.12', 'linux-6.12.107', 'musl-1.2.3', 'zlib-1.3.1'],
  );
  assert.equal(legalSources(legalComponents(plan())), ['grub', 'linux', 'musl', 'zlib']);
});

test('the layout: archives, build inputs, licence texts per component; README, manifest.csv, SHA256SUMS at the top', async () => {
  const { entries } = await build();
  const files = entries.filter((e) => e.type === 'file').map((e) => e.path);
  assert.equal(files, [
    'README',
    'SHA256SUMS',
    'baselayout-0.1.0/build/build.sh',
    'baselayout-0.1.0/build/files/etc/hostname',
    'baselayout-0.1.0/build/recipe.json',
    'grub-2.12/build/build.sh',
    'grub-2.12/grub-2.12.tar.xz',
    'grub-2.12/licenses/COPYING',
    'linux-6.12.107/build/config/arch/amd64.config',
    'linux-6.12.107/build/config/base.config',
    'linux-6.12.107/licenses/COPYING',
    'linux-6.12.107/licenses/LICENSES/exceptions/Linux-syscall-note',
    'linux-6.12.107/licenses/LICENSES/preferred/GPL-2.0',
    'linux-6.12.107/linux_6.12.107.orig.tar.xz',
    'manifest.csv',
    'musl-1.2.3/build/build-musl.sh',
    'musl-1.2.3/licenses/COPYRIGHT',
    'musl-1.2.3/musl-1.2.3.tar.gz',
    'zlib-1.3.1/build/build.sh',
    'zlib-1.3.1/build/recipe.json',
    'zlib-1.3.1/build/user-patches/zlib/cve.patch',
    'zlib-1.3.1/licenses/LICENSE',
    'zlib-1.3.1/zlib-1.3.1.tar.bz2',
  ]);
  const get = (p: string) => entries.find((e) => e.path === p)!.data!;
  assert.is(get('linux-6.12.107/licenses/LICENSES/preferred/GPL-2.0').toString(), 'GPL text\n');
  assert.ok(get('linux-6.12.107/linux_6.12.107.orig.tar.xz').equals(readFileSync(linux.path)), 'the exact pinned archive');
  assert.is(get('linux-6.12.107/build/config/base.config').toString(), 'CONFIG_EXT4_FS=y\n');
  for (const e of entries) assert.is(e.mode, e.type === 'directory' ? 0o755 : 0o644, e.path);
  // SHA256SUMS covers every other file.
  const sums = get('SHA256SUMS')
    .toString()
    .trim()
    .split('\n')
    .map((l) => l.split('  ') as [string, string]);
  assert.equal(
    sums.map(([, p]) => p),
    files.filter((p) => p !== 'SHA256SUMS'),
  );
  for (const [h, p] of sums) assert.is(h, sha256(get(p)), p);
});

test('manifest.csv: Buildroot columns plus SHA256, one quoted row per component; Debian-only sources named without a host', async () => {
  const { entries } = await build();
  const rows = entries
    .find((e) => e.path === 'manifest.csv')!
    .data!.toString()
    .trim()
    .split('\n');
  assert.is(rows[0], '"PACKAGE","VERSION","LICENSE","LICENSE FILES","SOURCE ARCHIVE","SOURCE SITE","SHA256"');
  assert.equal(rows.slice(1), [
    '"baselayout","0.1.0","Apache-2.0","","","",""',
    `"grub","2.12","MIT","licenses/COPYING","grub-2.12.tar.xz","https://example.invalid/pub","${grub.sha256}"`,
    `"linux","6.12.107","GPL-2.0-only","licenses/COPYING licenses/LICENSES/exceptions/Linux-syscall-note licenses/LICENSES/preferred/GPL-2.0","linux_6.12.107.orig.tar.xz","Debian source package linux 6.12.107-1 (trixie)","${linux.sha256}"`,
    `"musl","1.2.3","MIT","licenses/COPYRIGHT","musl-1.2.3.tar.gz","https://example.invalid/pub","${musl.sha256}"`,
    `"zlib","1.3.1","Zlib","licenses/LICENSE","zlib-1.3.1.tar.bz2","https://example.invalid/pub","${zlib.sha256}"`,
  ]);
});

test('deterministic: two builds give the same bytes', async () => {
  const a = await build();
  const b = await build();
  assert.ok(a.bytes.equals(b.bytes));
});

test('the stage inputs name every source pin, build file, fragment, the toolchain script and the epoch', () => {
  const p = plan();
  const inputs = new Map(legalInfoInputs(p, legalComponents(p), '1700000000'));
  assert.is(inputs.get('source-date-epoch'), '1700000000');
  for (const s of ['musl', 'zlib', 'linux', 'grub']) assert.ok(inputs.has(`source:${s}`), s);
  assert.is(inputs.get('file:linux/config/base.config'), sha256('CONFIG_EXT4_FS=y\n'));
  assert.is(inputs.get('file:musl/build-musl.sh'), sha256('#!/bin/sh\n./configure\n'));
  assert.is(inputs.get('file:baselayout/files/etc/hostname'), sha256('buckos\n'));
  assert.is(inputs.get('file:grub/build.sh'), sha256('./configure\n'));
  const edited = plan({ ...kernelConfig, 'base.config': Buffer.from('CONFIG_EXT4_FS=m\n') });
  assert.is.not(JSON.stringify(legalInfoInputs(edited, legalComponents(edited), '1')), JSON.stringify(legalInfoInputs(p, legalComponents(p), '1')));
});

test('licence paths: top-level texts and licence directories near the top, nothing else', async () => {
  for (const p of [
    'COPYING',
    'COPYING.LIB',
    'LICENSE',
    'LICENSE.md',
    'license-MIT',
    'COPYRIGHT',
    'NOTICE',
    'LICENSES/preferred/GPL-2.0',
    'Documentation/licenses/COPYING.BSD-3-Clause',
  ])
    assert.ok(isLicensePath(p), p);
  for (const p of ['Makefile', 'contrib/LICENSE.txt', 'src/COPYING', 'a/b/licenses/x', 'COPYINGS']) assert.not.ok(isLicensePath(p), p);
  assert.equal(
    (await licenseTexts(zlib.path, zlib.file)).map((t) => t.path),
    ['LICENSE'],
  );
});

test('a damaged archive fails naming the file', async () => {
  const bad = join(root, 'bad-1.0.tar.xz');
  writeFileSync(bad, 'not xz');
  try {
    await licenseTexts(bad, 'bad-1.0.tar.xz');
    assert.unreachable();
  } catch (err) {
    assert.match((err as Error).message, /bad-1\.0\.tar\.xz/);
  }
});

test('sourceSite: the upstream directory, or the Debian source package when its file shipped', () => {
  const spec: SourceSpec = {
    name: 'z',
    version: '1',
    file: 'z-1.tar.gz',
    sha256: 'x',
    urls: ['https://z.example/fossils/z-1.tar.gz'],
    debian: { package: 'z', version: '1-2', file: 'z_1.orig.tar.gz' },
  };
  assert.is(sourceSite(spec, 'z-1.tar.gz'), 'https://z.example/fossils');
  assert.is(sourceSite(spec, 'z_1.orig.tar.gz'), 'Debian source package z 1-2');
});

test.run();
