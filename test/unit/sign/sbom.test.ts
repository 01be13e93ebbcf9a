import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildSbom, encodeSbom, spdxDate, spdxLicense } from '../../../pipeline/sign/sbom.ts';
import { CPES, makeManifest } from './fixture-manifest.ts';

const artifacts = [
  { path: 'buckos-amd64.tar.gz', arch: 'amd64' as const, kind: 'rootfs', size: 3, sha256: 'a'.repeat(64) },
  { path: 'buckos-arm64.tar.gz', arch: 'arm64' as const, kind: 'rootfs', size: 3, sha256: 'b'.repeat(64) },
];
const manifest = () => makeManifest('c'.repeat(40), artifacts);

test('same manifest, same bytes; list order in the manifest does not matter', () => {
  const m1 = manifest();
  const m2 = manifest();
  m2.packages.reverse();
  m2.sources.reverse();
  m2.artifacts.reverse();
  assert.is(encodeSbom(buildSbom(m1, CPES)), encodeSbom(buildSbom(m2, CPES)));
});

test('document header: SPDX-2.3, created from sourceDateEpoch, namespace from a content hash', () => {
  const m = manifest();
  const doc = buildSbom(m, CPES);
  assert.is(doc.spdxVersion, 'SPDX-2.3');
  assert.is(doc.dataLicense, 'CC0-1.0');
  assert.is(doc.SPDXID, 'SPDXRef-DOCUMENT');
  assert.is(doc.creationInfo.created, '2023-11-14T22:13:20Z');
  assert.match(doc.documentNamespace, /^https:\/\/spdx\.org\/spdxdocs\/buckos-0\.2\.0-[0-9a-f]{64}$/);
  const changed = manifest();
  changed.packages[0]!.outputSha256 = 'f'.repeat(64);
  assert.is.not(buildSbom(changed, CPES).documentNamespace, doc.documentNamespace);
  const later = manifest();
  later.sourceDateEpoch += 1;
  assert.is(buildSbom(later, CPES).creationInfo.created, '2023-11-14T22:13:21Z');
});

test('every package on every arch: name, version, arch, licence, download location, output checksum, source checksum', () => {
  const m = manifest();
  const doc = buildSbom(m, CPES);
  const ids = new Set(doc.packages.map((p) => p.SPDXID));
  assert.is(ids.size, doc.packages.length, 'SPDXIDs are unique');
  for (const mp of m.packages) {
    const p = doc.packages.find((x) => x.name === mp.name && x.comment?.includes(`arch: ${mp.arch}`));
    assert.ok(p, `${mp.name}/${mp.arch} present`);
    assert.is(p!.versionInfo, mp.version);
    assert.equal(p!.checksums, [{ algorithm: 'SHA256', checksumValue: mp.outputSha256 }]);
    assert.is(p!.licenseDeclared, mp.license ?? 'NOASSERTION');
    const src = m.sources.find((s) => s.file === mp.sources[0]!.file)!;
    assert.is(p!.downloadLocation, src.urls[0]);
    assert.match(p!.sourceInfo!, new RegExp(`${src.file} sha256:${src.sha256}`));
    assert.is(p!.externalRefs![0]!.referenceLocator, `pkg:generic/${mp.name}@${mp.version}?arch=${mp.arch}&download_url=${encodeURIComponent(src.urls[0]!)}`);
    const gen = doc.relationships.find((r) => r.spdxElementId === p!.SPDXID && r.relationshipType === 'GENERATED_FROM');
    const srcPkg = doc.packages.find((x) => x.SPDXID === gen?.relatedSpdxElement);
    assert.equal(srcPkg?.checksums, [{ algorithm: 'SHA256', checksumValue: src.sha256 }]);
    assert.is(srcPkg?.downloadLocation, src.urls[0]);
  }
  // zlib on amd64 depends on musl on amd64 (not arm64).
  const zlib = doc.packages.find((x) => x.name === 'zlib' && x.comment?.includes('arch: amd64'))!;
  const dep = doc.relationships.find((r) => r.spdxElementId === zlib.SPDXID && r.relationshipType === 'DEPENDS_ON');
  assert.match(dep!.relatedSpdxElement, /^SPDXRef-Package-amd64-musl-/);
  // Artifacts are what the document describes.
  const described = doc.relationships.filter((r) => r.spdxElementId === 'SPDXRef-DOCUMENT').map((r) => r.relatedSpdxElement);
  assert.is(described.length, 2);
  for (const id of described) assert.match(id, /^SPDXRef-Artifact-/);
});

test('spdxLicense keeps SPDX expressions, drops free text; spdxDate has no milliseconds', () => {
  assert.is(spdxLicense('MIT'), 'MIT');
  assert.is(spdxLicense('GPL-2.0-only WITH Linux-syscall-note'), 'GPL-2.0-only WITH Linux-syscall-note');
  assert.is(spdxLicense('(MIT OR Apache-2.0)'), '(MIT OR Apache-2.0)');
  assert.is(spdxLicense('see COPYING, mostly BSD'), 'NOASSERTION');
  assert.is(spdxLicense(undefined), 'NOASSERTION');
  assert.is(spdxDate(0), '1970-01-01T00:00:00Z');
});

test.run();
