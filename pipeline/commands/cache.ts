import { StageStore } from '../cache/stage-store.ts';
import { paths } from '../paths.ts';
import { OsforgeError } from '../errors.ts';
import type { Command } from './types.ts';

/** Parses sizes like 500M, 2G, 1.5GiB, 123456. */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?$/i.exec(text.trim());
  if (!m) throw new OsforgeError('USAGE', `--max-size ${JSON.stringify(text)} is not a size`, { hint: 'use bytes or a suffix: 500M, 2G' });
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.floor(Number(m[1]) * unit);
}

export const cacheCommand: Command = {
  name: 'cache',
  summary: 'manage the stage cache (cache gc --max-size 2G)',
  help: `usage: osforge cache gc [--max-size <size>]

Trims the content-addressed stage cache (<state dir>/stages, default
~/.cache/osforge/stages) to at most <size> (default 2G), removing the least
recently used entries first, plus temp dirs left by killed runs. An evicted
entry is simply rebuilt the next time it is needed.`,
  options: { 'max-size': { type: 'string' } },
  positionals: true,
  async run(values, positionals) {
    if (positionals[0] !== 'gc' || positionals.length !== 1) {
      throw new OsforgeError('USAGE', `unknown cache action ${JSON.stringify(positionals.join(' '))}`, { hint: 'osforge cache gc [--max-size 2G]' });
    }
    const max = parseSize(String(values['max-size'] ?? '2G'));
    const store = new StageStore(paths.stages());
    const r = await store.gc(max);
    const mib = (n: number) => `${(n / 1024 ** 2).toFixed(1)} MiB`;
    process.stdout.write(`cache gc: removed ${r.removed.length} entries (${mib(r.freedBytes)}); ${mib(r.keptBytes)} kept (bound ${mib(max)})\n`);
  },
};
