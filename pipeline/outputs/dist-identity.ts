// The "commit-only" refresh: after a commit that touched no build input,
// dist/'s artifacts are already right and only the files that record the
// commit are not. This rewrites manifest.json's commit and dirty fields and
// its line in SHA256SUMS, drops the signing outputs that stood for the old
// commit, and hard-links everything else into the new dist/, which replaces
// the old one the way writeDist does (atomic, fsynced). No container starts.
import { readdir, readFile, link, lstat, chmod, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { OsforgeError } from '../errors.ts';
import { sha256 } from '../util/hash.ts';
import { mapDiskFull } from '../util/durable.ts';
import { COMMIT_BOUND_FILES, MANIFEST_FILE, SUMS_FILE } from '../model/release-files.ts';
import { manifestJson, replaceDist } from './dist-writer.ts';
import type { Manifest } from '../model/manifest.ts';

export interface RecordedIdentity {
  commit: string;
  dirty: boolean;
}

export interface IdentityRefresh {
  /** Files written anew (manifest.json, SHA256SUMS) and their new sha256; empty when dist/ already recorded this identity. */
  rewritten: Record<string, string>;
  /** Signing outputs removed because they stood for the old commit. */
  removed: string[];
  /** One line for the user; says dist/ must be signed again when anything was removed. */
  message: string;
}

export interface RefreshOptions {
  /** Runs on the complete new dir before it replaces dist/; a throw aborts and leaves dist/ as it was. */
  beforeSwap?: (tmp: string) => Promise<void>;
}

function unfit(distDir: string, why: string): OsforgeError {
  return new OsforgeError('CONFIG_INVALID', `cannot refresh the commit recorded in ${distDir}: ${why}`, {
    hint: 'rebuild it with `osforge dist` after removing it',
  });
}

/** Hard-links `from` into `to`, recursively, except the names in `skip` (dist/-relative). */
async function linkTree(from: string, to: string, skip: Set<string>, prefix = ''): Promise<void> {
  for (const e of await readdir(join(from, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (skip.has(rel)) continue;
    if (e.isDirectory()) {
      await mkdir(join(to, rel));
      await linkTree(from, to, skip, rel);
    } else await link(join(from, rel), join(to, rel));
  }
}

/**
 * Makes dist/ record `id` instead of the commit it was built from. Call it
 * only when dist/ is otherwise current (classifyDist says 'identity-only').
 * Refuses a manifest.json or SHA256SUMS that osforge did not write as they
 * are, since only the two fields may change.
 */
export async function refreshRecordedIdentity(distDir: string, id: RecordedIdentity, opts: RefreshOptions = {}): Promise<IdentityRefresh> {
  const text = await readFile(join(distDir, MANIFEST_FILE), 'utf8').catch(() => null);
  if (text === null) throw unfit(distDir, `${MANIFEST_FILE} is missing`);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(text) as Manifest;
  } catch {
    throw unfit(distDir, `${MANIFEST_FILE} is not JSON`);
  }
  if (manifestJson(manifest) !== text || typeof manifest.commit !== 'string' || typeof manifest.dirty !== 'boolean') {
    throw unfit(distDir, `${MANIFEST_FILE} is not in the form osforge writes`);
  }
  if (manifest.commit === id.commit && manifest.dirty === id.dirty)
    return { rewritten: {}, removed: [], message: `${MANIFEST_FILE} already records ${describeId(id)}` };

  const sums = (await readFile(join(distDir, SUMS_FILE), 'utf8').catch(() => '')).split('\n');
  const line = sums.indexOf(`${sha256(text)}  ${MANIFEST_FILE}`);
  if (line < 0) throw unfit(distDir, `${SUMS_FILE} does not list ${MANIFEST_FILE} as it is`);

  // Spreading keeps the key order, so the JSON differs in the two values only.
  const newText = manifestJson({ ...manifest, commit: id.commit, dirty: id.dirty });
  sums[line] = `${sha256(newText)}  ${MANIFEST_FILE}`;
  const newSums = sums.join('\n');
  const present = new Set(await readdir(distDir));
  const removed = COMMIT_BOUND_FILES.filter((f) => present.has(f));
  await mapDiskFull(distDir, newText.length + newSums.length, () =>
    replaceDist(distDir, async (tmp) => {
      await linkTree(distDir, tmp, new Set([MANIFEST_FILE, SUMS_FILE, ...removed]));
      for (const [name, body] of [
        [MANIFEST_FILE, newText],
        [SUMS_FILE, newSums],
      ] as const) {
        await writeFile(join(tmp, name), body);
        await chmod(join(tmp, name), (await lstat(join(distDir, name))).mode & 0o7777);
      }
      await opts.beforeSwap?.(tmp);
    }),
  );
  const rewritten = { [MANIFEST_FILE]: sha256(newText), [SUMS_FILE]: sha256(newSums) };
  const message =
    `dist/ now records ${describeId(id)}: rewrote ${MANIFEST_FILE} and ${SUMS_FILE}, no artifact changed` +
    (removed.length ? `; removed ${removed.length} stale signing output(s) (${removed.join(', ')}): sign dist/ again (osforge sign)` : '');
  return { rewritten, removed, message };
}

function describeId(id: RecordedIdentity): string {
  return `commit ${id.commit.slice(0, 12)}${id.dirty ? ' (dirty)' : ''}`;
}
