// What osforge needs from a container engine, and nothing Docker-specific:
// the pipeline, its stages and the image steps are written against this, so
// the scheduler's tests run on a fake engine and the Docker implementation
// (docker.ts) is the only module that knows dockerode.
import type { Readable } from 'node:stream';
import type { Arch } from '../model/arch.ts';
import type { Owner } from '../util/owner.ts';

export const LABEL_RUN = 'osforge.run';
export const LABEL_STAGE = 'osforge.stage';
/** Carried by the base and buildenv images, hence by every image built FROM them. */
export const LABEL_ROOTFS = 'osforge.rootfs.input';

/** A tar to extract into the container before it starts: bytes, or a stream made on demand (large inputs never sit in memory). */
export interface StepInput {
  dir: string;
  tar: Buffer | (() => Readable);
}

export interface RunSpec {
  image: string;
  cmd: string[];
  env?: Record<string, string>;
  /** 'none' for hermetic build steps; 'bridge' only for fetch steps. */
  network: 'none' | 'bridge';
  labels: Record<string, string>;
  platform?: Arch;
  workdir?: string;
  /** A CPU limit in cores (e.g. 1 on a machine shared with other builds); unlimited when absent. */
  cpus?: number;
  inputs?: StepInput[];
  /** Paths read back as tar bytes after a successful exit (small outputs only). */
  outputs?: string[];
  /** Paths streamed, as tar, to a file after a successful exit (large outputs). */
  outputFiles?: { path: string; file: string }[];
  onLog?: (line: string) => void;
  /** Called once the container has started (inputs are in by then). */
  onStart?: () => void;
}

export interface RunResult {
  exitCode: number;
  /** The last lines of the step's output (the full log goes to onLog). */
  log: string[];
  outputs: Map<string, Buffer>;
}

export interface BuildSpec {
  context: Buffer | Readable;
  tag: string;
  labels?: Record<string, string>;
  buildArgs?: Record<string, string>;
  platform?: Arch;
  /** Network mode for RUN steps; the tools image needs apt. */
  network?: 'none' | 'bridge' | 'host';
  /** Ignore the engine's layer cache (a forced rebuild must really rebuild). */
  nocache?: boolean;
  onLog?: (line: string) => void;
}

export interface ImageInfo {
  id: string;
  architecture: string;
  labels: Record<string, string>;
  /** diff_ids without the sha256: prefix. */ layers: string[];
}

export interface Reaped {
  containers: number;
  images: number;
}

/** A step whose container is created, started and holding: go() adds the late inputs and releases the command. */
export interface PreparedStep {
  go(late: StepInput[], onStart?: () => void): Promise<RunResult>;
  /** Removes the container without running the step (the stage turned out cached, or was cancelled). */
  discard(): Promise<void>;
}

export interface Engine {
  readonly owner: Owner;
  /** Where the engine is, for messages. */
  readonly where: string;
  readonly isGone: boolean;
  ping(timeoutMs?: number): Promise<void>;
  /** Fail every pending and later call soon after the engine stops answering. */
  watch(): void;
  unwatch(): void;
  inspectImage(ref: string): Promise<ImageInfo | null>;
  tagImage(id: string, ref: string): Promise<void>;
  removeImage(ref: string): Promise<void>;
  buildImage(spec: BuildSpec): Promise<string>;
  /** Loads a docker-archive stream. */
  loadImage(archive: Readable): Promise<void>;
  /** `ref` as a docker-archive stream (to load it into another engine). */
  saveImage(ref: string): Promise<Readable>;
  pullWithin(ref: string, timeoutMs: number): Promise<boolean>;
  /** Runs one step in a fresh container that cannot outlive osforge; always removed afterwards. */
  run(spec: RunSpec): Promise<RunResult>;
  /** The same step, started ahead and held until go() (spec.onStart is go()'s to call). */
  prepare(spec: RunSpec): Promise<PreparedStep>;
  /** Reads `path` out of an image as tar bytes without starting it. */
  exportPath(image: string, path: string): Promise<Buffer>;
  /** Refuses new containers, then removes every container carrying `label`. */
  shutdown(label: string): Promise<number>;
  removeByLabel(label: string): Promise<number>;
  reapOrphans(): Promise<Reaped>;
}
