// Reading a release directory that someone else may have written: `verify`
// checks releases downloaded from anywhere, and `sign` must not be steered
// outside dist/ either. So a name from SHA256SUMS, a provenance subject or
// manifest.json is opened only when it is a file the directory listing found
// (no "..", no absolute path, no symlinked parent), and then only as a
// regular file under a size cap: a symlink to /dev/zero or a FIFO is refused,
// never followed or waited on, and no file outside the release can be hashed.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { parseSize } from '../util/units.ts';
import { OsforgeError } from '../errors.ts';
import { printable } from '../util/printable.ts';
import { readRegularFile, streamRegularFile } from '../util/regular-file.ts';
import { isPlainRelative } from '../util/safe-name.ts';
import { settings } from '../settings.ts';

export interface ReleaseLimits {
  /** Largest artifact hashed or signed (bytes). */
  maxArtifactBytes: number;
  /** Largest text file read whole: manifest.json, SHA256SUMS, sidecars, signatures, bundles, provenance (bytes). */
  maxMetadataBytes: number;
}

const GiB = 1024 ** 3;
export const DEFAULT_RELEASE_LIMITS: ReleaseLimits = {
  // A bootable disk image is a few GiB; 64 GiB leaves room and still ends a read of something endless.
  maxArtifactBytes: 64 * GiB,
  maxMetadataBytes: 64 * 1024 * 1024,
};

export const releaseLimitOptions = {
  'max-artifact-size': { type: 'string' },
  'max-metadata-size': { type: 'string' },
} as const;

export const RELEASE_LIMITS_HELP = `  --max-artifact-size SIZE  largest artifact to hash ($OSFORGE_MAX_ARTIFACT_SIZE; default 64G)
  --max-metadata-size SIZE  largest manifest.json, SHA256SUMS, .sha256, .sig, .sigstore.json or
                            provenance to read ($OSFORGE_MAX_METADATA_SIZE; default 64M)
  SIZE is bytes or a number with K, M or G (powers of 1024).`;

/** Release limits from parsed flags and the environment; a flag wins. */
export function releaseLimitsFrom(values: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): ReleaseLimits {
  const fromEnv = settings(env).limits;
  const pick = (flag: string, envName: 'OSFORGE_MAX_ARTIFACT_SIZE' | 'OSFORGE_MAX_METADATA_SIZE', fallback: number): number => {
    const fromFlag = values[flag];
    if (typeof fromFlag === 'string') return parseSize(fromFlag, `--${flag}`);
    const raw = fromEnv[envName];
    return raw ? parseSize(raw, `$${envName}`) : fallback;
  };
  return {
    maxArtifactBytes: pick('max-artifact-size', 'OSFORGE_MAX_ARTIFACT_SIZE', DEFAULT_RELEASE_LIMITS.maxArtifactBytes),
    maxMetadataBytes: pick('max-metadata-size', 'OSFORGE_MAX_METADATA_SIZE', DEFAULT_RELEASE_LIMITS.maxMetadataBytes),
  };
}

/** A read that was refused (a symlink, a FIFO, a device, over the cap, a name outside the release), with why. */
export class Refused {
  constructor(readonly reason: string) {}
}

function refusal(err: unknown): Refused {
  if (err instanceof OsforgeError && (err.code === 'ARCHIVE_UNSAFE' || err.code === 'LIMIT_EXCEEDED')) return new Refused(err.message);
  throw err;
}

/** The files of one release directory (as listFiles found them), read only through here. */
export class ReleaseFiles {
  private readonly digests = new Map<string, Promise<{ sha256: string; size: number } | null | Refused>>();
  private readonly files: ReadonlySet<string>;

  constructor(
    readonly dist: string,
    listing: readonly string[],
    readonly limits: ReleaseLimits = DEFAULT_RELEASE_LIMITS,
  ) {
    this.files = new Set(listing);
  }

  /** null: `name` is a plain name the listing does not hold (missing); Refused: it is no name inside the release. */
  private check(name: string): null | Refused | undefined {
    if (!isPlainRelative(name)) return new Refused(`${JSON.stringify(printable(name))} is not a file name inside the release; refused without opening it`);
    return this.files.has(name) ? undefined : null;
  }

  /** sha256 and size of a release file, memoised; null when missing. */
  digest(name: string): Promise<{ sha256: string; size: number } | null | Refused> {
    let p = this.digests.get(name);
    if (!p) {
      p = this.hash(name);
      this.digests.set(name, p);
    }
    return p;
  }

  private async hash(name: string): Promise<{ sha256: string; size: number } | null | Refused> {
    const bad = this.check(name);
    if (bad !== undefined) return bad;
    try {
      const { stream, size } = await streamRegularFile(join(this.dist, name), name, this.limits.maxArtifactBytes);
      const h = createHash('sha256');
      for await (const chunk of stream) h.update(chunk as Buffer);
      return { sha256: h.digest('hex'), size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      return refusal(err);
    }
  }

  /** A small text file of the release; null when missing. */
  async text(name: string): Promise<string | null | Refused> {
    const bad = this.check(name);
    if (bad !== undefined) return bad;
    try {
      return (await readRegularFile(join(this.dist, name), name, this.limits.maxMetadataBytes)).toString('utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      return refusal(err);
    }
  }
}
