// The SBOM of a release with boot images: kernel, GRUB, musl and packages
// per arch, with purl and CPE, and what every image CONTAINS.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { buildSbom, encodeSbom, type SpdxDocument } from '../../../pipeline/sign/sbom.ts';
import { cpe23 } from '../../../pipeline/sign/cpe.ts';
import type { Manifest, ManifestArtifact } from '../../../pipeline/model/manifest.ts';
import { CPES, makeManifest } from './fixture-manifest.ts';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const ARCHES = ['amd64', 'arm64'] as const;
const KINDS: [kind: string, file: (a: string) => string][] = [
  ['rootfs', (a) => `buckos-0.2.0-${a}-rootfs.tar.gz`],
  ['toolchain', (a) => `buckos-0.2.0-${a}-toolchain.tar.gz`],
  ['kernel', (a) => `buckos-0.2.0-${a}-kernel`],
  ['initramfs', (a) => `buckos-0.2.0-${a}-initramfs.cpio.gz`],
  ['iso', (a) => `buckos-0.2.0-${a}.iso`],
  ['raw', (a) => `buckos-0.2.0-${a}.raw`],
  ['qcow2', (a) => `buckos-0.2.0-${a}.qcow2`],
  ['kernel-config', (a) => `buckos-0.2.0-${a}-kernel.config`],
];
// The initramfs holds no kernel (nor modules): the kernel boots it.
const BOOT = ['kernel', 'iso', 'raw', 'qcow2'];
const USERLAND = ['rootfs', 'initramfs', 'iso', 'raw', 'qcow2'];
const GRUB = ['iso', 'raw', 'qcow2'];

function release(): Manifest {
  const artifacts: ManifestArtifact[] = [
    ...ARCHES.flatMap((arch) => KINDS.map(([kind, file]) => ({ path: file(arch), arch, kind, size: 1, sha256: sha(file(arch)) }))),
    { path: 'oss_source.tgz', arch: 'any', kind: 'oss-source', size: 1, sha256: sha('oss') },
  ];
  const m = makeManifest('c'.repeat(40), artifacts);
  // As assemble.ts writes it: musl is the toolchain's, not a package.
  m.packages = m.packages.filter((p) => p.name !== 'musl').map((p) => ({ ...p, deps: [] }));
  m.packages.push(
    ...ARCHES.map((arch) => ({
      name: 'baselayout',
      version: '0.1.0',
      arch,
      license: 'Apache-2.0',
      key: sha(`baselayout/${arch}`),
      deps: [],
      sources: [],
      outputSha256: sha(`bl-${arch}`),
    })),
  );
  m.toolchains.arm64 = { ...m.toolchains.amd64!, triple: 'aarch64-linux-musl' };
  const linux = { name: 'linux', version: '6.12.107', file: 'linux_6.12.107.orig.tar.xz', sha256: sha('linux-src'), urls: [], license: 'GPL-2.0-only' };
  const grub = {
    name: 'grub',
    version: '2.12',
    file: 'grub-2.12.tar.xz',
    sha256: sha('grub-src'),
    urls: ['https://ftp.gnu.org/gnu/grub/grub-2.12.tar.xz'],
    license: 'GPL-3.0-or-later',
  };
  m.sources.push(linux, grub);
  m.kernels = ARCHES.map((arch) => ({
    arch,
    version: linux.version,
    release: '6.12.107-buckos',
    license: linux.license,
    source: { name: 'linux', file: linux.file, sha256: linux.sha256 },
    fragments: [
      { path: 'base.config', sha256: sha('base') },
      { path: `arch/${arch}.config`, sha256: sha(arch) },
    ],
    config: { path: `buckos-0.2.0-${arch}-kernel.config`, sha256: sha(`config-${arch}`) },
    systemMap: { path: `buckos-0.2.0-${arch}-System.map`, sha256: sha(`map-${arch}`) },
    key: sha(`kernel-${arch}`),
  }));
  m.grub = ARCHES.map((arch) => ({
    arch,
    version: grub.version,
    license: grub.license,
    source: { name: 'grub', file: grub.file, sha256: grub.sha256 },
    platforms: arch === 'amd64' ? ['x86_64-efi', 'i386-pc'] : ['arm64-efi'],
    treeSha256: sha(`grub-tree-${arch}`),
    key: sha(`grub-${arch}`),
  }));
  return m;
}

const byId = (doc: SpdxDocument) => new Map(doc.packages.map((p) => [p.SPDXID, p]));
const ref = (p: SpdxDocument['packages'][number], type: string) => p.externalRefs?.find((r) => r.referenceType === type)?.referenceLocator;
const contained = (doc: SpdxDocument, path: string) => {
  const ids = byId(doc);
  const art = doc.packages.find((p) => p.name === path)!;
  return doc.relationships.filter((r) => r.spdxElementId === art.SPDXID && r.relationshipType === 'CONTAINS').map((r) => ids.get(r.relatedSpdxElement)!);
};
const archOf = (p: SpdxDocument['packages'][number]) => /arch: (\w+)/.exec(p.comment ?? '')?.[1];

test('the kernel of each arch: version, licence, source checksum, CPE and purl a scanner can match', () => {
  const doc = buildSbom(release(), CPES);
  const kernels = doc.packages.filter((p) => p.name === 'linux' && p.primaryPackagePurpose === 'OPERATING-SYSTEM');
  assert.equal(kernels.map(archOf), ['amd64', 'arm64']);
  for (const k of kernels) {
    assert.is(k.versionInfo, '6.12.107');
    assert.is(k.licenseDeclared, 'GPL-2.0-only');
    assert.is(k.downloadLocation, 'NOASSERTION', 'no URL in sources.json: never a mirror host');
    assert.equal(k.checksums, [{ algorithm: 'SHA256', checksumValue: sha('linux-src') }]);
    assert.is(ref(k, 'cpe23Type'), 'cpe:2.3:o:linux:linux_kernel:6.12.107:*:*:*:*:*:*:*');
    assert.is(ref(k, 'purl'), `pkg:generic/linux@6.12.107?arch=${archOf(k)}`);
    const gen = doc.relationships.find((r) => r.spdxElementId === k.SPDXID && r.relationshipType === 'GENERATED_FROM')!;
    assert.is(byId(doc).get(gen.relatedSpdxElement)!.packageFileName, 'linux_6.12.107.orig.tar.xz');
  }
  const g = doc.packages.find((p) => p.name === 'grub' && archOf(p) === 'amd64')!;
  assert.is(ref(g, 'cpe23Type'), 'cpe:2.3:a:gnu:grub2:2.12:*:*:*:*:*:*:*');
  assert.is(ref(g, 'purl'), `pkg:generic/grub@2.12?arch=amd64&download_url=${encodeURIComponent('https://ftp.gnu.org/gnu/grub/grub-2.12.tar.xz')}`);
  assert.is(g.downloadLocation, 'https://ftp.gnu.org/gnu/grub/grub-2.12.tar.xz');
  const musl = doc.packages.filter((p) => p.name === 'musl' && p.primaryPackagePurpose === 'LIBRARY');
  assert.equal(musl.map(archOf), ['amd64', 'arm64']);
  assert.is(ref(musl[0]!, 'cpe23Type'), 'cpe:2.3:a:musl-libc:musl:1.2.3:*:*:*:*:*:*:*');
  const zlib = doc.packages.find((p) => p.name === 'zlib' && archOf(p) === 'arm64')!;
  assert.is(ref(zlib, 'cpe23Type'), 'cpe:2.3:a:zlib:zlib:1.2.13:*:*:*:*:*:*:*');
  assert.is(ref(doc.packages.find((p) => p.name === 'baselayout')!, 'cpe23Type'), undefined, 'our own package has no CPE');
});

test("every image CONTAINS its own arch's kernel, GRUB, musl and packages, and nothing of the other arch", () => {
  const doc = buildSbom(release(), CPES);
  for (const arch of ARCHES) {
    for (const [kind, file] of KINDS) {
      const inside = contained(doc, file(arch));
      for (const p of inside) assert.is(archOf(p), arch, `${file(arch)} contains ${p.SPDXID}`);
      const names = inside.map((p) => p.name).sort();
      const want = [
        ...(BOOT.includes(kind) ? ['linux'] : []),
        ...(GRUB.includes(kind) ? ['grub'] : []),
        ...(USERLAND.includes(kind) || kind === 'toolchain' ? ['musl'] : []),
        ...(USERLAND.includes(kind) ? ['baselayout', 'zlib'] : []),
      ].sort();
      assert.equal(names, want, file(arch));
    }
  }
  assert.equal(contained(doc, 'oss_source.tgz'), []);
  // The document describes each artifact.
  const described = doc.relationships
    .filter((r) => r.relationshipType === 'DESCRIBES')
    .map((r) => byId(doc).get(r.relatedSpdxElement)!.name)
    .sort();
  assert.equal(
    described,
    release()
      .artifacts.map((a) => a.path)
      .sort(),
  );
});

test('structurally valid: unique SPDXIDs, every relationship between existing elements, no duplicate relationship; deterministic', () => {
  const m = release();
  const doc = buildSbom(m, CPES);
  const ids = doc.packages.map((p) => p.SPDXID);
  assert.is(new Set(ids).size, ids.length);
  for (const id of ids) assert.match(id, /^SPDXRef-[A-Za-z0-9.-]+$/);
  const known = new Set([...ids, 'SPDXRef-DOCUMENT']);
  for (const r of doc.relationships) {
    assert.ok(known.has(r.spdxElementId), r.spdxElementId);
    assert.ok(known.has(r.relatedSpdxElement), r.relatedSpdxElement);
  }
  const rels = doc.relationships.map((r) => `${r.spdxElementId} ${r.relationshipType} ${r.relatedSpdxElement}`);
  assert.is(new Set(rels).size, rels.length);
  for (const p of doc.packages) {
    assert.ok(p.downloadLocation, p.SPDXID);
    for (const c of p.checksums) assert.match(c.checksumValue, /^[0-9a-f]{64}$/);
  }
  const shuffled = release();
  shuffled.kernels!.reverse();
  shuffled.grub!.reverse();
  shuffled.artifacts.reverse();
  shuffled.packages.reverse();
  assert.is(encodeSbom(buildSbom(shuffled, CPES)), encodeSbom(doc));
});

test('a manifest without kernels or GRUB (an older dist/) still gives a valid document', () => {
  const m = release();
  delete m.kernels;
  delete m.grub;
  const doc = buildSbom(m, CPES);
  assert.not.ok(doc.packages.some((p) => p.primaryPackagePurpose === 'OPERATING-SYSTEM'));
  assert.equal(contained(doc, 'buckos-0.2.0-amd64-kernel'), []);
  assert.equal(
    contained(doc, 'buckos-0.2.0-amd64.iso')
      .map((p) => p.name)
      .sort(),
    ['baselayout', 'musl', 'zlib'],
  );
});

test('cpe23 quotes what CPE 2.3 reserves, and knows only the table', () => {
  assert.is(cpe23('busybox', '1.37.0', CPES), 'cpe:2.3:a:busybox:busybox:1.37.0:*:*:*:*:*:*:*');
  assert.is(cpe23('util-linux', '2.41.5', CPES), 'cpe:2.3:a:kernel:util-linux:2.41.5:*:*:*:*:*:*:*');
  assert.is(cpe23('e2fsprogs', '1.47.2', CPES), 'cpe:2.3:a:e2fsprogs_project:e2fsprogs:1.47.2:*:*:*:*:*:*:*');
  assert.is(cpe23('zlib', '1:1.3+dfsg', CPES), 'cpe:2.3:a:zlib:zlib:1\\:1.3\\+dfsg:*:*:*:*:*:*:*');
  assert.is(cpe23('baselayout', '0.1.0', CPES), undefined);
  assert.is(cpe23('dropbear', '2025.89', CPES), 'cpe:2.3:a:dropbear_ssh_project:dropbear_ssh:2025.89:*:*:*:*:*:*:*');
  assert.is(cpe23('constructor', '1', CPES), undefined, 'a name no pin defines names no CPE');
});

test.run();
