// How a run shows the scheduler's events: a listr2 task per stage on a TTY
// ('tree'), one line per start and end without one ('plain', CI), or one
// JSON object per line on stdout ('json', for CI and tools): stage, key, hit
// or miss, duration, bytes, and how long it waited for a free slot.
import { Listr } from 'listr2';
import type { StageEvent } from './scheduler.ts';
import type { BuildStage, StageResult } from './stage.ts';

export type ProgressMode = 'tree' | 'plain' | 'json';

export interface ProgressView {
  start(): void;
  /** A line of a running stage's output. */
  progress(id: string, line: string): void;
  event(e: StageEvent, stage: BuildStage, result: StageResult | undefined): void;
  /** A stage's build container started (json only: the latency the scale probe measures). */
  container(id: string): void;
  stop(): Promise<void>;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function progressView(stages: readonly BuildStage[], mode: ProgressMode, opts: { verbose: boolean; out?: (line: string) => void }): ProgressView {
  const out = opts.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  if (mode === 'json') return jsonView(out);
  if (mode === 'plain') return plainView(out);
  return treeView(stages, opts.verbose);
}

export function jsonView(out: (line: string) => void): ProgressView {
  let t0 = 0;
  return {
    start: () => {
      t0 = performance.now();
    },
    progress: () => undefined,
    event: (e, stage, r) => {
      const at = Math.round((e.at - t0) * 10) / 10;
      if (e.type === 'start')
        out(
          JSON.stringify({
            event: 'start',
            stage: e.id,
            key: stage.key,
            at,
            readyAt: Math.round((e.readyAt - t0) * 10) / 10,
            waitedMs: Math.round(e.at - e.readyAt),
            running: e.running,
          }),
        );
      else if (e.type === 'end') {
        out(
          JSON.stringify({
            event: 'end',
            stage: e.id,
            key: stage.key,
            at,
            status: e.status,
            durationMs: Math.round(e.durationMs),
            ...(r
              ? {
                  hit: r.hit,
                  ...(r.bytes !== undefined ? { bytes: r.bytes } : {}),
                  ...(r.engine ? { engine: r.engine } : {}),
                  ...(r.shared ? { sharedCache: 'pulled' } : {}),
                }
              : {}),
            ...(e.status === 'failed' ? { error: (e.error as Error)?.message ?? String(e.error) } : {}),
          }),
        );
      } else out(JSON.stringify({ event: 'skip', stage: e.id, key: stage.key, at, because: e.because }));
    },
    container: (id) => out(JSON.stringify({ event: 'container', stage: id, at: Math.round((performance.now() - t0) * 10) / 10 })),
    stop: async () => undefined,
  };
}

function plainView(out: (line: string) => void): ProgressView {
  return {
    start: () => undefined,
    // A stage's own progress lines; container logs are echoed only with --verbose.
    progress: (id, line) => out(`[${id}] ${line}`),
    event: (e, stage, r) => {
      if (e.type === 'start') out(`[started] ${stage.title}`);
      else if (e.type === 'end' && e.status === 'done') out(`[done] ${r?.title ?? stage.title} (${seconds(e.durationMs)})`);
      else if (e.type === 'end') out(`[${e.status}] ${stage.title}: ${(e.error as Error)?.message?.split('\n')[0] ?? 'stopped'}`);
      else out(`[not run] ${stage.title}: ${e.because}`);
    },
    container: () => undefined,
    stop: async () => undefined,
  };
}

function treeView(stages: readonly BuildStage[], verbose: boolean): ProgressView {
  // Only what this view touches of listr2's task wrapper.
  type TaskHandle = { title: string; output: string; skip(message?: string): void };
  type Slot = { task?: TaskHandle; resolve?: () => void; reject?: (e: unknown) => void; early?: () => void };
  const slots = new Map(stages.map((s): [string, Slot] => [s.id, {}]));
  const whenReady = (id: string, f: (s: Slot) => void) => {
    const slot = slots.get(id)!;
    if (slot.task) f(slot);
    else slot.early = () => f(slot);
  };
  const list = new Listr<unknown>(
    stages.map((s) => ({
      title: `${s.title} (waiting)`,
      task: (_: unknown, task: TaskHandle) =>
        new Promise<void>((resolve, reject) => {
          const slot = slots.get(s.id)!;
          Object.assign(slot, { task, resolve, reject });
          slot.early?.();
        }),
    })) as unknown as ConstructorParameters<typeof Listr<unknown>>[0],
    {
      concurrent: true,
      exitOnError: false,
      // dist.ts handles signals (container cleanup first); listr2's own handler would exit(127) mid-cleanup.
      registerSignalListeners: false,
      renderer: 'default',
      rendererOptions: { collapseSubtasks: false, outputBar: verbose ? 20 : 1 },
    } as ConstructorParameters<typeof Listr<unknown>>[1],
  );
  let running: Promise<unknown> = Promise.resolve();
  return {
    start: () => {
      running = list.run().catch(() => undefined);
    },
    progress: (id, line) =>
      whenReady(id, (s) => {
        s.task!.output = line;
      }),
    event: (e, stage, r) =>
      whenReady(e.id, (s) => {
        if (e.type === 'start') s.task!.title = stage.title;
        // The stage's own duration: listr2's timer would count from the start of the run, when every task began waiting.
        else if (e.type === 'end' && e.status === 'done') {
          s.task!.title = `${r?.title ?? stage.title} (${seconds(e.durationMs)})`;
          s.resolve!();
        } else if (e.type === 'end') s.reject!(e.error ?? new Error('cancelled'));
        else {
          s.task!.skip(`${stage.title}: not run (${e.because})`);
          s.resolve!();
        }
      }),
    container: () => undefined,
    stop: async () => {
      for (const s of slots.values())
        if (!s.task)
          s.early = () => {
            s.task!.skip('not run');
            s.resolve!();
          };
      await running;
    },
  };
}
