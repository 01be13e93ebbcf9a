// Checks a signed dist/: the provenance envelope and its subjects, every
// .sig and .sigstore.json, SHA256SUMS, the .sha256 sidecars and the manifest
// digests, and that no file is left uncovered. Returns one result per
// (file, check); the caller prints them and picks the exit code. Every file
// is read through ReleaseFiles: only names the listing holds, regular files
// only, under a size cap; a refused read is a FAIL naming why.
import type { KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { toDSSEBundle } from '@sigstore/bundle';
import { toSignedEntity, Verifier, type TrustMaterial } from '@sigstore/verify';
import type { Manifest } from '../model/manifest.ts';
import { parseJsonBounded } from '../util/json-bounded.ts';
import { decodeSigFile, parseMessageBundle, verifyFile } from '../crypto/blob.ts';
import { parseSidecar, parseSums } from './checksums.ts';
import { parseEnvelope, verifyEnvelope, type DsseEnvelope } from './dsse.ts';
import { publicKeyHint } from '../crypto/keys.ts';
import { INTOTO_PAYLOAD_TYPE, SLSA_PROVENANCE_V1, STATEMENT_TYPE } from './provenance.ts';
import { readManifest } from './read-manifest.ts';
import { DEFAULT_RELEASE_LIMITS, Refused, ReleaseFiles, type ReleaseLimits } from './release-reads.ts';
import { assertReleaseDir, listFiles } from './dist-files.ts';
import {
  bundlePath,
  CHECKSUM_SUFFIX,
  GENERATED_SIGNED_FILES,
  isSignatureFile,
  MANIFEST_FILE,
  PROVENANCE_FILE,
  requiredSignedFiles,
  sigPath,
  SUMS_FILE,
} from './release-files.ts';

export type CheckName = 'signature' | 'bundle' | 'provenance' | 'checksum' | 'coverage';
export interface CheckResult {
  file: string;
  check: CheckName;
  ok: boolean;
  detail: string;
}

/** The release's files as one reader, listed once. */
export async function releaseFiles(dist: string, limits: ReleaseLimits = DEFAULT_RELEASE_LIMITS): Promise<ReleaseFiles> {
  return new ReleaseFiles(dist, await listFiles(dist), limits);
}

/**
 * Internal consistency, no key needed: manifest digests and sizes, SHA256SUMS,
 * and the <artifact>.sha256 sidecars. `osforge sign` runs this first and
 * refuses to sign a dist/ that fails it.
 */
export async function checkIntegrity(dist: string, m: Manifest, files?: ReleaseFiles): Promise<CheckResult[]> {
  const release = files ?? (await releaseFiles(dist));
  const out: CheckResult[] = [];
  const r = (file: string, ok: boolean, detail: string) => out.push({ file, check: 'checksum', ok, detail });

  const sumsText = await release.text(SUMS_FILE);
  let sums: Map<string, string> | null = null;
  if (sumsText === null) r(SUMS_FILE, false, 'missing');
  else if (sumsText instanceof Refused) r(SUMS_FILE, false, sumsText.reason);
  else {
    try {
      sums = new Map(parseSums(sumsText).map((l) => [l.path, l.sha256]));
      r(SUMS_FILE, true, `${sums.size} entries parsed`);
    } catch (err) {
      r(SUMS_FILE, false, `malformed: ${(err as Error).message}`);
    }
  }
  if (sums) {
    // A name that is no file of this release is refused before anything is opened: an unsigned
    // SHA256SUMS naming ../x or /etc/passwd would otherwise be a hash oracle on the verifier's files.
    for (const [file, want] of [...sums].sort()) {
      const got = await release.digest(file);
      if (got === null) r(file, false, `listed in ${SUMS_FILE} but missing`);
      else if (got instanceof Refused) r(file, false, `listed in ${SUMS_FILE}: ${got.reason}`);
      else if (got.sha256 !== want) r(file, false, `sha256 ${got.sha256} does not match ${SUMS_FILE} (${want})`);
      else r(file, true, `matches ${SUMS_FILE}`);
    }
  }
  for (const a of m.artifacts) {
    const got = await release.digest(a.path);
    if (got === null) {
      r(a.path, false, 'listed in manifest.json but missing');
      continue;
    }
    if (got instanceof Refused) {
      r(a.path, false, got.reason);
      continue;
    }
    if (got.sha256 !== a.sha256.toLowerCase()) r(a.path, false, `sha256 ${got.sha256} does not match manifest.json (${a.sha256})`);
    else if (got.size !== a.size) r(a.path, false, `size ${got.size} does not match manifest.json (${a.size})`);
    else r(a.path, true, 'matches manifest.json');
    if (sums && !sums.has(a.path)) r(a.path, false, `not listed in ${SUMS_FILE}`);
    const sidecar = await release.text(a.path + CHECKSUM_SUFFIX);
    if (sidecar === null) r(a.path + CHECKSUM_SUFFIX, false, 'missing');
    else if (sidecar instanceof Refused) r(a.path + CHECKSUM_SUFFIX, false, sidecar.reason);
    else {
      try {
        const want = parseSidecar(sidecar);
        r(a.path + CHECKSUM_SUFFIX, want === got.sha256, want === got.sha256 ? `matches ${a.path}` : `says ${want}, file is ${got.sha256}`);
      } catch (err) {
        r(a.path + CHECKSUM_SUFFIX, false, `malformed: ${(err as Error).message}`);
      }
    }
  }
  return out;
}

/** Verifies the envelope with sigstore-js (an implementation independent of ours) against `publicKey`. */
function sigstoreVerifiesEnvelope(env: DsseEnvelope, publicKey: KeyObject): boolean {
  const hint = publicKeyHint(publicKey);
  const trust: TrustMaterial = {
    certificateAuthorities: [],
    timestampAuthorities: [],
    tlogs: [],
    ctlogs: [],
    publicKey: (h) => {
      if (h !== hint) throw new Error(`unknown key hint ${h}`);
      return { publicKey, validFor: () => true };
    },
  };
  // Key-based, offline: no transparency log, no timestamps, no certificates to count.
  const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
  return env.signatures.some((s) => {
    try {
      const bundle = toDSSEBundle({
        artifact: Buffer.from(env.payload, 'base64'),
        artifactType: env.payloadType,
        signature: Buffer.from(s.sig, 'base64'),
        keyHint: hint,
      });
      verifier.verify(toSignedEntity(bundle));
      return true;
    } catch {
      return false;
    }
  });
}

interface ProvenanceCheck {
  subjects: Map<string, string> | null;
  results: CheckResult[];
}

async function checkProvenance(release: ReleaseFiles, publicKey: KeyObject): Promise<ProvenanceCheck> {
  const results: CheckResult[] = [];
  const fail = (detail: string): ProvenanceCheck => ({
    subjects: null,
    results: [...results, { file: PROVENANCE_FILE, check: 'provenance', ok: false, detail }],
  });
  const text = await release.text(PROVENANCE_FILE);
  if (text === null) return fail('missing');
  if (text instanceof Refused) return fail(text.reason);
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length !== 1) return fail(`expected one DSSE envelope line, found ${lines.length}`);
  let env: DsseEnvelope;
  try {
    env = parseEnvelope(lines[0]!);
  } catch (err) {
    return fail((err as Error).message);
  }
  if (env.payloadType !== INTOTO_PAYLOAD_TYPE) return fail(`payloadType is ${JSON.stringify(env.payloadType)}, expected ${INTOTO_PAYLOAD_TYPE}`);
  if (!verifyEnvelope(publicKey, env) || !sigstoreVerifiesEnvelope(env, publicKey)) return fail('DSSE signature does not verify with this key');
  let statement: { _type?: unknown; predicateType?: unknown; subject?: unknown };
  try {
    statement = parseJsonBounded(Buffer.from(env.payload, 'base64').toString('utf8'), 'the provenance statement') as typeof statement;
  } catch {
    return fail('payload is not JSON');
  }
  if (statement._type !== STATEMENT_TYPE) return fail(`statement _type is ${JSON.stringify(statement._type)}`);
  if (statement.predicateType !== SLSA_PROVENANCE_V1) return fail(`predicateType is ${JSON.stringify(statement.predicateType)}`);
  if (!Array.isArray(statement.subject)) return fail('statement has no subject list');
  const subjects = new Map<string, string>(); // keyed by names from outside: a Map, never an object
  for (const s of statement.subject as { name?: unknown; digest?: { sha256?: unknown } }[]) {
    if (typeof s?.name !== 'string' || typeof s.digest?.sha256 !== 'string') return fail('malformed subject entry');
    subjects.set(s.name, s.digest.sha256);
  }
  results.push({ file: PROVENANCE_FILE, check: 'provenance', ok: true, detail: `DSSE signature valid, ${subjects.size} subjects` });
  return { subjects, results };
}

async function checkSignatures(release: ReleaseFiles, file: string, publicKey: KeyObject, digest: string): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const candidates: { check: CheckName; sig: Buffer }[] = [];
  const sigText = await release.text(sigPath(file));
  if (sigText === null) results.push({ file, check: 'signature', ok: false, detail: `${sigPath(file)} missing` });
  else if (sigText instanceof Refused) results.push({ file, check: 'signature', ok: false, detail: sigText.reason });
  else {
    try {
      candidates.push({ check: 'signature', sig: decodeSigFile(sigText) });
    } catch (err) {
      results.push({ file, check: 'signature', ok: false, detail: `${sigPath(file)}: ${(err as Error).message}` });
    }
  }
  const bundleText = await release.text(bundlePath(file));
  if (bundleText === null) results.push({ file, check: 'bundle', ok: false, detail: `${bundlePath(file)} missing` });
  else if (bundleText instanceof Refused) results.push({ file, check: 'bundle', ok: false, detail: bundleText.reason });
  else {
    try {
      const b = parseMessageBundle(bundleText);
      if (b.hint !== publicKeyHint(publicKey)) throw new Error('signed with a different key (publicKey.hint does not match)');
      if (b.digest.toString('hex') !== digest) throw new Error('messageDigest does not match the file');
      candidates.push({ check: 'bundle', sig: b.signature });
    } catch (err) {
      results.push({ file, check: 'bundle', ok: false, detail: `${bundlePath(file)}: ${(err as Error).message}` });
    }
  }
  if (candidates.length) {
    const verdicts = await verifyFile(
      publicKey,
      join(release.dist, file),
      candidates.map((c) => c.sig),
      release.limits.maxArtifactBytes,
    );
    candidates.forEach((c, i) => {
      const name = c.check === 'signature' ? sigPath(file) : bundlePath(file);
      results.push({ file, check: c.check, ok: verdicts[i]!, detail: verdicts[i] ? `${name} valid` : `${name} does not verify with this key` });
    });
  }
  return results;
}

export async function verifyDist(dist: string, publicKey: KeyObject, limits: ReleaseLimits = DEFAULT_RELEASE_LIMITS): Promise<CheckResult[]> {
  await assertReleaseDir(dist);
  const results: CheckResult[] = [];
  const release = await releaseFiles(dist, limits);
  let manifest: Manifest | null = null;
  try {
    manifest = await readManifest(dist, limits);
  } catch (err) {
    results.push({ file: MANIFEST_FILE, check: 'checksum', ok: false, detail: (err as Error).message });
  }
  const prov = await checkProvenance(release, publicKey);
  results.push(...prov.results);

  // What must be signed: the provenance subjects (the signed list of what was released)
  // plus whatever the manifest requires, so deleting a subject entry cannot hide a file.
  const signed = new Set<string>(prov.subjects?.keys() ?? []);
  if (manifest) {
    try {
      for (const f of requiredSignedFiles(manifest)) signed.add(f);
    } catch (err) {
      results.push({ file: MANIFEST_FILE, check: 'checksum', ok: false, detail: (err as Error).message });
      manifest = null;
    }
  }
  if (!prov.subjects) for (const f of GENERATED_SIGNED_FILES) if ((await release.digest(f)) !== null) signed.add(f);

  for (const file of [...signed].sort()) {
    if (file.split('/').includes('..') || file.startsWith('/')) {
      results.push({ file, check: 'provenance', ok: false, detail: 'unsafe subject path' });
      continue;
    }
    const got = await release.digest(file);
    if (got === null) {
      results.push({ file, check: 'signature', ok: false, detail: 'missing' });
      continue;
    }
    if (got instanceof Refused) {
      results.push({ file, check: 'signature', ok: false, detail: got.reason });
      continue;
    }
    const digest = got.sha256;
    if (prov.subjects) {
      const want = prov.subjects.get(file);
      if (want === undefined) results.push({ file, check: 'provenance', ok: false, detail: `not a subject of ${PROVENANCE_FILE}` });
      else
        results.push({
          file,
          check: 'provenance',
          ok: want === digest,
          detail: want === digest ? 'digest matches provenance subject' : `sha256 ${digest} does not match provenance subject (${want})`,
        });
    }
    results.push(...(await checkSignatures(release, file, publicKey, digest)));
  }

  if (manifest) results.push(...(await checkIntegrity(dist, manifest, release)));

  // Nothing may sit in dist/ unaccounted for. A file is covered only if it is
  // signed, is the provenance, is the .sha256 sidecar of a manifest artifact
  // (whose content checkIntegrity ties to the signed artifact), or is exactly
  // the .sig/.sigstore.json of a signed file: a name ending in .sig proves nothing.
  const sidecarTargets = new Set(manifest?.artifacts.map((a) => a.path + CHECKSUM_SUFFIX) ?? []);
  const signatureFiles = new Set([...signed].flatMap((f) => [sigPath(f), bundlePath(f)]));
  for (const f of await listFiles(dist)) {
    if (signed.has(f) || f === PROVENANCE_FILE || signatureFiles.has(f) || sidecarTargets.has(f)) continue;
    const detail = isSignatureFile(f)
      ? `a signature file, but ${f.replace(/\.(sig|sigstore\.json)$/, '')} is not a signed file of this release`
      : 'not covered by any signature, provenance subject or checksum';
    results.push({ file: f, check: 'coverage', ok: false, detail });
  }
  return results;
}
