// A fake Engine for unit tests of the scheduler and the step funnel: every
// container "runs" for a set time on a fake clock-free timer, exits with the
// code the test chose for its stage, and the engine records what ran when,
// how many ran at once, and refuses new containers after shutdown.
import { Readable } from 'node:stream';
import type { Engine, ImageInfo, PreparedStep, Reaped, RunResult, RunSpec } from '../../../pipeline/engine/engine.ts';
import { LABEL_STAGE } from '../../../pipeline/engine/engine.ts';
import { OsforgeError } from '../../../pipeline/errors.ts';
import { currentOwner } from '../../../pipeline/util/owner.ts';

export interface Ran {
  stage: string;
  startedAt: number;
  endedAt: number;
  exitCode: number;
}

export class FakeEngine implements Engine {
  readonly owner = currentOwner();
  readonly where = 'fake://engine';
  readonly isGone = false;
  readonly ran: Ran[] = [];
  running = 0;
  maxRunning = 0;
  private seq = 0;
  private closed = false;
  private readonly kills = new Set<() => void>();

  /** ms a stage's container runs, and its exit code (default 1 ms, 0). */
  constructor(private readonly plan: (stage: string) => { ms?: number; exitCode?: number } = () => ({})) {}

  /** A logical clock: every start and end takes the next tick, so order is exact. */
  private tick(): number {
    return ++this.seq;
  }

  async run(spec: RunSpec): Promise<RunResult> {
    if (this.closed) throw new OsforgeError('INTERRUPTED', 'interrupted: not starting another container');
    const stage = spec.labels[LABEL_STAGE] ?? 'unknown';
    const { ms = 1, exitCode = 0 } = this.plan(stage);
    const startedAt = this.tick();
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    spec.onLog?.(`${stage} running`);
    const code = await new Promise<number>((resolve) => {
      const kill = () => {
        clearTimeout(timer);
        resolve(137);
      };
      const timer = setTimeout(() => {
        this.kills.delete(kill);
        resolve(exitCode);
      }, ms);
      this.kills.add(kill);
    });
    this.running--;
    this.ran.push({ stage, startedAt, endedAt: this.tick(), exitCode: code });
    return { exitCode: code, log: [`${stage} running`], outputs: new Map() };
  }

  /** Held containers are not modelled: go() runs the step as run() would. */
  async prepare(spec: RunSpec): Promise<PreparedStep> {
    return { go: (late, onStart) => this.run({ ...spec, inputs: [...(spec.inputs ?? []), ...late], onStart }), discard: async () => undefined };
  }

  async shutdown(): Promise<number> {
    this.closed = true;
    const n = this.kills.size;
    for (const k of [...this.kills]) k();
    this.kills.clear();
    return n;
  }

  async ping(): Promise<void> {}
  watch(): void {}
  unwatch(): void {}
  async inspectImage(): Promise<ImageInfo | null> {
    return null;
  }
  async tagImage(): Promise<void> {}
  async removeImage(): Promise<void> {}
  async buildImage(): Promise<string> {
    return 'sha256:fake';
  }
  async loadImage(): Promise<void> {}
  async saveImage(): Promise<Readable> {
    return Readable.from([]);
  }
  async pullWithin(): Promise<boolean> {
    return false;
  }
  async exportPath(): Promise<Buffer> {
    return Buffer.alloc(0);
  }
  async removeByLabel(): Promise<number> {
    return 0;
  }
  async reapOrphans(): Promise<Reaped> {
    return { containers: 0, images: 0 };
  }
}
