// The one way a build step runs in a container: labelled with the run, the
// stage and the arch (so cleanup and the reaper find it), its output logged
// to the step's log file, and a non-zero exit turned into the one failure
// shape every step reports (stage, arch, exit code, log tail, log path, fix).
import type { Engine, PreparedStep, RunResult, RunSpec, StepInput } from '../engine/engine.ts';
import { LABEL_RUN, LABEL_STAGE } from '../engine/engine.ts';
import type { Arch } from '../plan/types.ts';
import { stepFailed, type StepLog } from './step-log.ts';

export interface Step {
  engine: Engine;
  image: string;
  cmd: string[];
  env?: Record<string, string>;
  /** Hermetic by default; only fetch steps get a network. */
  network?: 'none' | 'bridge';
  runId: string;
  /** e.g. "stage2:zlib", "images:iso"; names the container and the failure. */
  stage: string;
  arch?: Arch;
  log: StepLog;
  inputs?: StepInput[];
  outputs?: string[];
  outputFiles?: { path: string; file: string }[];
  /** What to fix when the step fails. */
  hint?: string;
  /** Called once the container has started (the --json "container" event). */
  onStart?: () => void;
  /** Return a failed result instead of throwing (a step with a fallback). */
  tolerateFailure?: boolean;
}

function specOf(s: Step): RunSpec {
  return {
    image: s.image,
    cmd: s.cmd,
    env: s.env,
    network: s.network ?? 'none',
    labels: { [LABEL_RUN]: s.runId, [LABEL_STAGE]: s.stage, ...(s.arch ? { 'osforge.arch': s.arch } : {}) },
    inputs: s.inputs,
    outputs: s.outputs,
    outputFiles: s.outputFiles,
    onLog: (l) => s.log.write(l),
    onStart: s.onStart,
  };
}

function checked(s: Step, res: RunResult): RunResult {
  if (res.exitCode !== 0 && !s.tolerateFailure) {
    throw stepFailed(`${s.stage}${s.arch ? ` (${s.arch})` : ''}`, s.log, { stage: s.stage, arch: s.arch, exitCode: res.exitCode, hint: s.hint });
  }
  return res;
}

export async function runStep(s: Step): Promise<RunResult> {
  return checked(s, await s.engine.run(specOf(s)));
}

/** Starts the step's container ahead, holding the command (see Engine.prepare). */
export function holdStep(s: Step): Promise<PreparedStep> {
  return s.engine.prepare(specOf(s));
}

/** Runs a held step: `late` inputs go in, then the command starts. */
export async function releaseStep(s: Step, held: PreparedStep, late: StepInput[]): Promise<RunResult> {
  return checked(s, await held.go(late, s.onStart));
}
