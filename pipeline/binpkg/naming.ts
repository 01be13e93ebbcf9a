// Names, file names and mirror paths of BuckOS binary packages (pure).
//
//   <package>-<version>-<config_hash>-bin.tar.gz        the package
//   <package>-<version>-<config_hash>-bin.tar.gz.sha256 checksum + metadata
//   <package>-<version>-<config_hash>-bin.tar.gz.sig    optional cosign signature
//
// On a mirror every file lives under the lower-cased first character of the
// package name: b/bash-5.3-a1b2c3d4-bin.tar.gz. The seed's index.json example
// shows "bash-5.3-abc12345-def67890.tar.gz", which contradicts its own naming
// section; osforge always uses the -bin.tar.gz form.
import { OsforgeError } from '../errors.ts';

export const BIN_SUFFIX = '-bin.tar.gz';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
const VERSION_RE = /^[A-Za-z0-9][A-Za-z0-9._+~-]*$/;
const HASH8_RE = /^[0-9a-f]{8}$/;
const SHA256_RE = /^[0-9a-f]{64}$/;
const ARCH_RE = /^[a-z0-9_]+$/;

export function isName(s: string): boolean {
  return NAME_RE.test(s) && s.length <= 200;
}
export function isVersion(s: string): boolean {
  return VERSION_RE.test(s) && s.length <= 100;
}
export function isHash8(s: string): boolean {
  return HASH8_RE.test(s);
}
export function isSha256(s: string): boolean {
  return SHA256_RE.test(s);
}
export function isArch(s: string): boolean {
  return ARCH_RE.test(s) && s.length <= 32;
}

/** Throws a USAGE error unless every given part is well formed (no "/", no "..", no spaces). */
export function assertPackageId(id: { name?: string; version?: string; configHash?: string; arch?: string }): void {
  if (id.name !== undefined && !isName(id.name)) throw bad('package name', id.name);
  if (id.version !== undefined && !isVersion(id.version)) throw bad('version', id.version);
  if (id.configHash !== undefined && !isHash8(id.configHash)) throw bad('config hash (8 lower-case hex digits)', id.configHash);
  if (id.arch !== undefined && !isArch(id.arch)) throw bad('arch', id.arch);
}

function bad(what: string, value: string): OsforgeError {
  return new OsforgeError('USAGE', `invalid ${what}: ${JSON.stringify(value)}`);
}

/** `bash-5.3-a1b2c3d4-bin.tar.gz` */
export function binaryFilename(name: string, version: string, configHash: string): string {
  assertPackageId({ name, version, configHash });
  return `${name}-${version}-${configHash}${BIN_SUFFIX}`;
}

/** Mirror sub-directory of a package: its lower-cased first character. */
export function letterDir(name: string): string {
  assertPackageId({ name });
  return name[0]!.toLowerCase();
}

/** Path of a package file relative to the mirror root: `b/bash-5.3-a1b2c3d4-bin.tar.gz`. */
export function mirrorPath(name: string, filename: string): string {
  return `${letterDir(name)}/${filename}`;
}

/** Node's process.arch → the arch names osforge uses (Docker platform names). */
export function hostArch(): string {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64', riscv64: 'riscv64', ppc64: 'ppc64le', s390x: 's390x' };
  return map[process.arch] ?? process.arch;
}

/**
 * Version order: numeric runs compare as numbers, other runs byte-wise;
 * "1.10" > "1.9", "5.3" > "5.3~rc1" is not special-cased beyond that.
 */
export function compareVersions(a: string, b: string): number {
  const ta = a.match(/\d+|[^\d]+/g) ?? [];
  const tb = b.match(/\d+|[^\d]+/g) ?? [];
  for (let i = 0; i < Math.max(ta.length, tb.length); i++) {
    const x = ta[i];
    const y = tb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d+$/.test(x);
    const ny = /^\d+$/.test(y);
    if (nx && ny) {
      const d = BigInt(x) - BigInt(y);
      if (d !== 0n) return d < 0n ? -1 : 1;
    } else if (x !== y) {
      if (nx !== ny) return nx ? 1 : -1;
      return x < y ? -1 : 1;
    }
  }
  return 0;
}
