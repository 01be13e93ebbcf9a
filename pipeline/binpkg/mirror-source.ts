// Reading a binary mirror: http(s)://, file:// or a plain directory path.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OsforgeError } from '../errors.ts';
import { parseIndex, type MirrorIndex } from './mirror-index.ts';

export interface MirrorReader {
  /** What to show the user. */
  readonly display: string;
  /** Fetches `rel` (e.g. "b/bash-5.3-a1b2c3d4-bin.tar.gz"); null when the mirror does not have it. */
  get(rel: string): Promise<Buffer | null>;
  /** A reader for a sub-directory. */
  sub(dir: string): MirrorReader;
}

const TIMEOUT_MS = 60_000;

export function openMirror(url: string): MirrorReader {
  if (/^https?:\/\//i.test(url)) return httpMirror(url.replace(/\/+$/, ''));
  if (/^file:\/\//i.test(url)) return localMirror(fileURLToPath(url));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    throw new OsforgeError('USAGE', `unsupported mirror URL ${JSON.stringify(url)}: use http://, https://, file:// or a directory path`);
  }
  return localMirror(resolve(url));
}

function checkRel(rel: string): void {
  if (rel.startsWith('/') || rel.split('/').some((s) => s === '..' || s === '')) {
    throw new OsforgeError('USAGE', `refusing mirror path ${JSON.stringify(rel)}`);
  }
}

function httpMirror(base: string): MirrorReader {
  return {
    display: base,
    async get(rel) {
      checkRel(rel);
      const url = `${base}/${rel.split('/').map(encodeURIComponent).join('/')}`;
      let res: Response;
      try {
        res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS), redirect: 'follow' });
      } catch (err) {
        throw new OsforgeError('SOURCE_FETCH', `downloading ${url}: ${(err as Error).message}`, { hint: 'check the mirror URL and your network' }, { cause: err });
      }
      if (res.status === 404 || res.status === 410) {
        await res.body?.cancel();
        return null;
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw new OsforgeError('SOURCE_FETCH', `downloading ${url}: HTTP ${res.status} ${res.statusText}`);
      }
      return Buffer.from(await res.arrayBuffer());
    },
    sub(dir) {
      checkRel(dir);
      return httpMirror(`${base}/${dir}`);
    },
  };
}

function localMirror(root: string): MirrorReader {
  return {
    display: root,
    async get(rel) {
      checkRel(rel);
      try {
        return await readFile(`${root}/${rel}`);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return null;
        throw new OsforgeError('SOURCE_FETCH', `reading ${root}/${rel}: ${(err as Error).message}`, {}, { cause: err });
      }
    },
    sub(dir) {
      checkRel(dir);
      return localMirror(`${root}/${dir}`);
    },
  };
}

/**
 * Loads `index.json` from the mirror root, or from `binaries/index.json` when
 * the URL names the top of a mirror that also carries sources (the seed's
 * recommended layout). Returns the reader rooted where the index was found,
 * or null when there is no index.
 */
export async function loadIndex(mirror: MirrorReader): Promise<{ index: MirrorIndex; root: MirrorReader } | null> {
  for (const root of [mirror, mirror.sub('binaries')]) {
    const text = await root.get('index.json');
    if (text) return { index: parseIndex(text.toString('utf8'), `${root.display}/index.json`), root };
  }
  return null;
}
