// Shared by the binary-package commands: every failure leaves as an
// OsforgeError with a one-line message naming what was being done, so the
// CLI never prints a raw stack trace for them (unless OSFORGE_DEBUG=1 asks
// for the cause), and flags that contradict each other are refused.
import { OsforgeError } from '../errors.ts';
import { settings } from '../settings.ts';

export async function guarded<T>(doing: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof OsforgeError) throw err;
    const e = err as NodeJS.ErrnoException;
    if (settings().debug) process.stderr.write(`${e.stack ?? String(err)}\n`);
    const msg = (e.message ?? String(err)).split('\n')[0] ?? '';
    throw new OsforgeError(
      'HOST_SETUP',
      `${doing}: ${e.code ? `${e.code}: ` : ''}${msg}${e.path && !msg.includes(e.path) ? ` (${e.path})` : ''}`,
      { hint: 'check the paths and permissions named above; rerun with OSFORGE_DEBUG=1 for details' },
      { cause: err },
    );
  }
}

/** Refuses any two of `flags` given together (usage error, exit 2). */
export function refuseTogether(values: Record<string, unknown>, a: string, others: readonly string[], why: string): void {
  if (values[a] === undefined || values[a] === false) return;
  const clash = others.filter((o) => values[o] !== undefined && values[o] !== false);
  if (clash.length) throw new OsforgeError('USAGE', `--${a} cannot be combined with ${clash.map((c) => `--${c}`).join(', ')}: ${why}`);
}

/** A string flag that must not be empty ("" would silently mean "here"). */
export function nonEmpty(values: Record<string, unknown>, flag: string): string | undefined {
  const v = values[flag];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.trim() === '')
    throw new OsforgeError('USAGE', `--${flag} is empty`, { hint: `give --${flag} a value, or leave the flag out` });
  return v;
}
