// Remembers the inputs each stage was last built or used with, so a miss can
// be explained: which named input changed (old → new), or "no previous entry".
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../util/write-atomic.ts';
import { join } from 'node:path';
import type { Inputs, StageNode } from '../model/stage-key.ts';

export interface Change {
  name: string;
  old: string | null;
  new: string | null;
}

export interface Explanation {
  id: string;
  status: 'hit' | 'miss';
  /** Why it missed: changed inputs, or a sentence. Empty for a hit. */
  changes: Change[];
  reason: string;
  /** The engine it ran on, when the run used builders (engine/placement.ts). */
  engine?: string;
}

export class Journal {
  constructor(readonly root: string) {}

  private path(id: string): string {
    return join(this.root, `${id.replace(/[^A-Za-z0-9._-]+/g, '_')}.json`);
  }

  previous(id: string): { key: string; inputs: Inputs } | null {
    const p = this.path(id);
    if (!existsSync(p)) return null;
    try {
      return JSON.parse(readFileSync(p, 'utf8')) as { key: string; inputs: Inputs };
    } catch {
      return null;
    }
  }

  async record(n: StageNode): Promise<void> {
    if (this.previous(n.id)?.key === n.key) return;
    await writeFileAtomic(this.path(n.id), JSON.stringify({ key: n.key, inputs: n.inputs }) + '\n');
  }
}

export function diffInputs(prev: Inputs, next: Inputs): Change[] {
  const a = new Map(prev);
  const b = new Map(next);
  const changes: Change[] = [];
  for (const [name, value] of b) if (a.get(name) !== value) changes.push({ name, old: a.get(name) ?? null, new: value });
  for (const [name, value] of a) if (!b.has(name)) changes.push({ name, old: value, new: null });
  return changes;
}

/** Explains one node given whether its output is present and valid now. */
export function explain(n: StageNode, present: boolean, journal: Journal): Explanation {
  if (present) return { id: n.id, status: 'hit', changes: [], reason: '' };
  const prev = journal.previous(n.id);
  if (!prev) return { id: n.id, status: 'miss', changes: [], reason: 'no previous entry' };
  if (prev.key === n.key) return { id: n.id, status: 'miss', changes: [], reason: 'same inputs, but the cached output is missing or was evicted' };
  const changes = diffInputs(prev.inputs, n.inputs);
  return { id: n.id, status: 'miss', changes, reason: changes.length ? `${changes.length} input(s) changed` : 'key format changed' };
}

const short = (v: string | null) => (v === null ? '(none)' : /^[0-9a-f]{64}$/.test(v) ? v.slice(0, 12) : v);

export function formatExplanation(e: Explanation): string {
  const on = e.engine ? ` [on ${e.engine}]` : '';
  if (e.status === 'hit') return `hit   ${e.id}${on}`;
  const lines = [`miss  ${e.id}${on}: ${e.reason}`];
  for (const c of e.changes) lines.push(`        ${c.name}: ${short(c.old)} -> ${short(c.new)}`);
  return lines.join('\n');
}
