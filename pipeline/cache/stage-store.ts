// Content-addressed store for stage outputs: stages/<key>/{output.tar.gz,meta.json}.
// A hit is re-verified against the recorded sha256; a corrupt entry is
// evicted with a message. Entries appear by rename, never half-written.
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256 } from '../util/hash.ts';
import { fsyncParent, fsyncTree, mapDiskFull } from './durable.ts';

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
      // The meta file's mtime is the entry's last use, which `cache gc` evicts by.
      const now = new Date();
      await utimes(join(dir, 'meta.json'), now, now).catch(() => undefined);
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
    const metaText = JSON.stringify(full, null, 1) + '\n';
    // Ingest, fsync, rename, fsync the parent: an entry that exists is complete on disk.
    await mapDiskFull(this.root, output.length + metaText.length, async () => {
      try {
        await mkdir(tmp, { recursive: true });
        await writeFile(join(tmp, 'output.tar.gz'), output);
        await writeFile(join(tmp, 'meta.json'), metaText);
        fsyncTree(tmp);
        await rm(dir, { recursive: true, force: true });
        await rename(tmp, dir);
        fsyncParent(dir);
      } catch (err) {
        await rm(tmp, { recursive: true, force: true });
        throw err;
      }
    });
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

  /**
   * Trims the store to `maxBytes`, least recently used first. Leftover temp
   * dirs of dead runs are removed too. Returns what was removed.
   */
  async gc(maxBytes: number): Promise<{ removed: string[]; freedBytes: number; keptBytes: number }> {
    if (!existsSync(this.root)) return { removed: [], freedBytes: 0, keptBytes: 0 };
    const entries: { name: string; size: number; lastUse: number }[] = [];
    const removed: string[] = [];
    let freed = 0;
    for (const name of await readdir(this.root)) {
      const dir = join(this.root, name);
      const size = await dirSize(dir);
      const tmp = /\.tmp-(\d+)-/.exec(name);
      if (tmp) {
        if (!pidAlive(Number(tmp[1]))) { await rm(dir, { recursive: true, force: true }); removed.push(name); freed += size; }
        continue;
      }
      const lastUse = await stat(join(dir, 'meta.json')).then((s) => s.mtimeMs, () => 0);
      entries.push({ name, size, lastUse });
    }
    entries.sort((a, b) => a.lastUse - b.lastUse);
    let total = entries.reduce((n, e) => n + e.size, 0);
    for (const e of entries) {
      if (total <= maxBytes) break;
      await rm(join(this.root, e.name), { recursive: true, force: true });
      removed.push(e.name);
      freed += e.size;
      total -= e.size;
    }
    return { removed, freedBytes: freed, keptBytes: total };
  }
}

async function dirSize(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const s = await stat(join(dir, name)).catch(() => null);
    if (s?.isDirectory()) total += await dirSize(join(dir, name));
    else if (s) total += s.size;
  }
  return total;
}

function pidAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}
