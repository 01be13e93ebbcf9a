// One SPDX 2.3 JSON document per release, covering every arch
// (https://spdx.github.io/spdx-spec/v2.3/). Pure and deterministic: `created`
// comes from manifest.sourceDateEpoch, documentNamespace from a hash of the
// document itself, and every list is sorted, so equal manifests give equal bytes.
// Packages: each artifact (DESCRIBES), each source archive, and per arch the
// kernel, GRUB, musl and every stage2 package with purl and CPE (cpe.ts: from
// the source pins' `cpe` in images/sources.json, passed in as a table);
// CONTAINS says which of those each artifact ships (the format table's `contains`, by kind).
import { createHash } from 'node:crypto';
import type { Arch } from '../model/arch.ts';
import type { Manifest, ManifestArtifact, ManifestPackage, ManifestSource } from '../model/manifest.ts';
import { cpe23, genericPurl, type CpeTable } from './cpe.ts';
import { contentsOf } from '../outputs/formats.ts';

const NOASSERTION = 'NOASSERTION';

export interface SpdxChecksum {
  algorithm: 'SHA256';
  checksumValue: string;
}
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
  /** SPDX 2.3 primaryPackagePurpose (OPERATING-SYSTEM, LIBRARY, SOURCE, ...). */
  primaryPackagePurpose?: string;
  comment?: string;
  externalRefs?: { referenceCategory: string; referenceType: string; referenceLocator: string }[];
}
export interface SpdxRelationship {
  spdxElementId: string;
  relationshipType: string;
  relatedSpdxElement: string;
}
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

// What an artifact of each kind ships comes from the format table (outputs/formats.ts `contains`).

/** One per (arch, component): what the artifacts of that arch contain. */
interface ArchComponents {
  kernel?: string;
  grub?: string;
  libc?: string;
  packages: string[];
  /** Package instance id (manifest id ?? name) → SPDX id. */ byInstance: Map<string, string>;
}

/** The SBOM of `m`; `cpes` names each component's CPE (cpe.ts cpeTable over the plan's sources). */
export function buildSbom(m: Manifest, cpes: CpeTable, toolVersion = ''): SpdxDocument {
  const used = new Set<string>();
  const uniqueId = (base: string, salt: string): string => {
    let id = base;
    if (used.has(id)) id = `${base}-${createHash('sha256').update(salt).digest('hex').slice(0, 12)}`;
    used.add(id);
    return id;
  };

  const sourcesByFile = new Map<string, ManifestSource>(m.sources.map((s) => [s.file, s]));
  const urlOf = (file: string | undefined) => (file === undefined ? undefined : sourcesByFile.get(file)?.urls[0]);
  const packages: SpdxPackage[] = [];
  const relationships: SpdxRelationship[] = [];
  const rel = (a: string, type: string, b: string) => relationships.push({ spdxElementId: a, relationshipType: type, relatedSpdxElement: b });
  const kernels = [...(m.kernels ?? [])].sort((a, b) => cmp(a.arch, b.arch) || cmp(a.version, b.version));
  const grubs = [...(m.grub ?? [])].sort((a, b) => cmp(a.arch, b.arch) || cmp(a.version, b.version));
  const arches = Object.keys(m.toolchains).sort(cmp) as Arch[];
  // musl as a stage2 package (older manifests) stands for the toolchain's musl on its arch.
  const libcSource = (arch: Arch) => m.sources.find((s) => s.name === m.toolchains[arch]!.libc);
  const libcArches = arches.filter((a) => !m.packages.some((p) => p.arch === a && p.name === m.toolchains[a]!.libc));

  // Release artifacts: what the document describes.
  const artifacts = [...m.artifacts].sort((a, b) => cmp(a.path, b.path));
  const artifactIds = new Map<ManifestArtifact, string>();
  for (const a of artifacts) {
    const id = uniqueId(`SPDXRef-Artifact-${idPart(a.path)}`, a.path);
    artifactIds.set(a, id);
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
    rel('SPDXRef-DOCUMENT', 'DESCRIBES', id);
  }

  // Upstream sources, once each (all arches build from the same tarball).
  const sourceFiles = new Map<string, { file: string; sha256: string }>();
  for (const s of m.sources) sourceFiles.set(s.file, { file: s.file, sha256: s.sha256 });
  for (const s of [...m.packages.flatMap((p) => p.sources), ...kernels.map((k) => k.source), ...grubs.map((g) => g.source)]) {
    if (!sourceFiles.has(s.file)) sourceFiles.set(s.file, { file: s.file, sha256: s.sha256 });
  }
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
      primaryPackagePurpose: 'SOURCE',
      ...(src?.signature
        ? {
            comment:
              src.signature.status === 'verified'
                ? `upstream signature ${src.signature.file} verified: signed by ${src.signature.fingerprint}`
                : `upstream signature ${src.signature.file} NOT verified (BUCKOS_VERIFY_SIGNATURES=0)`,
          }
        : {}),
    });
  }

  /**
   * A built component of one arch: purl and CPE (from `cpes`);
   * downloadLocation from its first source; GENERATED_FROM each source.
   * Its checksum is its output's when known, else its first source's.
   */
  const component = (c: {
    idBase: string;
    salt: string;
    name: string;
    version: string;
    arch: Arch;
    license?: string;
    sources: { file: string; sha256: string }[];
    checksum?: string;
    purpose?: string;
    comment: string;
  }): string => {
    const id = uniqueId(c.idBase, c.salt);
    const url = urlOf(c.sources[0]?.file);
    const cpe = cpe23(c.name, c.version, cpes);
    const checksum = c.checksum ?? c.sources[0]?.sha256;
    const srcInfo = c.sources.map((s) => `${s.file} sha256:${s.sha256}`).join(', ');
    packages.push({
      SPDXID: id,
      name: c.name,
      versionInfo: c.version,
      downloadLocation: url ?? NOASSERTION,
      filesAnalyzed: false,
      checksums: checksum ? [{ algorithm: 'SHA256', checksumValue: checksum }] : [],
      licenseConcluded: NOASSERTION,
      licenseDeclared: spdxLicense(c.license),
      copyrightText: NOASSERTION,
      supplier: NOASSERTION,
      ...(c.purpose ? { primaryPackagePurpose: c.purpose } : {}),
      ...(srcInfo ? { sourceInfo: `built from ${srcInfo}` } : {}),
      comment: c.comment,
      externalRefs: [
        { referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: genericPurl(c.name, c.version, c.arch, url) },
        ...(cpe ? [{ referenceCategory: 'SECURITY', referenceType: 'cpe23Type', referenceLocator: cpe }] : []),
      ],
    });
    for (const s of [...c.sources].sort((a, b) => cmp(a.file, b.file))) rel(id, 'GENERATED_FROM', sourceIds.get(s.file)!);
    return id;
  };
  const perArch = new Map<Arch, ArchComponents>();
  const of = (arch: Arch) => perArch.get(arch) ?? perArch.set(arch, { packages: [], byInstance: new Map() }).get(arch)!;

  for (const k of kernels) {
    of(k.arch).kernel = component({
      idBase: `SPDXRef-Kernel-${k.arch}-${idPart(k.version)}`,
      salt: k.key,
      name: k.source.name,
      version: k.version,
      arch: k.arch,
      license: k.license,
      sources: [k.source],
      purpose: 'OPERATING-SYSTEM',
      comment:
        `arch: ${k.arch}; the Linux kernel, release ${k.release}; checksum is of the source archive; .config ${k.config.path} sha256:${k.config.sha256}; ` +
        `System.map ${k.systemMap.path}; fragments ${k.fragments.map((f) => f.path).join(', ')}; stage key ${k.key}`,
    });
  }
  for (const g of grubs) {
    of(g.arch).grub = component({
      idBase: `SPDXRef-GRUB-${g.arch}-${idPart(g.version)}`,
      salt: g.key,
      name: g.source.name,
      version: g.version,
      arch: g.arch,
      license: g.license,
      sources: [g.source],
      purpose: 'APPLICATION',
      comment: `arch: ${g.arch}; GRUB for ${[...g.platforms].sort(cmp).join(', ')}; checksum is of the source archive; built tree sha256:${g.treeSha256}; stage key ${g.key}`,
    });
  }
  for (const arch of libcArches) {
    const tc = m.toolchains[arch]!;
    const src = libcSource(arch);
    of(arch).libc = component({
      idBase: `SPDXRef-Libc-${arch}-${idPart(tc.libc)}-${idPart(tc.libcVersion)}`,
      salt: `${arch}/${tc.libc}`,
      name: tc.libc,
      version: tc.libcVersion,
      arch,
      license: src?.license,
      sources: src ? [{ file: src.file, sha256: src.sha256 }] : [],
      purpose: 'LIBRARY',
      comment: `arch: ${arch}; the C library of the ${tc.triple} toolchain, statically linked into every package's programs; checksum is of the source archive`,
    });
  }

  // Built packages, one per (name, arch).
  const pkgs = [...m.packages].sort((a, b) => cmp(a.arch, b.arch) || cmp(a.name, b.name) || cmp(a.version, b.version));
  const pkgIds = new Map<ManifestPackage, string>();
  for (const p of pkgs) {
    const id = component({
      idBase: `SPDXRef-Package-${p.arch}-${idPart(p.name)}-${idPart(p.version)}`,
      salt: p.key,
      name: p.name,
      version: p.version,
      arch: p.arch,
      license: p.license,
      sources: p.sources,
      checksum: p.outputSha256,
      comment: `arch: ${p.arch}; ${p.id ? `instance ${p.id}; ` : ''}${p.use ? `USE flags: ${p.use.enabled.join(' ') || '(none)'} of ${p.use.iuse.join(' ')}; ` : ''}checksum is of the package output archive; stage key ${p.key}`,
    });
    pkgIds.set(p, id);
    if (p.name === m.toolchains[p.arch]?.libc) of(p.arch).libc = id;
    else {
      of(p.arch).packages.push(id);
      of(p.arch).byInstance.set(p.id ?? p.name, id);
    }
  }
  for (const p of pkgs) {
    for (const dep of [...p.deps].sort(cmp)) {
      const target = pkgs.find((q) => q.arch === p.arch && ((q.id ?? q.name) === dep || q.key === dep));
      if (target) rel(pkgIds.get(p)!, 'DEPENDS_ON', pkgIds.get(target)!);
    }
  }

  // An image of an image set ships that set's packages (manifest imageSets); older manifests have one set, all of them.
  const setPackages = (a: ManifestArtifact, have: ArchComponents): string[] => {
    const set = m.imageSets?.find((s) => s.profile === ((a.profile as string | undefined) ?? null));
    return set ? set.packages.map((i) => have.byInstance.get(i)).filter((x): x is string => x !== undefined) : have.packages;
  };
  // What each artifact ships, by its kind and arch.
  for (const a of artifacts) {
    const wants = contentsOf(a.kind);
    const have = a.arch === 'any' ? undefined : perArch.get(a.arch);
    if (!wants || !have) continue;
    const id = artifactIds.get(a)!;
    const contained = [
      ...(wants.kernel && have.kernel ? [have.kernel] : []),
      ...(wants.grub && have.grub ? [have.grub] : []),
      ...(wants.libc && have.libc ? [have.libc] : []),
      ...(wants.packages ? setPackages(a, have) : []),
    ];
    for (const c of contained) rel(id, 'CONTAINS', c);
  }
  // A release with no artifacts still describes what was built.
  if (artifacts.length === 0) {
    for (const arch of [...perArch.keys()].sort(cmp)) {
      const c = perArch.get(arch)!;
      for (const id of [c.kernel, c.grub, c.libc, ...c.packages]) if (id) rel('SPDXRef-DOCUMENT', 'DESCRIBES', id);
    }
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
