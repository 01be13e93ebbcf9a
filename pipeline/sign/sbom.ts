// One SPDX 2.3 JSON document per release, covering every arch
// (https://spdx.github.io/spdx-spec/v2.3/). Pure and deterministic: `created`
// comes from manifest.sourceDateEpoch, documentNamespace from a hash of the
// document itself, and every list is sorted, so equal manifests give equal bytes.
import { createHash } from 'node:crypto';
import type { Manifest, ManifestPackage, ManifestSource } from '../outputs/manifest-types.ts';

const NOASSERTION = 'NOASSERTION';

export interface SpdxChecksum { algorithm: 'SHA256'; checksumValue: string }
export interface SpdxPackage {
  SPDXID: string;
  name: string;
  versionInfo?: string;
  packageFileName?: string;
  downloadLocation: string;
  filesAnalyzed: false;
  checksums: SpdxChecksum[];
  licenseConcluded: string;
  licenseDeclared: string;
  copyrightText: string;
  supplier: string;
  sourceInfo?: string;
  comment?: string;
  externalRefs?: { referenceCategory: string; referenceType: string; referenceLocator: string }[];
}
export interface SpdxRelationship { spdxElementId: string; relationshipType: string; relatedSpdxElement: string }
export interface SpdxDocument {
  spdxVersion: 'SPDX-2.3';
  dataLicense: 'CC0-1.0';
  SPDXID: 'SPDXRef-DOCUMENT';
  name: string;
  documentNamespace: string;
  creationInfo: { created: string; creators: string[] };
  packages: SpdxPackage[];
  relationships: SpdxRelationship[];
}

/** A license string that looks like an SPDX expression is kept; anything else becomes NOASSERTION. */
export function spdxLicense(license: string | undefined): string {
  if (!license) return NOASSERTION;
  return /^[A-Za-z0-9.+-]+( (AND|OR|WITH) [A-Za-z0-9.+-]+)*$/.test(license.replace(/[()]/g, '')) ? license : NOASSERTION;
}

/** SPDX ids allow letters, digits, '.' and '-'. */
function idPart(s: string): string {
  return s.replace(/[^A-Za-z0-9.-]+/g, '-');
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** ISO 8601 in UTC without milliseconds, as SPDX wants ("2023-11-14T22:13:20Z"). */
export function spdxDate(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function buildSbom(m: Manifest, toolVersion = ''): SpdxDocument {
  const used = new Set<string>();
  const uniqueId = (base: string, salt: string): string => {
    let id = base;
    if (used.has(id)) id = `${base}-${createHash('sha256').update(salt).digest('hex').slice(0, 12)}`;
    used.add(id);
    return id;
  };

  const sourcesByFile = new Map<string, ManifestSource>(m.sources.map((s) => [s.file, s]));
  const packages: SpdxPackage[] = [];
  const relationships: SpdxRelationship[] = [];

  // Release artifacts: what the document describes.
  const artifacts = [...m.artifacts].sort((a, b) => cmp(a.path, b.path));
  for (const a of artifacts) {
    const id = uniqueId(`SPDXRef-Artifact-${idPart(a.path)}`, a.path);
    packages.push({
      SPDXID: id,
      name: a.path,
      versionInfo: m.version,
      packageFileName: a.path,
      downloadLocation: NOASSERTION,
      filesAnalyzed: false,
      checksums: [{ algorithm: 'SHA256', checksumValue: a.sha256 }],
      licenseConcluded: NOASSERTION,
      licenseDeclared: NOASSERTION,
      copyrightText: NOASSERTION,
      supplier: NOASSERTION,
      comment: `kind: ${a.kind}; arch: ${a.arch}`,
    });
    relationships.push({ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: id });
  }

  // Upstream sources, once each (all arches build from the same tarball).
  const sourceFiles = new Map<string, { file: string; sha256: string }>();
  for (const s of m.sources) sourceFiles.set(s.file, { file: s.file, sha256: s.sha256 });
  for (const p of m.packages) for (const s of p.sources) if (!sourceFiles.has(s.file)) sourceFiles.set(s.file, s);
  const sourceIds = new Map<string, string>();
  for (const f of [...sourceFiles.keys()].sort(cmp)) {
    const ref = sourceFiles.get(f)!;
    const src = sourcesByFile.get(f);
    const id = uniqueId(`SPDXRef-Source-${idPart(f)}`, f);
    sourceIds.set(f, id);
    packages.push({
      SPDXID: id,
      name: src?.name ?? f,
      ...(src ? { versionInfo: src.version } : {}),
      packageFileName: f,
      downloadLocation: src?.urls[0] ?? NOASSERTION,
      filesAnalyzed: false,
      checksums: [{ algorithm: 'SHA256', checksumValue: src?.sha256 ?? ref.sha256 }],
      licenseConcluded: NOASSERTION,
      licenseDeclared: spdxLicense(src?.license),
      copyrightText: NOASSERTION,
      supplier: NOASSERTION,
    });
  }

  // Built packages, one per (name, arch).
  const pkgs = [...m.packages].sort((a, b) => cmp(a.arch, b.arch) || cmp(a.name, b.name) || cmp(a.version, b.version));
  const pkgIds = new Map<ManifestPackage, string>();
  for (const p of pkgs) {
    const id = uniqueId(`SPDXRef-Package-${p.arch}-${idPart(p.name)}-${idPart(p.version)}`, p.key);
    pkgIds.set(p, id);
    const firstSource = p.sources[0];
    const srcInfo = p.sources.map((s) => `${s.file} sha256:${s.sha256}`).join(', ');
    packages.push({
      SPDXID: id,
      name: p.name,
      versionInfo: p.version,
      downloadLocation: (firstSource && sourcesByFile.get(firstSource.file)?.urls[0]) ?? NOASSERTION,
      filesAnalyzed: false,
      checksums: [{ algorithm: 'SHA256', checksumValue: p.outputSha256 }],
      licenseConcluded: NOASSERTION,
      licenseDeclared: spdxLicense(p.license),
      copyrightText: NOASSERTION,
      supplier: NOASSERTION,
      ...(srcInfo ? { sourceInfo: `built from ${srcInfo}` } : {}),
      comment: `arch: ${p.arch}; checksum is of the package output archive; stage key ${p.key}`,
      externalRefs: [{
        referenceCategory: 'PACKAGE-MANAGER',
        referenceType: 'purl',
        referenceLocator: `pkg:generic/${encodeURIComponent(p.name)}@${encodeURIComponent(p.version)}?arch=${p.arch}`,
      }],
    });
  }
  for (const p of pkgs) {
    const id = pkgIds.get(p)!;
    for (const s of [...p.sources].sort((a, b) => cmp(a.file, b.file))) {
      relationships.push({ spdxElementId: id, relationshipType: 'GENERATED_FROM', relatedSpdxElement: sourceIds.get(s.file)! });
    }
    for (const dep of [...p.deps].sort(cmp)) {
      const target = pkgs.find((q) => q.arch === p.arch && (q.name === dep || q.key === dep));
      if (target) relationships.push({ spdxElementId: id, relationshipType: 'DEPENDS_ON', relatedSpdxElement: pkgIds.get(target)! });
    }
    // A release with no artifacts still describes what was built.
    if (artifacts.length === 0) relationships.push({ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: id });
  }

  const doc: SpdxDocument = {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `${m.name}-${m.version}`,
    documentNamespace: '',
    creationInfo: { created: spdxDate(m.sourceDateEpoch), creators: [`Tool: osforge${toolVersion ? `-${toolVersion}` : ''}`] },
    packages,
    relationships,
  };
  // The namespace must be unique per document; a hash of everything else is, and is reproducible.
  const digest = createHash('sha256').update(JSON.stringify(doc)).digest('hex');
  doc.documentNamespace = `https://spdx.org/spdxdocs/${encodeURIComponent(m.name)}-${encodeURIComponent(m.version)}-${digest}`;
  return doc;
}

export function encodeSbom(doc: SpdxDocument): string {
  return JSON.stringify(doc, null, 2) + '\n';
}
