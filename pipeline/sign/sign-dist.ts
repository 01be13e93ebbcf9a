// `osforge sign`: checks dist/ is internally consistent, writes
// RELEASE_NOTES.md, sbom.spdx.json and provenance.intoto.jsonl, then signs
// every released file (<file>.sig + <file>.sigstore.json).
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { OsforgeError } from '../errors.ts';
import { generateChangelog } from '../release/changelog.ts';
import { sha256File } from '../util/hash.ts';
import { encodeBundle, encodeSigFile, messageSignatureBundle, signFile } from '../crypto/blob.ts';
import { signEnvelope } from './dsse.ts';
import type { KeyPair } from '../crypto/keys.ts';
import { buildStatement, encodeStatement, INTOTO_PAYLOAD_TYPE, type FileDigest } from './provenance.ts';
import { readManifest } from './read-manifest.ts';
import {
  bundlePath,
  CHECKSUM_SUFFIX,
  GENERATED_SIGNED_FILES,
  PROVENANCE_FILE,
  RELEASE_NOTES_FILE,
  requiredSignedFiles,
  SBOM_FILE,
  sigPath,
} from './release-files.ts';
import { assertReleaseDir, listFiles } from './dist-files.ts';
import type { Manifest } from '../model/manifest.ts';
import { buildSbom, encodeSbom } from './sbom.ts';
import { cpeTable, type CpeTable } from './cpe.ts';
import { loadSources } from '../plan/load.ts';
import { paths } from '../paths.ts';
import { checkIntegrity, releaseFiles } from './verify-dist.ts';
import { DEFAULT_RELEASE_LIMITS, Refused, type ReleaseLimits } from './release-reads.ts';
import { printable } from '../util/printable.ts';
import { writeFileAtomic } from '../util/write-atomic.ts';

/** Repo files that configure the pipeline; those present are recorded in the provenance. */
export const CONFIG_FILES = ['images/buckos.json', 'images/sources.json', 'package-lock.json'] as const;
/** Lock files pinning images and dependencies, first one present wins. */
export const LOCK_FILES = ['images/lock.json', 'images/images.lock.json'] as const;
export const BUILDER_ID_ENV = 'OSFORGE_BUILDER_ID';

export interface SignDistOptions {
  dist: string;
  keyPair: KeyPair;
  /** Git checkout the release was built from (changelog, config files). */
  repo: string;
  releaseNotes: boolean;
  builderId?: string;
  log?: (line: string) => void;
  limits?: ReleaseLimits;
  /** The SBOM's CPEs (default: the source pins' `cpe` in the plan's sources.json, images/ or $OSFORGE_IMAGES). */
  cpes?: CpeTable;
}

async function repoFiles(repo: string, names: readonly string[]): Promise<FileDigest[]> {
  const out: FileDigest[] = [];
  for (const path of names) {
    const abs = join(repo, path);
    if (existsSync(abs)) out.push({ path, sha256: await sha256File(abs) });
  }
  return out;
}

/** Files a signing run writes (and so may replace): what it generates, and the signatures of everything it may sign. */
export function signingOutputs(m: Manifest): Set<string> {
  const signable = [...requiredSignedFiles(m), ...GENERATED_SIGNED_FILES];
  return new Set([PROVENANCE_FILE, ...GENERATED_SIGNED_FILES, ...signable.flatMap((f) => [sigPath(f), bundlePath(f)])]);
}

/** Files in dist/ that neither the build (manifest.json) nor a signing run accounts for. */
export async function strayFiles(dist: string, m: Manifest): Promise<string[]> {
  const known = new Set([...requiredSignedFiles(m), ...m.artifacts.map((a) => a.path + CHECKSUM_SUFFIX), ...signingOutputs(m)]);
  return (await listFiles(dist)).filter((f) => !known.has(f));
}

/**
 * Everything `sign` checks before it writes anything: dist/ exists, its
 * manifest parses, no stray files, and every artifact matches. Cheap and
 * key-free, so the CLI runs it before asking for a password.
 */
export async function checkSignable(dist: string, limits: ReleaseLimits = DEFAULT_RELEASE_LIMITS): Promise<Manifest> {
  await assertReleaseDir(dist);
  const manifest = await readManifest(dist, limits);

  // A signature over a directory vouches for all of it: files the build did not
  // record would either be left unsigned (and fail verify) or look endorsed.
  const strays = await strayFiles(dist, manifest);
  if (strays.length) {
    const shown =
      strays
        .slice(0, 5)
        .map((f) => printable(f))
        .join(', ') + (strays.length > 5 ? ` and ${strays.length - 5} more` : '');
    throw new OsforgeError('CONFIG_INVALID', `refusing to sign ${dist}: ${strays.length} file(s) not listed in manifest.json: ${shown}`, {
      stage: 'sign',
      hint: 'remove them, or rebuild with `osforge dist` so that manifest.json lists everything in the release directory',
    });
  }

  const broken = (await checkIntegrity(dist, manifest, await releaseFiles(dist, limits))).filter((r) => !r.ok);
  if (broken.length) {
    throw new OsforgeError('SHA256_MISMATCH', `${dist} is not consistent with its manifest and checksums; refusing to sign it`, {
      stage: 'sign',
      logTail: broken.map((r) => printable(`${r.file}: ${r.detail}`, 1000)),
      hint: 'rebuild with `osforge dist`; never sign files that do not match what the build recorded',
    });
  }
  return manifest;
}

export async function signDist(opts: SignDistOptions): Promise<string[]> {
  const log = opts.log ?? (() => {});
  const { dist } = opts;
  const limits = opts.limits ?? DEFAULT_RELEASE_LIMITS;
  const manifest = await checkSignable(dist, limits);

  const generated: string[] = [];
  if (opts.releaseNotes) {
    let notes: string;
    try {
      notes = await generateChangelog({ cwd: opts.repo, version: manifest.version, to: manifest.commit, releaseCount: 1 });
    } catch (err) {
      if (err instanceof OsforgeError) {
        throw new OsforgeError(
          err.code,
          `writing ${RELEASE_NOTES_FILE}: ${err.message}`,
          {
            ...err.context,
            stage: 'sign',
            hint: `${err.context.hint ?? ''}; or pass --no-release-notes`.replace(/^; /, ''),
          },
          { cause: err },
        );
      }
      throw err;
    }
    await writeFileAtomic(join(dist, RELEASE_NOTES_FILE), notes);
    generated.push(RELEASE_NOTES_FILE);
    log(`wrote ${RELEASE_NOTES_FILE}`);
  }
  // Re-signing replaces every signing output: one this run does not rewrite
  // (RELEASE_NOTES.md under --no-release-notes) is removed with its signatures,
  // so the directory always matches the one provenance it carries.
  for (const f of GENERATED_SIGNED_FILES) {
    if (generated.includes(f) || f === SBOM_FILE) continue;
    for (const p of [f, sigPath(f), bundlePath(f)]) {
      if (existsSync(join(dist, p))) {
        await rm(join(dist, p), { force: true });
        log(`removed stale ${p}`);
      }
    }
  }
  await writeFileAtomic(join(dist, SBOM_FILE), encodeSbom(buildSbom(manifest, opts.cpes ?? cpeTable(loadSources(paths.images)))));
  generated.push(SBOM_FILE);
  log(`wrote ${SBOM_FILE}`);

  const files = [...new Set([...requiredSignedFiles(manifest), ...generated])].sort();
  // Listed again: the generated files are new. Only listed regular files are hashed.
  const release = await releaseFiles(dist, limits);
  const subjects: FileDigest[] = [];
  for (const path of files) {
    const got = await release.digest(path);
    if (got === null || got instanceof Refused) {
      throw new OsforgeError('ARCHIVE_UNSAFE', `refusing to sign ${printable(path)}: ${got === null ? 'it is missing' : got.reason}`, {
        stage: 'sign',
        hint: 'rebuild with `osforge dist`',
      });
    }
    subjects.push({ path, sha256: got.sha256 });
  }

  const [lockFile] = await repoFiles(opts.repo, LOCK_FILES);
  const statement = buildStatement({
    manifest,
    subjects,
    configFiles: await repoFiles(opts.repo, CONFIG_FILES),
    lockFile,
    builderId: opts.builderId,
  });
  const envelope = signEnvelope(opts.keyPair.privateKey, INTOTO_PAYLOAD_TYPE, encodeStatement(statement));
  await writeFileAtomic(join(dist, PROVENANCE_FILE), JSON.stringify(envelope) + '\n');
  log(`wrote ${PROVENANCE_FILE} (${subjects.length} subjects)`);

  for (const path of files) {
    const sig = await signFile(opts.keyPair.privateKey, join(dist, path), limits.maxArtifactBytes);
    await writeFileAtomic(join(dist, sigPath(path)), encodeSigFile(sig.signature));
    await writeFileAtomic(join(dist, bundlePath(path)), encodeBundle(messageSignatureBundle(sig, opts.keyPair.publicKey)));
    log(`signed ${path}`);
  }
  return files;
}
