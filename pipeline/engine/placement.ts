// Placement: which engine runs a stage. A stage of an arch (stage1, stage2,
// stage3) goes to the builder declared for that platform (builders.ts), at
// most `jobs` at a time there; with no builder for it, to the local engine,
// which runs a foreign arch through binfmt, and the run says so once. Every
// other stage (images, fetch, kernel, GRUB, image steps) stays local: their
// inputs are local images and files. The builder image is shipped to a
// remote engine that lacks that image ID as a docker-archive (no registry).
import pLimit, { type LimitFunction } from 'p-limit';
import type { Engine } from './engine.ts';
import type { Arch } from '../model/arch.ts';
import { OsforgeError } from '../errors.ts';

export interface Builder {
  platform: Arch;
  name: string;
  engine: Engine;
  jobs: number;
}

export interface Placement {
  engine: Engine;
  name: string;
  native: boolean;
}

export class EnginePool {
  private readonly limits = new Map<string, LimitFunction>();
  private readonly shipped = new Map<string, Promise<void>>();
  private readonly noted = new Set<Arch>();

  /** `hostArch`: the platform the local engine runs natively. */
  constructor(
    readonly local: Engine,
    readonly builders: Builder[],
    private readonly hostArch: Arch,
    private readonly note: (line: string) => void,
  ) {
    for (const b of builders) this.limits.set(b.name, pLimit(b.jobs));
  }

  private readonly down = new Set<string>();

  get remote(): boolean {
    return this.builders.some((b) => b.engine !== this.local);
  }

  /** A builder that went away: nothing more is placed on it this run. */
  markDown(name: string, why: string): void {
    if (this.down.has(name)) return;
    this.down.add(name);
    this.note(`builder ${name} is down (${why.split('\n')[0]}); its platform's stages run on the local engine`);
  }

  placeFor(arch: Arch): Placement {
    const b = this.builders.find((x) => x.platform === arch && !this.down.has(x.name));
    if (b) return { engine: b.engine, name: b.name, native: true };
    if (this.builders.length && arch !== this.hostArch && !this.noted.has(arch)) {
      this.noted.add(arch);
      this.note(`no builder for linux/${arch}: its stages run on the local engine through binfmt (QEMU)`);
    }
    return { engine: this.local, name: 'local', native: arch === this.hostArch };
  }

  /** Runs `fn` within the placed engine's concurrency limit (the local engine is limited by the job budget alone). */
  within<T>(p: Placement, fn: () => Promise<T>): Promise<T> {
    const limit = this.limits.get(p.name);
    return limit ? limit(fn) : fn();
  }

  /** Makes sure `ref` (built locally) exists on the placed engine under the same image ID; loads it once per run. */
  async ensureImage(p: Placement, ref: string): Promise<void> {
    if (p.engine === this.local) return;
    const key = `${p.name}\0${ref}`;
    let pending = this.shipped.get(key);
    if (!pending) {
      pending = (async () => {
        const mine = await this.local.inspectImage(ref);
        if (!mine) throw new OsforgeError('ENGINE_UNAVAILABLE', `image ${ref} is not on the local engine, so it cannot be shipped to ${p.name}`);
        const theirs = await p.engine.inspectImage(ref);
        if (theirs?.id === mine.id) return;
        this.note(`shipping ${ref} (${mine.id.slice(7, 19)}) to ${p.name} as a docker-archive`);
        await p.engine.loadImage(await this.local.saveImage(ref));
        const loaded = await p.engine.inspectImage(ref);
        if (loaded?.id !== mine.id) throw new OsforgeError('ENGINE_UNAVAILABLE', `${p.name} loaded ${ref} as ${loaded?.id ?? 'nothing'}, not ${mine.id}`);
      })();
      this.shipped.set(key, pending);
      pending.catch(() => this.shipped.delete(key));
    }
    await pending;
  }

  /** Every engine of the run, local first, without duplicates. */
  engines(): { name: string; engine: Engine }[] {
    const out = [{ name: 'local', engine: this.local }];
    for (const b of this.builders) if (!out.some((o) => o.engine === b.engine)) out.push({ name: b.name, engine: b.engine });
    return out;
  }
}
