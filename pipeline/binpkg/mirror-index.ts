// index.json of a binary mirror (pure): build, serialise, parse.
//
// {
//   "total": 2,
//   "packages": [ { "name", "version", "arch", "config_hash", "file_hash",
//                   "filename", "size", "sha256" }, ... ],
//   "by_name": { "bash": [ { same fields without "name" }, ... ] }
// }
//
// Entries are sorted (name, version, arch, config hash) and carry no
// timestamps, so publishing the same packages twice yields the same bytes.
// by_name is keyed by names from outside: it is a null-prototype object, so a
// package named "constructor" or "__proto__" is a name like any other.
import { OsforgeError } from '../errors.ts';
import { assertJsonValueCount } from '../util/json-bounded.ts';
import { binaryFilename, compareVersions, isArch, isHash8, isName, isSha256, isVersion } from './naming.ts';

export interface IndexEntry {
  name: string;
  version: string;
  arch: string;
  config_hash: string;
  /** First 8 hex of the package file's sha256 (the .sha256 "Content Hash"). */
  file_hash: string;
  filename: string;
  size: number;
  /** Full sha256 of the package file. */
  sha256: string;
}

export type ByNameEntry = Omit<IndexEntry, 'name'>;

export interface MirrorIndex {
  total: number;
  packages: IndexEntry[];
  by_name: Record<string, ByNameEntry[]>;
}

export function compareEntries(a: IndexEntry, b: IndexEntry): number {
  return (
    (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) ||
    compareVersions(a.version, b.version) ||
    (a.arch < b.arch ? -1 : a.arch > b.arch ? 1 : 0) ||
    (a.config_hash < b.config_hash ? -1 : a.config_hash > b.config_hash ? 1 : 0)
  );
}

/** Builds an index; a later entry with the same filename replaces an earlier one. */
export function buildIndex(entries: readonly IndexEntry[]): MirrorIndex {
  const byFile = new Map<string, IndexEntry>();
  for (const e of entries) byFile.set(e.filename, normalizeEntry(e));
  const packages = [...byFile.values()].sort(compareEntries);
  const by_name = Object.create(null) as Record<string, ByNameEntry[]>;
  for (const { name, ...rest } of packages) (by_name[name] ??= []).push(rest);
  return { total: packages.length, packages, by_name };
}

function normalizeEntry(e: IndexEntry): IndexEntry {
  // Fixed key order so the JSON is byte-stable.
  return {
    name: e.name,
    version: e.version,
    arch: e.arch,
    config_hash: e.config_hash,
    file_hash: e.file_hash,
    filename: e.filename,
    size: e.size,
    sha256: e.sha256,
  };
}

export function serializeIndex(index: MirrorIndex): string {
  return JSON.stringify(index, null, 2) + '\n';
}

/** Index entries have 8 fields: 8 bytes of JSON per value is far below what any real index uses. */
export const BYTES_PER_INDEX_VALUE = 8;
export const DEFAULT_MAX_INDEX_VALUES = (32 * 1024 * 1024) / BYTES_PER_INDEX_VALUE;

/**
 * Parses and validates index.json. Every entry is checked, including that its
 * filename is exactly what its name/version/config hash imply: a hostile
 * index must not be able to steer downloads to other paths. The nesting depth
 * and the number of values are checked before JSON.parse allocates anything.
 */
export function parseIndex(text: string, where: string, maxValues = DEFAULT_MAX_INDEX_VALUES): MirrorIndex {
  const hint = 'regenerate it with `osforge upload --generate-index-only --source <mirror dir>`';
  const fail = (why: string) => new OsforgeError('CONFIG_INVALID', `invalid mirror index ${where}: ${why}`, { hint });
  assertJsonValueCount(
    text,
    `mirror index ${where}`,
    maxValues,
    `a real index has about 20 values per package; raise --max-index-size / $OSFORGE_MAX_INDEX_SIZE (it allows one value per ${BYTES_PER_INDEX_VALUE} bytes) if it is genuine`,
  );
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw fail(`not JSON (${(err as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || !Array.isArray((raw as { packages?: unknown }).packages)) {
    throw fail('no "packages" array');
  }
  const entries: IndexEntry[] = [];
  for (const [i, p] of (raw as { packages: unknown[] }).packages.entries()) {
    const e = p as Partial<IndexEntry>;
    const ok =
      typeof e === 'object' &&
      e !== null &&
      typeof e.name === 'string' &&
      isName(e.name) &&
      typeof e.version === 'string' &&
      isVersion(e.version) &&
      typeof e.arch === 'string' &&
      isArch(e.arch) &&
      typeof e.config_hash === 'string' &&
      isHash8(e.config_hash) &&
      typeof e.file_hash === 'string' &&
      isHash8(e.file_hash) &&
      typeof e.sha256 === 'string' &&
      isSha256(e.sha256) &&
      typeof e.size === 'number' &&
      Number.isSafeInteger(e.size) &&
      e.size >= 0 &&
      typeof e.filename === 'string';
    if (!ok) throw fail(`packages[${i}] lacks or has a malformed name/version/arch/config_hash/file_hash/filename/size/sha256`);
    const expected = binaryFilename(e.name!, e.version!, e.config_hash!);
    if (e.filename !== expected) throw fail(`packages[${i}] filename ${JSON.stringify(e.filename)} should be ${JSON.stringify(expected)}`);
    if (e.sha256!.slice(0, 8) !== e.file_hash) throw fail(`packages[${i}] file_hash ${e.file_hash} is not the start of its sha256`);
    entries.push(e as IndexEntry);
  }
  return buildIndex(entries);
}
