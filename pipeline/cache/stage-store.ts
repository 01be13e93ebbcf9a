// Content-addressed store for stage outputs: stages/<key>/{output.tar.gz,meta.json}.
// A hit is re-verified against the recorded sha256; a corrupt entry is
// evicted with a message. Entries appear by rename, never half-written.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256 } from '../util/hash.ts';

export interface StageMeta {
  key: string;
  kind: string;
  outputSha256: string;
  [field: string]: unknown;
}

export interface StageEntry<M extends StageMeta> { meta: M; output: Buffer }

export class StageStore {
  private readonly inflight = new Map<string, Promise<unknown>>();

  constructor(readonly root: string, private readonly log: (m: string) => void = () => undefined) {}

  dir(key: string): string {
    return join(this.root, key);
  }

  async get<M extends StageMeta>(key: string): Promise<StageEntry<M> | null> {
    const dir = this.dir(key);
    if (!existsSync(join(dir, 'meta.json'))) return null;
    try {
      const meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as M;
      const output = await readFile(join(dir, 'output.tar.gz'));
      const actual = sha256(output);
      if (meta.key !== key || actual !== meta.outputSha256) {
        this.log(`stage cache entry ${key.slice(0, 12)} is corrupt (expected ${meta.outputSha256}, actual ${actual}); evicting and rebuilding`);
        await rm(dir, { recursive: true, force: true });
        return null;
      }
      return { meta, output };
    } catch (err) {
      this.log(`stage cache entry ${key.slice(0, 12)} is unreadable (${(err as Error).message}); evicting and rebuilding`);
      await rm(dir, { recursive: true, force: true });
      return null;
    }
  }

  async put<M extends StageMeta>(meta: Omit<M, 'outputSha256'>, output: Buffer): Promise<StageEntry<M>> {
    const full = { ...meta, outputSha256: sha256(output) } as unknown as M;
    const dir = this.dir(full.key);
    const tmp = `${dir}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    await mkdir(tmp, { recursive: true });
    await writeFile(join(tmp, 'output.tar.gz'), output);
    await writeFile(join(tmp, 'meta.json'), JSON.stringify(full, null, 1) + '\n');
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
    return { meta: full, output };
  }

  /** get-or-build; concurrent callers for one key share a single build. */
  async getOrBuild<M extends StageMeta>(key: string, build: () => Promise<StageEntry<M>>): Promise<StageEntry<M> & { hit: boolean }> {
    const running = this.inflight.get(key) as Promise<StageEntry<M> & { hit: boolean }> | undefined;
    if (running) return running;
    const p = (async () => {
      const cached = await this.get<M>(key);
      if (cached) return { ...cached, hit: true };
      return { ...(await build()), hit: false };
    })();
    this.inflight.set(key, p);
    try {
      return await p;
    } finally {
      this.inflight.delete(key);
    }
  }
}
