// Reads dist/manifest.json with just enough checking that signing and
// verification can trust its shape (the build wrote it; we did not).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OsforgeError } from '../errors.ts';
import type { Manifest } from '../outputs/manifest-types.ts';
import { MANIFEST_FILE } from './release-files.ts';

export async function readManifest(dist: string): Promise<Manifest> {
  const path = join(dist, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new OsforgeError('CONFIG_INVALID', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      hint: 'build the release first (`osforge dist` / `make dist`), or pass the dist directory',
    }, { cause: err });
  }
  let m: Partial<Manifest>;
  try {
    m = JSON.parse(text) as Partial<Manifest>;
  } catch (err) {
    throw new OsforgeError('CONFIG_INVALID', `${path} is not valid JSON: ${(err as Error).message}`, {}, { cause: err });
  }
  const problems: string[] = [];
  if (typeof m.name !== 'string') problems.push('name');
  if (typeof m.version !== 'string') problems.push('version');
  if (typeof m.commit !== 'string') problems.push('commit');
  if (typeof m.sourceDateEpoch !== 'number') problems.push('sourceDateEpoch');
  if (!Array.isArray(m.artifacts) || m.artifacts.some((a) => typeof a?.path !== 'string' || typeof a?.sha256 !== 'string')) problems.push('artifacts');
  if (!Array.isArray(m.packages)) problems.push('packages');
  if (!Array.isArray(m.sources)) problems.push('sources');
  if (!m.images || typeof m.images !== 'object' || !m.images.tools || !m.images.builder || !m.images.base) problems.push('images');
  if (problems.length) {
    throw new OsforgeError('CONFIG_INVALID', `${path} is missing or has malformed fields: ${problems.join(', ')}`, {
      hint: 'manifest.json must follow pipeline/outputs/manifest-types.ts',
    });
  }
  return m as Manifest;
}
