// Reading the installed-package database of a prefix (see vdb-format.ts).
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { OsforgeError } from '../errors.ts';
import { VDB_DIR, parseContents, type ContentsLine, type InstalledRecord } from './vdb-format.ts';

export interface Installed {
  /** Absolute path of the VDB entry directory. */
  dir: string;
  record: InstalledRecord;
  contents: ContentsLine[];
}

export function vdbEntryName(name: string, version: string): string {
  return `${name}-${version}`;
}

export async function listInstalled(prefix: string): Promise<Installed[]> {
  const root = join(prefix, VDB_DIR);
  let names: string[];
  try {
    names = (await readdir(root)).filter((n) => !n.startsWith('.')).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: Installed[] = [];
  for (const n of names) {
    const dir = join(root, n);
    let recordText: string;
    try {
      recordText = await readFile(join(dir, 'binpkg.json'), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // not ours
      throw err;
    }
    let record: InstalledRecord;
    try {
      record = JSON.parse(recordText) as InstalledRecord;
    } catch {
      throw new OsforgeError('CONFIG_INVALID', `corrupt package database file ${join(dir, 'binpkg.json')}`);
    }
    const contents = parseContents(await readFile(join(dir, 'CONTENTS'), 'utf8'), join(dir, 'CONTENTS'));
    out.push({ dir, record, contents });
  }
  return out;
}

export async function findInstalled(prefix: string, name: string): Promise<Installed | undefined> {
  return (await listInstalled(prefix)).find((i) => i.record.name === name);
}
