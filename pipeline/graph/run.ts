// Runs the whole `dist` build: compile the plan into stages, run them on
// the scheduler (whatever is ready, within the job budget, critical path
// first), and show progress: a listr2 view on a TTY, plain lines otherwise,
// or one JSON event per line with --json. Generic: what a stage needs of the
// run (a builder image shipped first, a proof on a no-op, its part of
// report.json) it says itself (graph/stage.ts BuildStage).
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { connectEngine } from '../engine/connect.ts';
import type { Engine } from '../engine/engine.ts';
import { LABEL_RUN } from '../engine/engine.ts';
import { OsforgeError, wrapError } from '../errors.ts';
import type { Plan } from '../plan/types.ts';
import { StageStore } from '../cache/stage-store.ts';
import type { Buck2 } from '../steps/buck2.ts';
import { openStepLog } from '../steps/step-log.ts';
import { Journal, explain, type Explanation } from '../cache/journal.ts';
import type { StageGraph } from './keys.ts';
import { distState, refreshDistIdentity } from './assemble-dist.ts';
import type { Manifest } from '../model/manifest.ts';
import type { BuildIdentity } from '../util/git.ts';
import { configHash, fetchVerifiedBinary, trustedMirrorForBuild } from '../binpkg/cache-hook.ts';
import type { BinaryLookup } from '../steps/bootstrap.ts';
import { compile } from './compile.ts';
import { imagerFiles } from '../steps/imager.ts';
import { Outputs, type BuildStage, type Held, type PresenceEnv, type StageEnv, type StageResult } from './stage.ts';
import type { EnginePool } from '../engine/placement.ts';
import type { SharedCache } from '../cache/shared-cache.ts';
import { runGraph, type StageEvent } from './scheduler.ts';
import { progressView, type ProgressMode } from './progress.ts';

export interface DistOptions {
  plan: Plan;
  identity: BuildIdentity;
  graph: StageGraph;
  buck2: Buck2 | null;
  distDir: string;
  toolsCacheRoot: string;
  stateRoot: StageEnv['stateRoot'];
  runId: string;
  /** 'tree' (listr2), 'plain' lines, or 'json' events. */
  mode: ProgressMode;
  verbose: boolean;
  engine?: Engine;
  /** Builders (engine/placement.ts): where each arch's stages run. Default: all on `engine`. */
  pool?: EnginePool;
  /** A shared stage cache to pull entries from before building and push them to after (cache/shared-cache.ts). */
  shared?: SharedCache;
  /** Concurrent weight (cores); default: the machine's cores. */
  jobs?: number;
  signal?: AbortSignal;
}

export interface DistResult {
  manifest: Manifest | null;
  upToDate: boolean;
  /** Set when an up-to-date dist/ had only its recorded commit rewritten: the line to show. */
  refreshed?: string;
  /** Whether the tools image came from tools-cache/ (reported, and kept in <logDir>/report.json, never in dist/). */
  toolsHit: boolean;
  logDir: string;
  explanations: Explanation[];
}

export async function runDist(opts: DistOptions): Promise<DistResult> {
  const { plan, graph } = opts;
  const logDir = join(opts.stateRoot.logs, opts.runId);
  const journal = new Journal(opts.stateRoot.journal);
  const budget = Math.max(1, opts.jobs ?? cpus().length);
  const compiled = compile(plan, graph, budget, imagerFiles());

  // A no-op still proves what must be proven on every run present (the tools cache valid); a forced
  // tools rebuild or a broken cache must really rebuild, so neither is ever a no-op. No engine yet.
  const noEngine: PresenceEnv = {
    plan,
    identity: opts.identity,
    store: new StageStore(opts.stateRoot.stages),
    distDir: opts.distDir,
    toolsCacheRoot: opts.toolsCacheRoot,
    stateRoot: opts.stateRoot,
    imageExists: async () => {
      throw new Error('internal: a stage proven on a no-op asked the engine');
    },
  };
  if (await provenNoop(compiled.stages, noEngine)) {
    const state = await distState(opts);
    if (state.kind !== 'stale') {
      const explanations = compiled.stages.map((s) => explain(s, true, journal));
      // Only the commit changed, and no build input with it: rewrite what records it, start nothing.
      const refreshed = state.kind === 'identity-only' ? await refreshDistIdentity(opts) : undefined;
      return { manifest: null, upToDate: true, refreshed, toolsHit: true, logDir, explanations };
    }
  }

  const engine = opts.engine ?? connectEngine();
  const pool = opts.pool?.remote ? opts.pool : undefined;
  const mainLog = openStepLog(logDir, 'pipeline');
  await engine.ping();
  // From here on a dockerd that dies or restarts fails the run within seconds (a builder's: its stages move to the local engine).
  engine.watch();
  for (const e of pool?.engines() ?? []) if (e.engine !== engine) e.engine.watch();
  const store = new StageStore(opts.stateRoot.stages, (m) => mainLog.write(m));
  // Only a mirror with a trusted key is used; origins go to report.json, not dist/ (a mirror-fed dist/ must equal a built one).
  const mirror = await trustedMirrorForBuild({
    log: (m) => {
      mainLog.write(`[binary-mirror] ${m}`);
      process.stderr.write(`${m}\n`);
    },
  });
  const binaryLookup: BinaryLookup | undefined = mirror
    ? async (p) => {
        const data = await fetchVerifiedBinary({
          mirrorUrl: mirror.url,
          publicKey: mirror.publicKey,
          name: p.name,
          version: p.version,
          arch: p.arch,
          configHash: configHash({ arch: p.arch, compiler: p.compiler, useFlags: p.useFlags, depGraphHash: p.key }),
          log: (m) => mainLog.write(`[binary-mirror] ${m}`),
        });
        return data && { data, signerKeyId: mirror.keyId };
      }
    : undefined;

  const view = progressView(compiled.stages, opts.mode, { verbose: opts.verbose });
  const results = new Map<string, StageResult>();
  // A live view: hold() and the report read what has finished so far.
  const outputs = new Outputs(results);
  // Containers started ahead (BuildStage.hold), each taken by its stage or dropped.
  const held = new Map<string, Promise<Held | undefined>>();
  const started = new Set<string>();
  const dropHeld = (id: string) => {
    const h = held.get(id);
    held.delete(id);
    void h?.then((x) => x?.drop()).catch(() => undefined);
  };
  const env: StageEnv = {
    plan,
    identity: opts.identity,
    buck2: opts.buck2,
    engine,
    store,
    journal,
    runId: opts.runId,
    logDir,
    distDir: opts.distDir,
    toolsCacheRoot: opts.toolsCacheRoot,
    stateRoot: opts.stateRoot,
    binaryLookup,
    echo: opts.verbose && opts.mode === 'plain' ? (l) => process.stdout.write(`${l}\n`) : undefined,
    progress: (id, line) => {
      mainLog.write(`[${id}] ${line}`);
      view.progress(id, line);
    },
    containerStarted: (id) => view.container(id),
    takeHeld: (id) => {
      const h = held.get(id);
      held.delete(id);
      return h;
    },
  };
  // An engine that went away fails every step after it: stop starting new ones.
  const abort = new AbortController();
  const onOuterAbort = () => abort.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  // Held containers cost a sleeping shell each; a few per job slot keep the next wave ready.
  const holdLimit = 4 * budget;
  const waiting = () => [...held.keys()].filter((id) => !started.has(id)).length;
  // In build order (the scheduler's own order breaks ties the same way), every stage whose dependencies have all started.
  const holdAhead = () => {
    if (abort.signal.aborted) return;
    for (const s of compiled.stages) {
      if (waiting() >= holdLimit) return;
      if (!s.hold || held.has(s.id) || started.has(s.id) || !s.deps.every((d) => started.has(d))) continue;
      // Held containers start on the local engine; a stage placed on a builder starts its own there.
      if (pool && s.placement && pool.placeFor(s.placement).engine !== engine) continue;
      const h = s.hold(env, outputs);
      if (h)
        held.set(
          s.id,
          h.catch((err: Error) => {
            mainLog.write(`[${s.id}] could not start its container ahead: ${err.message}`);
            return undefined;
          }),
        );
    }
  };

  const explanations: Explanation[] = [];
  const onEvent = (e: StageEvent) => {
    const stage = compiled.byId.get(e.id)!;
    const r = results.get(e.id);
    if (e.type === 'start') started.add(e.id);
    if (e.type === 'skip') dropHeld(e.id);
    else holdAhead();
    if (e.type === 'end' && e.status === 'failed') {
      mainLog.write(`[${e.id}] failed: ${(e.error as Error)?.message ?? String(e.error)}`);
      if (e.error instanceof OsforgeError && e.error.code === 'ENGINE_UNAVAILABLE') abort.abort(e.error);
    }
    view.event(e, stage, r);
  };

  // A stage placed on a builder runs there, within its concurrency, with the builder image shipped first.
  // A builder that goes away mid-step is dropped for the rest of the run and the stage reruns locally:
  // its output never reached the store (outputs are stored only after a successful step).
  const runPlaced = async (s: BuildStage, deps: ReadonlyMap<string, StageResult>): Promise<StageResult> => {
    if (!pool) return s.run(env, new Outputs(deps));
    const p = s.placement ? pool.placeFor(s.placement) : { engine, name: 'local', native: true };
    if (p.engine === engine) return { ...(await s.run(env, new Outputs(deps))), engine: 'local' };
    try {
      return await pool.within(p, async () => {
        const image = s.remoteImage?.(outputs);
        if (image) await pool.ensureImage(p, image);
        return { ...(await s.run({ ...env, engine: p.engine }, new Outputs(deps))), engine: p.name };
      });
    } catch (err) {
      if (!(err instanceof OsforgeError && err.code === 'ENGINE_UNAVAILABLE') || !p.engine.isGone) throw err;
      pool.markDown(p.name, err.message);
      const line = `builder ${p.name} went away during ${s.id} (${err.message.split('\n')[0]}); it is dropped for this run and ${s.id} reruns on the local engine`;
      mainLog.write(line);
      process.stderr.write(`${line}\n`);
      return { ...(await s.run(env, new Outputs(deps))), engine: `local (after ${p.name} went away)` };
    }
  };

  let run;
  try {
    view.start();
    run = await runGraph<StageResult>(
      compiled.stages.map((s) => ({
        id: s.id,
        deps: s.deps,
        weight: s.weight,
        cost: s.cost,
        run: async ({ deps }) => {
          // A verified shared-cache entry lands in the store first, so the stage finds it there (a hit).
          const shared = opts.shared && s.storeKey && !store.has(s.storeKey) ? await opts.shared.pull(store, s.storeKey, s.id) : false;
          const ran = await runPlaced(s, deps);
          const r = shared ? { ...ran, shared: true } : ran;
          if (opts.shared?.canPush && s.storeKey) await opts.shared.push(store, s.storeKey, s.id);
          results.set(s.id, r);
          explanations.push({ ...explain(s, r.hit, journal), ...(r.engine ? { engine: r.engine } : {}) });
          await journal.record(s);
          return r;
        },
      })),
      { budget, signal: abort.signal, onEvent },
    );
  } finally {
    for (const id of [...held.keys()]) dropHeld(id);
    await view.stop();
    opts.signal?.removeEventListener('abort', onOuterAbort);
    engine.unwatch();
    await engine.removeByLabel(`${LABEL_RUN}=${opts.runId}`).catch(() => 0);
    for (const e of pool?.engines() ?? []) {
      if (e.engine === engine) continue;
      e.engine.unwatch();
      if (!e.engine.isGone) await e.engine.removeByLabel(`${LABEL_RUN}=${opts.runId}`).catch(() => 0);
    }
  }

  // What the stages add to report.json: the tools cache's outcome, each package's origin (never in dist/).
  const parts = compiled.stages.flatMap((s) => s.report?.(outputs) ?? []);
  const toolsCache = parts.find((p) => p.toolsCache)?.toolsCache ?? null;
  const order = new Map(compiled.stages.map((s, i) => [s.id, i]));
  explanations.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
  const report = {
    commit: opts.identity.commit,
    toolsCache,
    packages: parts.flatMap((p) => p.packages ?? []),
    explanations,
    stages: Object.fromEntries([...run.status].map(([id, st]) => [id, st])),
  };
  await writeFile(join(logDir, 'report.json'), JSON.stringify(report, null, 2) + '\n');

  if (!run.ok) {
    // The first failure in build order is the one to fix; the rest is summarised.
    const failed = compiled.stages.filter((s) => run.errors.has(s.id));
    const notRun = [...run.status].filter(([, st]) => st === 'skipped' || st === 'cancelled').map(([id]) => id);
    if (failed.length === 0) throw new OsforgeError('INTERRUPTED', `the run was stopped before ${notRun.length} stage(s) ran`);
    const first = failed[0]!;
    const err = run.errors.get(first.id);
    if (failed.length > 1 || notRun.length) {
      process.stderr.write(`dist: ${failed.length} stage(s) failed (${failed.map((s) => s.id).join(', ')}); ${notRun.length} not run because of them\n`);
    }
    // Name the stage: an engine that went away mid-run is not the step's fault.
    if (err instanceof OsforgeError && err.code === 'ENGINE_UNAVAILABLE') throw wrapError(err, `stage "${first.id}"`, { stage: err.context.stage ?? first.id });
    throw err;
  }
  const manifest = outputs.get(compiled.dist);
  return { manifest, upToDate: false, toolsHit: toolsCache?.hit ?? false, logDir, explanations };
}

/** Whether every stage that must be proven on a no-op (BuildStage.provenOnNoop) is present, asked in build order. */
async function provenNoop(stages: readonly BuildStage[], p: PresenceEnv): Promise<boolean> {
  for (const s of stages) if (s.provenOnNoop && !(await s.present(p))) return false;
  return true;
}
