// Runs a DAG of stages the way Ninja and Buck2 do: whatever is ready starts,
// within a job budget, longest remaining path first. Pure logic: a stage's
// `run` is the only side effect, so the scheduler is tested with fake stages
// in milliseconds. A failure cancels only what depends on it; the rest of the
// graph finishes and is reported. An abort stops new starts and aborts the
// running stages through their signal.

export interface Stage<T> {
  id: string;
  deps: readonly string[];
  /** Cores the stage occupies (default 1). A stage heavier than the budget runs alone. */
  weight?: number;
  /** Expected duration in any unit (default 1); only ranks the critical path. */
  cost?: number;
  run: (ctx: { signal: AbortSignal; deps: ReadonlyMap<string, T> }) => Promise<T>;
}

export type StageStatus = 'done' | 'failed' | 'skipped' | 'cancelled';

export type StageEvent =
  | { type: 'start'; id: string; at: number; running: number; readyAt: number }
  | { type: 'end'; id: string; at: number; status: 'done' | 'failed' | 'cancelled'; durationMs: number; error?: unknown }
  | { type: 'skip'; id: string; at: number; because: string };

export interface RunOptions {
  /** Concurrent weight allowed (default 1). */
  budget?: number;
  signal?: AbortSignal;
  onEvent?: (e: StageEvent) => void;
  now?: () => number;
}

export interface GraphRun<T> {
  status: Map<string, StageStatus>;
  outputs: Map<string, T>;
  errors: Map<string, unknown>;
  /** True when every stage is done. */
  ok: boolean;
}

export class GraphError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GraphError';
  }
}

/** Rejects unknown dependencies, duplicate ids and cycles (naming the stages on the cycle). */
export function validateGraph(stages: readonly Pick<Stage<unknown>, 'id' | 'deps'>[]): void {
  const byId = new Map<string, Pick<Stage<unknown>, 'id' | 'deps'>>();
  for (const s of stages) {
    if (byId.has(s.id)) throw new GraphError(`stage ${JSON.stringify(s.id)} is defined twice`);
    byId.set(s.id, s);
  }
  for (const s of stages) {
    for (const d of s.deps) if (!byId.has(d)) throw new GraphError(`stage ${JSON.stringify(s.id)} depends on unknown stage ${JSON.stringify(d)}`);
  }
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (id: string): void => {
    if (state.get(id) === 'done') return;
    if (state.get(id) === 'visiting') {
      throw new GraphError(`dependency cycle: ${[...path.slice(path.indexOf(id)), id].join(' -> ')}`);
    }
    state.set(id, 'visiting');
    path.push(id);
    for (const d of byId.get(id)!.deps) visit(d);
    path.pop();
    state.set(id, 'done');
  };
  for (const s of stages) visit(s.id);
}

/** Longest remaining path (own cost plus the costliest chain of dependents), the critical-path priority. */
export function criticalPath(stages: readonly Pick<Stage<unknown>, 'id' | 'deps' | 'cost'>[]): Map<string, number> {
  const dependents = dependentsOf(stages);
  const cost = new Map(stages.map((s) => [s.id, s.cost ?? 1]));
  const memo = new Map<string, number>();
  const longest = (id: string): number => {
    const known = memo.get(id);
    if (known !== undefined) return known;
    let tail = 0;
    for (const d of dependents.get(id) ?? []) tail = Math.max(tail, longest(d));
    const total = cost.get(id)! + tail;
    memo.set(id, total);
    return total;
  };
  for (const s of stages) longest(s.id);
  return memo;
}

function dependentsOf(stages: readonly Pick<Stage<unknown>, 'id' | 'deps'>[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const s of stages) for (const d of s.deps) (out.get(d) ?? out.set(d, []).get(d)!).push(s.id);
  return out;
}

export async function runGraph<T>(stages: readonly Stage<T>[], opts: RunOptions = {}): Promise<GraphRun<T>> {
  validateGraph(stages);
  const budget = Math.max(1, opts.budget ?? 1);
  const now = opts.now ?? (() => performance.now());
  const emit = opts.onEvent ?? (() => undefined);
  const priority = criticalPath(stages);
  const dependents = dependentsOf(stages);
  const byId = new Map(stages.map((s) => [s.id, s]));
  const waitingOn = new Map(stages.map((s) => [s.id, new Set(s.deps)]));
  const status = new Map<string, StageStatus>();
  const outputs = new Map<string, T>();
  const errors = new Map<string, unknown>();
  const readyAt = new Map<string, number>();
  // Highest priority first; ties keep declaration order so runs are stable.
  const order = new Map(stages.map((s, i) => [s.id, i]));
  const ready: string[] = [];
  const pushReady = (id: string) => {
    readyAt.set(id, now());
    ready.push(id);
    ready.sort((a, b) => priority.get(b)! - priority.get(a)! || order.get(a)! - order.get(b)!);
  };
  for (const s of stages) if (s.deps.length === 0) pushReady(s.id);

  const abort = new AbortController();
  const onOuterAbort = () => abort.abort(opts.signal?.reason);
  if (opts.signal?.aborted) abort.abort(opts.signal.reason);
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });

  let runningWeight = 0;
  let running = 0;
  let wake: () => void = () => undefined;

  // Dependents of a failure are skipped; after an abort they are cancelled like the rest.
  const skipDependents = (id: string, because: string, as: 'skipped' | 'cancelled') => {
    for (const d of dependents.get(id) ?? []) {
      if (status.has(d)) continue;
      status.set(d, as);
      emit({ type: 'skip', id: d, at: now(), because });
      skipDependents(d, because, as);
    }
  };

  const start = (id: string) => {
    const stage = byId.get(id)!;
    const weight = Math.min(stage.weight ?? 1, budget);
    runningWeight += weight;
    running += 1;
    const startedAt = now();
    emit({ type: 'start', id, at: startedAt, running, readyAt: readyAt.get(id)! });
    const deps = new Map(stage.deps.map((d) => [d, outputs.get(d)!]));
    Promise.resolve()
      .then(() => stage.run({ signal: abort.signal, deps }))
      .then(
        (out) => {
          if (abort.signal.aborted) throw abort.signal.reason ?? new Error('aborted');
          outputs.set(id, out);
          status.set(id, 'done');
          emit({ type: 'end', id, at: now(), status: 'done', durationMs: now() - startedAt });
          for (const d of dependents.get(id) ?? []) {
            const w = waitingOn.get(d)!;
            w.delete(id);
            if (w.size === 0 && !status.has(d)) pushReady(d);
          }
        },
        (err: unknown) => {
          const cancelled = abort.signal.aborted;
          status.set(id, cancelled ? 'cancelled' : 'failed');
          if (!cancelled) errors.set(id, err);
          emit({ type: 'end', id, at: now(), status: cancelled ? 'cancelled' : 'failed', durationMs: now() - startedAt, error: err });
          skipDependents(id, `${id} ${cancelled ? 'was cancelled' : 'failed'}`, cancelled ? 'cancelled' : 'skipped');
        },
      )
      .finally(() => {
        runningWeight -= weight;
        running -= 1;
        wake();
      });
  };

  try {
    for (;;) {
      if (!abort.signal.aborted) {
        // Start the best ready stage that fits; a stage heavier than what is
        // free waits for it (no smaller stage overtakes it forever, since it
        // only waits for running stages to end).
        while (ready.length > 0) {
          const id = ready[0]!;
          const weight = Math.min(byId.get(id)!.weight ?? 1, budget);
          if (running > 0 && runningWeight + weight > budget) break;
          ready.shift();
          start(id);
        }
      }
      if (running === 0) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    opts.signal?.removeEventListener('abort', onOuterAbort);
  }
  for (const s of stages) {
    if (!status.has(s.id)) {
      status.set(s.id, 'cancelled');
      emit({ type: 'skip', id: s.id, at: now(), because: 'the run was aborted' });
    }
  }
  return { status, outputs, errors, ok: [...status.values()].every((v) => v === 'done') };
}
