// Sizes, counts and times as a user writes them in a flag or an environment
// variable (512M, 100000, 30s), shared by every limit osforge takes.
import { OsforgeError } from '../errors.ts';

const MiB = 1024 * 1024;

export function parseSize(text: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?)i?b?\s*$/i.exec(text);
  if (!m) throw new OsforgeError('USAGE', `invalid size for ${what}: ${JSON.stringify(text)}`, { hint: 'use bytes or a number with K, M or G, e.g. 512M' });
  const mult = { '': 1, k: 1024, m: MiB, g: 1024 * MiB }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  const n = Math.floor(Number(m[1]) * mult);
  if (n <= 0) throw new OsforgeError('USAGE', `invalid size for ${what}: ${JSON.stringify(text)} must be more than 0`);
  return n;
}

export function parseCount(text: string, what: string): number {
  if (!/^\s*\d+\s*$/.test(text) || Number(text) <= 0) {
    throw new OsforgeError('USAGE', `invalid count for ${what}: ${JSON.stringify(text)}`, { hint: 'use a whole number more than 0, e.g. 100000' });
  }
  return Number(text);
}

export function parseDuration(text: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/i.exec(text);
  if (!m) throw new OsforgeError('USAGE', `invalid time for ${what}: ${JSON.stringify(text)}`, { hint: 'use seconds or a number with ms, s or m, e.g. 30s' });
  const ms = Math.round(Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[(m[2] ?? 's').toLowerCase() as 'ms' | 's' | 'm']);
  if (ms <= 0) throw new OsforgeError('USAGE', `invalid time for ${what}: ${JSON.stringify(text)} must be more than 0`);
  return ms;
}
