// Content-addressed store for stage outputs, on disk: stages/<key>/ holds
// meta.json and either output.tar.gz (a package, a toolchain step) or out/
// (a directory of files, e.g. boot images). Outputs stream in and out, so
// no stage's output is ever whole in memory. A hit is re-verified against
// the recorded sha256s; a corrupt entry is evicted with a message. Entries
// appear by rename, never half-written.
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join, relative } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sha256File } from '../util/hash.ts';
import { fsyncParent, fsyncTree, mapDiskFull } from '../util/durable.ts';

// The entry types are the step-output contract (model/step-outputs.ts).
export type { StageEntry, StageMeta } from '../model/step-outputs.ts';
import type { StageEntry, StageMeta } from '../model/step-outputs.ts';
/** Reads a (small) file entry's output into memory. */
export function readOutput(entry: StageEntry<StageMeta>): Promise<Buffer> {
  return readFile(entry.path);
}

export class StageStore {
  private readonly inflight = new Map<string, Promise<unknown>>();

  constructor(
    readonly root: string,
    private readonly log: (m: string) => void = () => undefined,
  ) {}

  dir(key: string): string {
    return join(this.root, key);
  }

  /** Whether an entry exists, without verifying it (explain, no-op checks). */
  has(key: string): boolean {
    return existsSync(join(this.dir(key), 'meta.json'));
  }

  async get<M extends StageMeta>(key: string): Promise<StageEntry<M> | null> {
    const dir = this.dir(key);
    if (!existsSync(join(dir, 'meta.json'))) return null;
    try {
      const meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as M;
      const problem = meta.key !== key ? `it records key ${meta.key}` : await this.verify(dir, meta);
      if (problem) {
        this.log(`stage cache entry ${key.slice(0, 12)} is corrupt (${problem}); evicting and rebuilding`);
        await rm(dir, { recursive: true, force: true });
        return null;
      }
      // The meta file's mtime is the entry's last use, which `cache gc` evicts by.
      const now = new Date();
      await utimes(join(dir, 'meta.json'), now, now).catch(() => undefined);
      return { meta, path: meta.files ? join(dir, 'out') : join(dir, 'output.tar.gz') };
    } catch (err) {
      this.log(`stage cache entry ${key.slice(0, 12)} is unreadable (${(err as Error).message}); evicting and rebuilding`);
      await rm(dir, { recursive: true, force: true });
      return null;
    }
  }

  private async verify(dir: string, meta: StageMeta): Promise<string | null> {
    if (meta.files) {
      for (const [name, want] of Object.entries(meta.files)) {
        const actual = await sha256File(join(dir, 'out', name));
        if (actual !== want) return `${name}: expected ${want}, actual ${actual}`;
      }
      return null;
    }
    const actual = await sha256File(join(dir, 'output.tar.gz'));
    return actual === meta.outputSha256 ? null : `expected ${meta.outputSha256}, actual ${actual}`;
  }

  /**
   * Stores output.tar.gz from bytes or a stream, hashing it as it is written.
   * `after` adds meta fields known only once the stream has ended (e.g. a size counted on the way).
   */
  async put<M extends StageMeta>(meta: Omit<M, 'outputSha256'>, output: Buffer | Readable, after?: () => Partial<M>): Promise<StageEntry<M>> {
    return this.commit<M>(meta as M, Buffer.isBuffer(output) ? output.length : undefined, async (tmp) => {
      const hash = createHash('sha256');
      const tee = new Transform({
        transform(chunk: Buffer, _e, cb) {
          hash.update(chunk);
          cb(null, chunk);
        },
      });
      await pipeline(Buffer.isBuffer(output) ? Readable.from([output]) : output, tee, createWriteStream(join(tmp, 'output.tar.gz')));
      return { ...after?.(), outputSha256: hash.digest('hex') };
    });
  }

  /** Stores a directory: `fill` writes files into the given out/ dir; each is hashed into meta.files. */
  async putDir<M extends StageMeta>(meta: Omit<M, 'files'>, fill: (outDir: string) => Promise<void>): Promise<StageEntry<M>> {
    return this.commit<M>(meta as M, undefined, async (tmp) => {
      const out = join(tmp, 'out');
      await mkdir(out, { recursive: true });
      await fill(out);
      const files: Record<string, string> = {};
      for (const f of await listFiles(out)) files[relative(out, f)] = await sha256File(f);
      return { files };
    });
  }

  // Write into a temp dir, fsync, rename, fsync the parent: an entry that exists is complete on disk.
  private async commit<M extends StageMeta>(
    meta: M,
    bytesNeeded: number | undefined,
    write: (tmp: string) => Promise<Partial<StageMeta>>,
  ): Promise<StageEntry<M>> {
    const dir = this.dir(meta.key);
    const tmp = `${dir}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    return mapDiskFull(this.root, bytesNeeded, async () => {
      try {
        await mkdir(tmp, { recursive: true });
        const full = { ...meta, ...(await write(tmp)) } as M;
        await writeFile(join(tmp, 'meta.json'), JSON.stringify(full, null, 1) + '\n');
        fsyncTree(tmp);
        await rm(dir, { recursive: true, force: true });
        await rename(tmp, dir);
        fsyncParent(dir);
        return { meta: full, path: full.files ? join(dir, 'out') : join(dir, 'output.tar.gz') };
      } catch (err) {
        await rm(tmp, { recursive: true, force: true });
        throw err;
      }
    });
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

  /** A fresh temp dir beside the entries (same filesystem, so an import is one rename; gc removes a dead run's). */
  tempDir(): string {
    return join(this.root, `import.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`);
  }

  /**
   * Moves a complete entry unpacked in `dir` (from tempDir()) into the store,
   * after checking it is the entry of `key` and every file matches its
   * recorded sha256. Returns the problem instead when it is not; `dir` is
   * removed either way.
   */
  async importDir(key: string, dir: string): Promise<string | null> {
    try {
      const meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as StageMeta;
      const problem = meta.key !== key ? `it is the entry of ${String(meta.key).slice(0, 12)}` : await this.verify(dir, meta);
      if (problem) return problem;
      fsyncTree(dir);
      if (this.has(key)) return null;
      await rename(dir, this.dir(key));
      fsyncParent(this.dir(key));
      return null;
    } catch (err) {
      return `unreadable (${(err as Error).message})`;
    } finally {
      await rm(dir, { recursive: true, force: true });
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
        if (!pidAlive(Number(tmp[1]))) {
          await rm(dir, { recursive: true, force: true });
          removed.push(name);
          freed += size;
        }
        continue;
      }
      const lastUse = await stat(join(dir, 'meta.json')).then(
        (s) => s.mtimeMs,
        () => 0,
      );
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

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p)));
    else if (e.isFile()) out.push(p);
  }
  return out.sort();
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
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
