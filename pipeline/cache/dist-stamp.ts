// Records which dist key produced dist/ and the sha256 of every file written,
// so a warm no-op run can prove dist/ is current without starting anything.
import { existsSync, readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { writeFileAtomic } from '../util/write-atomic.ts';
import { join, resolve } from 'node:path';
import { sha256, sha256File } from '../util/hash.ts';

export interface DistStamp { key: string; files: Record<string, string> }

export function stampPath(stampsRoot: string, distDir: string): string {
  return join(stampsRoot, `${sha256(resolve(distDir)).slice(0, 16)}.json`);
}

export function readStamp(path: string): DistStamp | null {
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as DistStamp;
  } catch {
    return null;
  }
}

/** null when dist/ holds exactly what the stamp recorded (extra files such as signatures are allowed). */
export async function distMismatch(distDir: string, stamp: DistStamp): Promise<string | null> {
  for (const [name, digest] of Object.entries(stamp.files)) {
    const p = join(distDir, name);
    if (!existsSync(p)) return `${name} is missing`;
    if ((await sha256File(p)) !== digest) return `${name} changed since it was written`;
  }
  return null;
}

export async function writeStamp(path: string, key: string, distDir: string): Promise<void> {
  const files: Record<string, string> = {};
  for (const name of (await readdir(distDir)).sort()) files[name] = await sha256File(join(distDir, name));
  await writeFileAtomic(path, JSON.stringify({ key, files }, null, 1) + '\n');
}
