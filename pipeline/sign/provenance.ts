// SLSA Provenance v1 in an in-toto Statement v1 (https://slsa.dev/provenance/v1,
// https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md).
// Pure: everything comes from the manifest and the caller's file digests, so
// identical inputs give byte-identical JSON (no timestamps, no invocation id).
import type { Manifest } from '../model/manifest.ts';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
export const INTOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
/** Identifies how to read externalParameters; versioned so a change of shape gets a new URI. */
export const OSFORGE_BUILD_TYPE = 'urn:osforge:buildtype:dist:v1';
export const DEFAULT_BUILDER_ID = 'urn:osforge:builder:local';

export interface ResourceDescriptor {
  name?: string;
  uri?: string;
  digest?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface Subject {
  name: string;
  digest: { sha256: string };
}

export interface FileDigest {
  path: string;
  sha256: string;
}

export interface ProvenanceInput {
  manifest: Manifest;
  /** Every released file with its sha256 (artifacts, SHA256SUMS, manifest.json, SBOM, ...). */
  subjects: FileDigest[];
  /** Files that configure the pipeline (images/buckos.json, ...), repo-relative. */
  configFiles: FileDigest[];
  /** The image/dependency lock file, if the repo has one. */
  lockFile?: FileDigest;
  builderId?: string;
}

export interface Statement {
  _type: string;
  subject: Subject[];
  predicateType: string;
  predicate: unknown;
}

/** "sha256:abc" → { sha256: "abc" }; anything else is kept whole under its own algorithm name. */
function imageDigest(id: string): Record<string, string> {
  const m = /^([a-z0-9]+):([0-9a-f]+)$/.exec(id);
  return m ? { [m[1]!]: m[2]! } : { sha256: id };
}

const byPath = (a: FileDigest, b: FileDigest) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

export function buildStatement(input: ProvenanceInput): Statement {
  const m = input.manifest;
  const subjects = [...input.subjects].sort(byPath).map((s) => ({ name: s.path, digest: { sha256: s.sha256 } }));

  const deps: ResourceDescriptor[] = [];
  deps.push({ name: 'source', digest: { gitCommit: m.commit } });
  for (const s of [...m.sources].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0))) {
    const d: ResourceDescriptor = { name: s.file, digest: { sha256: s.sha256 } };
    if (s.urls[0]) d.uri = s.urls[0];
    d.annotations = { name: s.name, version: s.version, ...(s.license ? { license: s.license } : {}) };
    deps.push(d);
  }
  for (const arch of Object.keys(m.images.base).sort()) {
    const img = m.images.base[arch]!;
    deps.push(imageDescriptor(`base-image/${arch}`, img));
  }
  if (m.images.buildenv) deps.push(imageDescriptor('buildenv-image', m.images.buildenv));
  deps.push(imageDescriptor('tools-image', m.images.tools));
  deps.push(imageDescriptor('builder-image', m.images.builder));
  if (m.buck2) deps.push({ name: 'buck2', digest: { sha256: m.buck2.sha256 }, annotations: { version: m.buck2.version } });

  const externalParameters: Record<string, unknown> = {
    name: m.name,
    version: m.version,
    commit: m.commit,
    dirty: m.dirty,
    sourceDateEpoch: m.sourceDateEpoch,
    configuration: [...input.configFiles].sort(byPath).map((f) => ({ name: f.path, digest: { sha256: f.sha256 } })),
  };
  if (input.lockFile) externalParameters.lockFile = { name: input.lockFile.path, digest: { sha256: input.lockFile.sha256 } };

  return {
    _type: STATEMENT_TYPE,
    subject: subjects,
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: OSFORGE_BUILD_TYPE,
        externalParameters,
        internalParameters: {
          toolchains: m.toolchains,
          toolsCache: m.toolsCache,
        },
        resolvedDependencies: deps,
      },
      runDetails: {
        builder: { id: input.builderId ?? DEFAULT_BUILDER_ID },
        metadata: {},
      },
    },
  };
}

function imageDescriptor(name: string, img: { ref: string; id: string; inputHash: string }): ResourceDescriptor {
  return { name, digest: imageDigest(img.id), annotations: { ref: img.ref, inputHash: img.inputHash } };
}

/** The Statement as DSSE payload bytes: compact JSON, stable key order (insertion order above). */
export function encodeStatement(s: Statement): Buffer {
  return Buffer.from(JSON.stringify(s), 'utf8');
}
