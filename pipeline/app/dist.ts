// The composition root of `osforge dist`: the plan and its stage graph
// (dist-setup.ts), the engines (the local one and any builders, all
// answering before anything starts), the shared cache, and the run itself
// (graph/run.ts). No argv, no printing of its own (lines go to the callbacks
// it is given), no exit codes: commands/dist.ts parses, calls, prints.
import { buildersFrom, resolveEndpoint } from '../engine/builders.ts';
import { connectEngine } from '../engine/connect.ts';
import type { DockerEngine } from '../engine/docker.ts';
import { LABEL_RUN } from '../engine/engine.ts';
import { EnginePool, type Builder } from '../engine/placement.ts';
import { hostArch } from '../model/arch.ts';
import { sharedCacheFrom } from '../cache/shared-cache.ts';
import { OsforgeError } from '../errors.ts';
import { paths } from '../paths.ts';
import { runDist, type DistOptions, type DistResult } from '../graph/run.ts';
import type { Plan } from '../plan/types.ts';
import type { StageGraph } from '../graph/keys.ts';
import { distSetup, stateRoot } from './dist-setup.ts';
import { settings } from '../settings.ts';

export interface DistRun {
  plan: Plan;
  graph: StageGraph;
  /** Runs the build (or its no-op check). */
  build(o: Pick<DistOptions, 'mode' | 'jobs' | 'verbose' | 'signal'>): Promise<DistResult>;
  /** Removes this run's containers on every engine (^C); resolves to how many. */
  shutdown(): Promise<number>;
}

/**
 * The run's engines: the local one, and a Docker engine per builder
 * (engine/builders.ts). Each builder must answer before anything starts;
 * an insecure one is named on every run.
 */
async function builderPool(local: DockerEngine, cli: string | undefined, note: (line: string) => void): Promise<EnginePool> {
  const builders: Builder[] = [];
  for (const spec of buildersFrom(cli)) {
    const r = resolveEndpoint(spec);
    if (r.insecure)
      note(`WARNING: builder linux/${spec.platform} at ${spec.endpoint} is plain tcp without TLS (;insecure): anyone who can reach it controls your build`);
    const engine = r.options ? connectEngine({ options: r.options, name: r.name }) : local;
    try {
      await engine.ping(10_000);
    } catch (err) {
      throw new OsforgeError(
        'ENGINE_UNAVAILABLE',
        `builder linux/${spec.platform} (${r.name}) does not answer: ${((err as Error).cause as Error | undefined)?.message ?? (err as Error).message}`,
        {
          hint: spec.endpoint.startsWith('ssh://')
            ? `check that ssh reaches it with that key and that its host key is in ${settings().builders.sshKnownHosts ?? '~/.ssh/known_hosts'} (ssh-keyscan), or drop linux/${spec.platform} from ${spec.from}`
            : `check the engine and its certificates, or drop linux/${spec.platform} from ${spec.from} to build it locally`,
        },
      );
    }
    builders.push({ platform: spec.platform, name: r.name, engine, jobs: spec.jobs });
    note(`builder linux/${spec.platform}: ${r.name}, ${spec.jobs} stage(s) at a time`);
  }
  return new EnginePool(local, builders, hostArch(), note);
}

/** Prepares one `dist` run: everything up to the first stage, nothing started yet. */
export async function openDistRun(o: {
  use?: string[];
  profiles?: string[];
  builders?: string;
  sharedCache?: string;
  runId: string;
  /** dist-setup's lines (Buck2, signatures); `note`: warnings and builder lines. */
  setupLog: (line: string) => void;
  note: (line: string) => void;
}): Promise<DistRun> {
  const { plan, identity, buck2, graph } = await distSetup(o.setupLog, { use: o.use, profiles: o.profiles });
  const engine = connectEngine();
  const pool = await builderPool(engine, o.builders, o.note);
  const shared = await sharedCacheFrom(o.sharedCache, o.note);
  // Best effort: with no engine here a no-op still succeeds, and a real build fails at its engine check.
  const reaped = await engine.ping(3000).then(
    () => engine.reapOrphans(),
    () => null,
  );
  if (reaped && (reaped.containers || reaped.images)) {
    o.note(`removed ${reaped.containers} container(s) and ${reaped.images} dangling build image(s) left by dead runs`);
  }
  return {
    plan,
    graph,
    build: (b) =>
      runDist({
        plan,
        identity,
        graph,
        buck2,
        runId: o.runId,
        ...b,
        engine,
        pool,
        shared,
        distDir: paths.dist(),
        toolsCacheRoot: paths.toolsCache(),
        stateRoot: stateRoot(),
      }),
    shutdown: () =>
      Promise.all(pool.engines().map((e) => e.engine.shutdown(`${LABEL_RUN}=${o.runId}`).catch(() => 0))).then((counts) => counts.reduce((a, b) => a + b, 0)),
  };
}
