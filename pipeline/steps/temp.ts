// Scratch dirs for steps. They live in the state dir's tmp/, not the system
// /tmp, so the next run (holding the state lock, hence sure no live run uses
// them) finds and removes whatever a killed run left behind.
import { mkdir, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { paths } from '../paths.ts';

export async function stateTempDir(prefix: string): Promise<string> {
  const root = paths.tmp();
  await mkdir(root, { recursive: true });
  // The pid in the name lets the litter sweep leave a live process's dir alone (tests share the state dir without its lock).
  return mkdtemp(join(root, `${prefix}-p${process.pid}-`));
}
