// Per-step log files (outside dist/) and the failure shape every container
// step reports: stage, arch, exit code, last 40 lines, full log path.
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { OsforgeError } from '../errors.ts';
import { diagnose } from './failure-hints.ts';

export interface StepLog {
  path: string;
  write(line: string): void;
  lines: string[];
}

export function openStepLog(dir: string, name: string, echo?: (line: string) => void): StepLog {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name.replace(/[^A-Za-z0-9._-]+/g, '_')}.log`);
  const lines: string[] = [];
  return {
    path,
    lines,
    write(line: string) {
      lines.push(line);
      if (lines.length > 400) lines.splice(0, lines.length - 200);
      appendFileSync(path, line + '\n');
      echo?.(line);
    },
  };
}

/** A failed step: its log tail, and the known cause the log shows, if any (failure-hints.ts). */
export function stepFailed(what: string, log: StepLog, ctx: { stage: string; arch?: string; exitCode: number; hint?: string }): OsforgeError {
  const d = diagnose(log.lines, ctx.exitCode);
  return new OsforgeError('CONTAINER_FAILED', `${what} failed with exit code ${ctx.exitCode}`, {
    stage: ctx.stage,
    arch: ctx.arch,
    exitCode: ctx.exitCode,
    logTail: log.lines.slice(-40),
    logPath: log.path,
    hint: ctx.hint,
    ...(d ? { diagnosis: { cause: d.cause, fix: d.fix, line: d.line } } : {}),
  });
}
