// Config hash and content hash of a binary package (pure).
import { keyOf, sha256 } from '../util/hash.ts';
import { OsforgeError } from '../errors.ts';

export interface ConfigHashInput {
  /** Target platform, e.g. "amd64". */
  arch: string;
  /** Compiler and libc versions, e.g. "gcc 12.2.0 / musl 1.2.3". */
  compiler: string;
  /** Enabled USE flags; order and duplicates do not matter. */
  useFlags: string[];
  /** Hash over the package's full dependency graph: its stage key. */
  depGraphHash: string;
}

/**
 * First 8 hex digits of sha256 over the NUL-separated, labelled, canonical
 * inputs (platform, compiler, sorted USE flags, dependency-graph hash).
 * Two builds share a config hash only if all four agree.
 */
export function configHash(input: ConfigHashInput): string {
  for (const f of input.useFlags) {
    if (!/^[A-Za-z0-9_+@.-]+$/.test(f)) {
      throw new OsforgeError('CONFIG_INVALID', `invalid USE flag ${JSON.stringify(f)}`, { arch: input.arch });
    }
  }
  if (!input.arch || !input.compiler || !input.depGraphHash) {
    throw new OsforgeError('CONFIG_INVALID', 'config hash needs arch, compiler and dependency-graph hash', { arch: input.arch });
  }
  const use = [...new Set(input.useFlags)].sort().join(' ');
  return keyOf(['buckos-binpkg-config/1', `platform=${input.arch}`, `compiler=${input.compiler}`, `use=${use}`, `deps=${input.depGraphHash}`]).slice(0, 8);
}

/** First 8 hex digits of sha256 of the package file (the .tar.gz bytes). */
export function contentHash(data: Uint8Array): string {
  return sha256(data).slice(0, 8);
}
