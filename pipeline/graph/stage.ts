// A stage is one value: its id, what it depends on, the named inputs its key
// is made of, how heavy it is, how to tell whether its output already
// exists, and how to produce that output from its dependencies' outputs.
// The stage kinds (graph/kinds/) describe them, compile.ts expands the kinds
// over the plan, run.ts hands the stages to the scheduler. A stage's output
// is read through the typed reference its kind module declares and adds the
// stage under (kinds/kind.ts), so a dependency's value has its type without
// a cast at the reader.
import type { Engine } from '../engine/engine.ts';
import type { StageStore } from '../cache/stage-store.ts';
import type { Journal } from '../cache/journal.ts';
import type { Inputs } from './keys.ts';
import type { Arch, Plan } from '../plan/types.ts';
import type { BuildIdentity } from '../util/git.ts';
import type { Buck2 } from '../steps/buck2.ts';
import type { BinaryLookup } from '../steps/bootstrap.ts';
import type { PackageOrigin } from '../model/manifest.ts';

/** Where a run keeps things, and what it may use. */
export interface StageEnv {
  plan: Plan;
  identity: BuildIdentity;
  buck2: Buck2 | null;
  engine: Engine;
  store: StageStore;
  journal: Journal;
  runId: string;
  logDir: string;
  distDir: string;
  toolsCacheRoot: string;
  stateRoot: { sources: string; stages: string; logs: string; journal: string; stamps: string; layers: string };
  binaryLookup?: BinaryLookup;
  /** Container logs echoed to stdout (--verbose --plain). */
  echo?: (line: string) => void;
  /** One progress line of a running stage (shown under its title, always logged). */
  progress: (id: string, line: string) => void;
  /** A stage's build container has started. */
  containerStarted: (id: string) => void;
  /** The container hold() started for stage `id`, if any; taken once. */
  takeHeld: (id: string) => Promise<Held | undefined> | undefined;
}

/** What a finished stage hands its dependents and the progress view. */
export interface StageResult<V = unknown> {
  /** Taken from a cache (store, engine image, tools-cache) rather than built. */
  hit: boolean;
  /** The title once done, e.g. "zlib 1.3.1 [cached]". */
  title: string;
  /** Bytes of output, when known (the --json event reports it). */
  bytes?: number;
  /** The engine it ran on, when the run has builders (engine/placement.ts); --json and --explain name it. */
  engine?: string;
  /** Its store entry came from the shared cache (cache/shared-cache.ts) this run. */
  shared?: boolean;
  value: V;
}

/**
 * A typed reference to a stage's output. Each kind module declares the refs
 * of its own stages (kinds/*.ts) and adds each stage under its ref, and the
 * compiler checks that the stage's run returns that V (kinds/kind.ts add()).
 */
export interface Ref<V> {
  readonly id: string;
  /** Phantom: carries V, never set. */ readonly _value?: V;
}

/** The reference to stage `id`, whose run returns a V: only a kind module calls this, for a stage it adds. */
export function ref<V>(id: string): Ref<V> {
  return { id };
}

/** The outputs of finished stages, read through references. */
export class Outputs {
  constructor(private readonly results: ReadonlyMap<string, StageResult>) {}
  /** The output of a finished dependency. */
  get<V>(ref: Ref<V>): V {
    const r = this.results.get(ref.id);
    if (!r) throw new Error(`internal: stage output ${ref.id} is missing`);
    // The one cast: a Ref<V> names a stage its kind added under that ref, and add() checks that its run returns StageResult<V>.
    return r.value as V;
  }
  /** The output when that stage finished, else undefined. */
  maybe<V>(ref: Ref<V>): V | undefined {
    return this.results.has(ref.id) ? this.get(ref) : undefined;
  }
  has(ref: Ref<unknown>): boolean {
    return this.results.has(ref.id);
  }
  /** Whether that finished stage was a cache hit; undefined when it has not finished. */
  hit(ref: Ref<unknown>): boolean | undefined {
    return this.results.get(ref.id)?.hit;
  }
}

/** What a stage adds to the run's report.json (never to dist/): the tools cache's outcome, a package's origin. */
export interface ReportPart {
  toolsCache?: { key: string; hit: boolean; reason: string };
  packages?: PackageOrigin[];
}

export interface BuildStage {
  id: string;
  deps: string[];
  inputs: Inputs;
  key: string;
  /** Title while waiting and running. */
  title: string;
  /** Cores it occupies in the scheduler's budget. */
  weight: number;
  /** Expected seconds, for the critical path. */
  cost: number;
  /** The platform whose builder runs it (engine/placement.ts); unset: always the local engine. */
  placement?: Arch;
  /** The stage store entry it writes, for one that writes one: the shared cache (cache/shared-cache.ts) pulls and pushes it. */
  storeKey?: string;
  /** Whether its output exists now (explain, and the warm no-op check); no container starts. */
  present(env: PresenceEnv): Promise<boolean>;
  run(env: StageEnv, deps: Outputs): Promise<StageResult>;
  /**
   * Starts the stage's container ahead, once every dependency has started
   * (the run hands `done`, the outputs finished so far): run() then only adds
   * what the dependencies produce. undefined when it cannot yet.
   */
  hold?(env: StageEnv, done: Outputs): Promise<Held> | undefined;
  /** The image a builder must hold before this stage runs there (shipped by the run), given what has finished. */
  remoteImage?(done: Outputs): string | undefined;
  /**
   * A warm no-op must still find this stage's output present: the run asks
   * present() (no engine: imageExists is never called) before trusting dist/.
   */
  provenOnNoop?: boolean;
  /** Its part of report.json, read once the run ended (from whatever finished). */
  report?(done: Outputs): ReportPart | undefined;
}

/** A container started ahead by hold(); drop() removes it when the stage does not run. */
export interface Held {
  drop(): Promise<void>;
}

/** What a presence check may look at: the store, the engine's images, the caches on disk. */
export type PresenceEnv = Pick<StageEnv, 'plan' | 'identity' | 'store' | 'distDir' | 'toolsCacheRoot' | 'stateRoot'> & {
  imageExists: (ref: string) => Promise<boolean>;
};
