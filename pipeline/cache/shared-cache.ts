// The shared stage cache (seed 003: "check $cache/$pkghash.tar.gz before
// performing a build"): a directory or an http(s) URL that CI machines and
// builders share. An entry is the stage store's entry of one key, as a tar
// (<key[0:2]>/<key>.tar), and a cosign blob signature of it (<key>.tar.sig)
// by the cache key or the release key. Before a stage builds, its entry is
// pulled when the signature verifies with the configured public key and every
// file matches the sha256 its meta.json records; an unsigned, wrongly signed
// or damaged entry is ignored with a warning and the stage builds. After a
// stage, its entry is pushed when the cache lacks it and a signing key is set.
import type { KeyObject } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { OsforgeError } from '../errors.ts';
import { decodeSigFile, encodeSigFile, signFile, verifyFile } from '../sign/blob.ts';
import { extractSafe, packStream, type StreamEntry } from '../util/tar-stream.ts';
import type { StageStore } from './stage-store.ts';

export interface SharedCacheOptions {
  /** A directory, or an http(s):// base URL (GET to pull, PUT to push). */
  location: string;
  verifyKey: KeyObject;
  signKey?: KeyObject;
  log: (line: string) => void;
}

const KEY_RE = /^[0-9a-f]{64}$/;

export class SharedCache {
  readonly pulled = new Set<string>();
  readonly pushed = new Set<string>();
  private readonly http: boolean;

  constructor(private readonly o: SharedCacheOptions) {
    this.http = /^https?:\/\//.test(o.location);
  }

  get location(): string { return this.o.location; }
  get canPush(): boolean { return this.o.signKey !== undefined; }

  private rel(key: string, suffix = '') { return `${key.slice(0, 2)}/${key}.tar${suffix}`; }
  private url(rel: string) { return `${this.o.location.replace(/\/+$/, '')}/${rel}`; }

  private async fetchTo(rel: string, file: string): Promise<boolean> {
    if (!this.http) {
      const from = join(this.o.location, rel);
      if (!existsSync(from)) return false;
      await pipeline(createReadStream(from), createWriteStream(file));
      return true;
    }
    const res = await fetch(this.url(rel));
    if (res.status === 404) return false;
    if (!res.ok || !res.body) throw new Error(`GET ${this.url(rel)}: HTTP ${res.status}`);
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(file));
    return true;
  }

  private async exists(rel: string): Promise<boolean> {
    if (!this.http) return existsSync(join(this.o.location, rel));
    const res = await fetch(this.url(rel), { method: 'HEAD' });
    return res.ok;
  }

  private async putFile(rel: string, file: string): Promise<void> {
    if (!this.http) {
      const to = join(this.o.location, rel);
      await mkdir(dirname(to), { recursive: true });
      const tmp = `${to}.tmp-${process.pid}`;
      await pipeline(createReadStream(file), createWriteStream(tmp));
      await rename(tmp, to);
      return;
    }
    const size = (await stat(file)).size;
    const res = await fetch(this.url(rel), {
      method: 'PUT', body: Readable.toWeb(createReadStream(file)) as unknown as BodyInit, headers: { 'content-length': String(size) }, duplex: 'half',
    } as RequestInit);
    if (!res.ok) throw new Error(`PUT ${this.url(rel)}: HTTP ${res.status}`);
  }

  /**
   * Imports the entry of `key` into `store` when the cache has a verified one.
   * false: absent, or refused (with a warning naming the stage and why).
   */
  async pull(store: StageStore, key: string, stage: string): Promise<boolean> {
    if (!KEY_RE.test(key)) return false;
    const dir = store.tempDir();
    const tarFile = `${dir}.tar`;
    await mkdir(dirname(dir), { recursive: true });
    try {
      if (!(await this.fetchTo(this.rel(key), tarFile))) return false;
      const refuse = (why: string) => { this.o.log(`warning: shared cache entry ${key.slice(0, 12)} for ${stage} ${why}; ignored, building it`); return false; };
      const sigFile = `${dir}.sig`;
      if (!(await this.fetchTo(this.rel(key, '.sig'), sigFile))) return refuse('is unsigned (no .sig)');
      let sig: Buffer;
      try {
        sig = decodeSigFile(await readFile(sigFile, 'utf8'));
      } catch {
        return refuse('has a malformed signature');
      } finally {
        await rm(sigFile, { force: true });
      }
      if (!(await verifyFile(this.o.verifyKey, tarFile, [sig]))[0]) return refuse('is not signed by the shared cache\'s key (tampered, or signed by another key)');
      await extractSafe(createReadStream(tarFile), dir);
      const problem = await store.importDir(key, dir);
      if (problem) return refuse(`does not match its own record (${problem})`);
      this.pulled.add(key);
      return true;
    } catch (err) {
      if (err instanceof OsforgeError && err.code === 'ARCHIVE_UNSAFE') {
        this.o.log(`warning: shared cache entry ${key.slice(0, 12)} for ${stage}: ${err.message}; ignored, building it`);
        return false;
      }
      this.o.log(`warning: shared cache ${this.o.location} failed for ${stage} (${(err as Error).message}); building it`);
      return false;
    } finally {
      await rm(tarFile, { force: true });
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Pushes the store's entry of `key` when the cache lacks it (signed); failures only warn. */
  async push(store: StageStore, key: string, stage: string): Promise<void> {
    if (!this.o.signKey || !KEY_RE.test(key) || this.pulled.has(key) || this.pushed.has(key) || !store.has(key)) return;
    const tarFile = `${store.tempDir()}.tar`;
    try {
      if (await this.exists(this.rel(key, '.sig'))) return;
      const entryDir = store.dir(key);
      const files: string[] = [];
      const walk = async (d: string) => {
        for (const n of (await readdir(d)).sort()) {
          const p = join(d, n);
          if ((await stat(p)).isDirectory()) await walk(p); else files.push(p);
        }
      };
      await walk(entryDir);
      const entries: StreamEntry[] = files.map((f) => ({ path: relative(entryDir, f), type: 'file', mode: 0o644, data: { file: f } }));
      await pipeline(packStream(entries, 0), createWriteStream(tarFile));
      const sig = await signFile(this.o.signKey, tarFile);
      // The tar first, then its signature: a reader never sees a signature without its tar.
      await this.putFile(this.rel(key), tarFile);
      await writeFile(`${tarFile}.sig`, encodeSigFile(sig.signature));
      await this.putFile(this.rel(key, '.sig'), `${tarFile}.sig`);
      this.pushed.add(key);
    } catch (err) {
      this.o.log(`warning: could not push ${stage} (${key.slice(0, 12)}) to the shared cache ${this.o.location}: ${(err as Error).message}`);
    } finally {
      await rm(tarFile, { force: true });
      await rm(`${tarFile}.sig`, { force: true });
    }
  }
}

/**
 * The run's shared cache: --shared-cache or $OSFORGE_SHARED_CACHE, verified
 * with $OSFORGE_SHARED_CACHE_PUBKEY (required: an entry nobody can check is
 * never used), pushed to when $OSFORGE_SHARED_CACHE_KEY (a cosign private key;
 * password from $COSIGN_PASSWORD) is set.
 */
export async function sharedCacheFrom(cli: string | undefined, log: (line: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<SharedCache | undefined> {
  const location = cli ?? env.OSFORGE_SHARED_CACHE;
  if (!location) return undefined;
  const { loadSigningKey, loadVerifyKey } = await import('../sign/keyfile.ts');
  if (!env.OSFORGE_SHARED_CACHE_PUBKEY) {
    throw new OsforgeError('USAGE', `shared cache ${location}: no public key to verify its entries with`, {
      hint: 'set OSFORGE_SHARED_CACHE_PUBKEY to the cosign public key its entries are signed with (osforge keygen makes a pair)',
    });
  }
  const verifyKey = await loadVerifyKey(env.OSFORGE_SHARED_CACHE_PUBKEY);
  const signKey = env.OSFORGE_SHARED_CACHE_KEY ? (await loadSigningKey({ path: env.OSFORGE_SHARED_CACHE_KEY, from: 'OSFORGE_SHARED_CACHE_KEY' }, env)).privateKey : undefined;
  if (!/^https?:\/\//.test(location)) await mkdir(location, { recursive: true });
  return new SharedCache({ location, verifyKey, signKey, log });
}
