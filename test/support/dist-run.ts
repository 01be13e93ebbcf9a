// Runs `osforge dist --json` as a user would, on a state dir made from the
// machine's stage store by hard links (entries are never written in place),
// minus the entries a check wants rebuilt. Shared by the builders tests and
// the builders bench.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stateDir } from '../../pipeline/paths.ts';
import { entryMeta } from './seed-stages.ts';

const root = resolve(import.meta.dirname, '../..');
const bin = join(root, 'pipeline/bin/osforge.js');

export interface DistEvent {
  event: string;
  stage: string;
  key: string;
  hit?: boolean;
  engine?: string;
  status?: string;
  sharedCache?: string;
}
export interface DistRun {
  code: number | null;
  events: DistEvent[];
  stderr: string;
  seconds: number;
}
export type EntryMetaInfo = { arch?: string; kind?: string; name?: string };

/** A state dir at `state` linking the machine's stage entries (and source cache, layers), minus those `drop` names. */
export function linkedState(state: string, drop: (meta: EntryMetaInfo) => boolean): string {
  const from = stateDir();
  mkdirSync(join(state, 'stages'), { recursive: true });
  for (const sub of ['sources', 'layers']) if (existsSync(join(from, sub))) execFileSync('cp', ['-al', join(from, sub), join(state, sub)]);
  if (!existsSync(join(from, 'stages'))) return state;
  for (const key of readdirSync(join(from, 'stages'))) {
    const meta = entryMeta(join(from, 'stages'), key) as EntryMetaInfo | undefined;
    if (!meta || drop(meta)) continue;
    execFileSync('cp', ['-al', join(from, 'stages', key), join(state, 'stages', key)]);
  }
  return state;
}

/** Whether the machine's stage store holds a finished build (its kernels: the longest stages). */
export function machineHasBuild(): boolean {
  const stages = join(stateDir(), 'stages');
  return existsSync(stages) && readdirSync(stages).some((k) => entryMeta(stages, k)?.kind === 'kernel');
}

export function runDistCli(o: {
  state: string;
  out: string;
  args?: string[];
  env?: Record<string, string>;
  onEvent?: (e: DistEvent) => void;
}): Promise<DistRun> {
  const started = performance.now();
  return new Promise((done) => {
    const child = spawn(process.execPath, [bin, 'dist', '--json', ...(o.args ?? [])], {
      cwd: root,
      env: { ...process.env, OSFORGE_STATE_DIR: o.state, OSFORGE_DIST: o.out, CI: 'true', ...o.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const events: DistEvent[] = [];
    let stderr = '';
    let buf = '';
    child.stdout.on('data', (b: Buffer) => {
      buf += b.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines)
        if (l.startsWith('{')) {
          const e = JSON.parse(l) as DistEvent;
          events.push(e);
          o.onEvent?.(e);
        }
    });
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    child.on('close', (code) => done({ code, events, stderr, seconds: (performance.now() - started) / 1000 }));
  });
}
