// Chooses one package from a mirror index (pure). The seed's rules, in order:
//   1. the name matches exactly;
//   2. the arch matches (packages are per arch; default: the host's);
//   3. --version matches exactly; without it the newest version is taken and
//      the explanation says so (the seed calls an unpinned install "bad");
//   4. --config-hash matches exactly ("ensures exact build configuration");
//      without it, a single configuration is taken; several configurations of
//      the chosen version are refused rather than guessed, because a config
//      hash exists precisely to keep incompatible builds apart;
//   5. --file-hash, if given, must match the package file's hash.
// Every failure lists what is available, as the seed's troubleshooting asks.
// Downgrades: an install without --version never replaces a newer installed
// version (a mirror serving an old index must not roll a prefix back); with
// --version it does, and says so.
import { OsforgeError } from '../errors.ts';
import { compareVersions } from './naming.ts';
import type { IndexEntry } from './mirror-index.ts';

export interface Criteria {
  name: string;
  arch: string;
  version?: string;
  configHash?: string;
  fileHash?: string;
}

export interface Selection {
  entry: IndexEntry;
  /** Human-readable reasons, one per rule that narrowed the choice. */
  explanation: string[];
}

export function describeEntry(e: IndexEntry): string {
  return `${e.name} ${e.version} (${e.arch}, config ${e.config_hash}, file ${e.file_hash}, ${e.size} bytes)`;
}

export function selectPackage(all: readonly IndexEntry[], c: Criteria, mirror: string): Selection {
  const explanation: string[] = [];
  const named = all.filter((e) => e.name === c.name);
  if (named.length === 0) {
    const names = [...new Set(all.map((e) => e.name))].sort();
    const near = names.filter((n) => n[0] === c.name[0]);
    const shown = (near.length ? near : names).slice(0, 40);
    throw notFound(
      `package ${JSON.stringify(c.name)} is not on ${mirror}`,
      names.length === 0
        ? 'the mirror index lists no packages'
        : `available${near.length ? ` (starting with "${c.name[0]}")` : ''}: ${shown.join(', ')}${names.length > shown.length && !near.length ? ', ...' : ''}`,
    );
  }
  const forArch = named.filter((e) => e.arch === c.arch);
  if (forArch.length === 0) {
    throw notFound(
      `package ${c.name} has no ${c.arch} build on ${mirror}`,
      `available: ${named.map(describeEntry).join('; ')} (pick another arch with --arch)`,
    );
  }
  let candidates = forArch;
  if (c.version !== undefined) {
    candidates = forArch.filter((e) => e.version === c.version);
    if (candidates.length === 0) {
      throw notFound(
        `${c.name} ${c.version} (${c.arch}) is not on ${mirror}`,
        `available versions: ${[...new Set(forArch.map((e) => e.version))].join(', ')} (run \`osforge install ${c.name} --list\`)`,
      );
    }
    explanation.push(`version ${c.version} as requested`);
  } else {
    const versions = [...new Set(forArch.map((e) => e.version))].sort(compareVersions);
    const newest = versions[versions.length - 1]!;
    candidates = forArch.filter((e) => e.version === newest);
    explanation.push(
      versions.length > 1
        ? `no --version given: chose the newest of ${versions.join(', ')}, which is ${newest}; pin it with --version ${newest}`
        : `no --version given: ${newest} is the only version; pin it with --version ${newest}`,
    );
  }
  if (c.configHash !== undefined) {
    const want = c.configHash;
    const matching = candidates.filter((e) => e.config_hash === want);
    if (matching.length === 0) {
      throw notFound(
        `config hash mismatch: no ${c.name} ${candidates[0]!.version} (${c.arch}) with config hash ${want}`,
        `expected config ${want}; available: ${candidates.map((e) => e.config_hash).join(', ')}. ` +
          'A different config hash means a different build configuration (compiler, USE flags, platform, dependencies); ' +
          'check yours with `osforge package` and pass it with --config-hash',
      );
    }
    candidates = matching;
    explanation.push(`config hash ${want} as requested`);
  }
  if (c.fileHash !== undefined) {
    const want = c.fileHash;
    const matching = candidates.filter((e) => e.file_hash === want);
    if (matching.length === 0) {
      throw new OsforgeError(
        'SHA256_MISMATCH',
        `file hash mismatch for ${c.name} ${candidates[0]!.version} (${c.arch}): expected ${want}, mirror has ${candidates.map((e) => e.file_hash).join(', ')}`,
        { arch: c.arch, hint: 'the package on the mirror is not the one you pinned; it was rebuilt or replaced' },
      );
    }
    candidates = matching;
    explanation.push(`file hash ${want} as requested`);
  }
  if (candidates.length > 1) {
    throw new OsforgeError(
      'USAGE',
      `${candidates.length} configurations of ${c.name} ${candidates[0]!.version} (${c.arch}) match: ${candidates.map(describeEntry).join('; ')}`,
      {
        arch: c.arch,
        hint: `choose one with --config-hash (e.g. --config-hash ${candidates[0]!.config_hash}); builds with different config hashes are not interchangeable`,
      },
    );
  }
  const entry = candidates[0]!;
  if (c.configHash === undefined) explanation.push(`config hash ${entry.config_hash}: the only ${c.arch} configuration of that version`);
  return { entry, explanation };
}

/**
 * Throws when installing `entry` over `installed` would go back a version and
 * no --version asked for it; returns true when it is a requested downgrade.
 */
export function refuseDowngrade(
  installed: { name: string; version: string } | undefined,
  entry: IndexEntry,
  requestedVersion: string | undefined,
  mirror: string,
): boolean {
  if (!installed || compareVersions(entry.version, installed.version) >= 0) return false;
  if (requestedVersion === undefined) {
    throw new OsforgeError(
      'SOURCE_FETCH',
      `refusing to downgrade ${entry.name} from ${installed.version} (installed) to ${entry.version}, the newest ${entry.arch} build on ${mirror}: an install without --version never downgrades`,
      { arch: entry.arch, hint: `the mirror may be stale or rolled back; if you do mean to go back, pass --version ${entry.version}` },
    );
  }
  return true;
}

function notFound(message: string, available: string): OsforgeError {
  return new OsforgeError('SOURCE_FETCH', `${message}; ${available}`, { hint: 'list what a mirror has with `osforge install <package> --list`' });
}
