// Reads dist/manifest.json with just enough checking that signing and
// verification can trust its shape (the build wrote it; we did not). It is
// read as a regular file under the metadata cap, its nesting checked before
// parsing: verify reads releases from anywhere.
import { z } from 'zod';
import { join } from 'node:path';
import { OsforgeError } from '../errors.ts';
import type { Manifest } from '../model/manifest.ts';
import { MANIFEST_FILE } from './release-files.ts';
import { DEFAULT_RELEASE_LIMITS, type ReleaseLimits } from './release-reads.ts';
import { parseJsonBounded } from '../util/json-bounded.ts';
import { readRegularFile } from '../util/regular-file.ts';
import { parseWith } from '../plan/schema.ts';

const sha256 = z.string().regex(/^[0-9a-fA-F]{64}$/, { error: 'a sha256 (64 hex digits)' });
const image = z.looseObject({ ref: z.string(), id: z.string(), inputHash: z.string() });
const manifestSchema = z.looseObject({
  name: z.string(),
  version: z.string(),
  commit: z.string(),
  sourceDateEpoch: z.number(),
  artifacts: z.array(z.looseObject({ path: z.string().min(1), arch: z.string(), kind: z.string(), size: z.int().nonnegative(), sha256 })),
  images: z.looseObject({ base: z.record(z.string(), image), buildenv: image.optional(), tools: image, builder: image }),
  buck2: z.looseObject({ version: z.string(), sha256: z.string() }).nullable().optional(),
  packages: z.array(
    z.looseObject({
      name: z.string(),
      version: z.string(),
      arch: z.string(),
      license: z.string().optional(),
      key: z.string(),
      sources: z.array(z.looseObject({ file: z.string(), sha256 })),
      outputSha256: z.string(),
    }),
  ),
  sources: z.array(
    z.looseObject({ name: z.string(), version: z.string(), file: z.string(), sha256, urls: z.array(z.string()), license: z.string().optional() }),
  ),
});

export async function readManifest(dist: string, limits: ReleaseLimits = DEFAULT_RELEASE_LIMITS): Promise<Manifest> {
  const path = join(dist, MANIFEST_FILE);
  let text: string;
  try {
    text = (await readRegularFile(path, MANIFEST_FILE, limits.maxMetadataBytes)).toString('utf8');
  } catch (err) {
    if (err instanceof OsforgeError) {
      const raise = err.code === 'LIMIT_EXCEEDED' ? '; raise --max-metadata-size / $OSFORGE_MAX_METADATA_SIZE if the file is genuine' : '';
      throw new OsforgeError(err.code, err.message, { hint: `${err.context.hint ?? ''}${raise}` }, { cause: err });
    }
    throw new OsforgeError(
      'CONFIG_INVALID',
      `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      {
        hint: 'build the release first (`osforge dist` / `make dist`), or pass the dist directory',
      },
      { cause: err },
    );
  }
  const m = parseJsonBounded(text, path);
  // Only the fields signing reads are checked (the build may add more); their
  // shape is enforced so a damaged manifest is an error naming the field, not a
  // TypeError from the SBOM writer.
  parseWith(manifestSchema, m, path, 'manifest.json must follow pipeline/model/manifest.ts; rebuild with `osforge dist`');
  return m as Manifest;
}
