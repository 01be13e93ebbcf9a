// Who owns a container or a lock: pid, the host's boot id and the process
// start time. A pid alone lies after a reboot or once the kernel reuses it;
// the triple names one process for the life of the machine.
import { readFileSync } from 'node:fs';

export const LABEL_OWNER_PID = 'osforge.owner.pid';
export const LABEL_OWNER_BOOT = 'osforge.owner.boot';
export const LABEL_OWNER_START = 'osforge.owner.start';

export interface Owner {
  pid: number;
  boot: string;
  start: string;
}

export function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

/** Field 22 of /proc/<pid>/stat (clock ticks since boot), or null when no such process is running. */
export function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses; fields after the last ')' are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // A zombie (killed, not yet reaped by a parent or an init that never reaps) is dead.
    if (fields[0] === 'Z' || fields[0] === 'X') return null;
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

let self: Owner | undefined;
export function currentOwner(): Owner {
  self ??= { pid: process.pid, boot: bootId(), start: processStart(process.pid) ?? '0' };
  return self;
}

export function ownerLabels(o: Owner = currentOwner()): Record<string, string> {
  return { [LABEL_OWNER_PID]: String(o.pid), [LABEL_OWNER_BOOT]: o.boot, [LABEL_OWNER_START]: o.start };
}

/** Whether `o` is still running on this machine (same boot, same pid, same start time). */
export function ownerAlive(o: Owner): boolean {
  if (o.boot !== bootId()) return false;
  return processStart(o.pid) === o.start;
}

/** The owner recorded in a container's labels, or null for containers of older osforge versions. */
export function ownerFromLabels(labels: Record<string, string>): Owner | null {
  const pid = Number(labels[LABEL_OWNER_PID]);
  const boot = labels[LABEL_OWNER_BOOT];
  const start = labels[LABEL_OWNER_START];
  if (!Number.isInteger(pid) || pid <= 0 || !boot || !start) return null;
  return { pid, boot, start };
}
