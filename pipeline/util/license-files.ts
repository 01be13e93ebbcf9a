// The licence texts inside a source tarball (COPYING, LICENSE*, Linux's
// LICENSES/ ...), read in one streaming pass: the archive is decompressed by
// zlib or the host's xz/bzip2/zstd and parsed with tar-stream, and only the
// matching members are kept in memory. Linux's ~150 MB .tar.xz unpacks to
// over 1 GB, so nothing else may be held.
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tarStream from 'tar-stream';
import { OsforgeError } from '../errors.ts';

export interface LicenseText {
  path: string;
  data: Buffer;
}

const LICENSE_FILE = /^(COPYING|COPYRIGHT|LICEN[CS]E|NOTICE|UNLICENSE)([._-][^/]*)?$/i;
const LICENSE_DIR = /^licen[cs]es$/i;
/** Licence texts are small; a bigger "COPYING" is not one, and is not worth the memory. */
const MAX_TEXT = 4 * 1024 * 1024;

/**
 * Whether `rel` (a member path below the archive's top directory) is a
 * licence text: a top-level COPYING/LICENSE/... file, or any file under a
 * licences directory at the top or one level down (Linux's LICENSES/,
 * util-linux's Documentation/licenses/).
 */
export function isLicensePath(rel: string): boolean {
  const parts = rel.split('/');
  if (parts.length === 1) return LICENSE_FILE.test(parts[0]!);
  return parts
    .slice(0, -1)
    .slice(0, 2)
    .some((d) => LICENSE_DIR.test(d));
}

/** `pkg-1.0/COPYING` → `COPYING`; a member outside any top directory keeps its name. */
function belowTop(name: string): string {
  const clean = name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  const slash = clean.indexOf('/');
  return slash === -1 ? clean : clean.slice(slash + 1);
}

const TOOLS: [RegExp, string][] = [
  [/\.(tar\.xz|txz)$/, 'xz'],
  [/\.(tar\.bz2|tbz2?)$/, 'bzip2'],
  [/\.(tar\.zst|tzst)$/, 'zstd'],
];

/** The tar stream inside `path`, and a promise that fails if the decompressor does. */
function tarOf(path: string, file: string): { tar: Readable; done: Promise<void> } {
  if (/\.(tar\.gz|tgz)$/.test(file)) {
    const gunzip = createGunzip();
    return { tar: gunzip, done: pipeline(createReadStream(path), gunzip) };
  }
  if (/\.tar$/.test(file)) return { tar: createReadStream(path), done: Promise.resolve() };
  const tool = TOOLS.find(([re]) => re.test(file))?.[1];
  if (!tool) {
    throw new OsforgeError('CONFIG_INVALID', `${file}: cannot read licence texts from it: not a .tar, .tar.gz, .tar.xz, .tar.bz2 or .tar.zst`, {
      hint: 'pin the source as a tarball in images/sources.json',
    });
  }
  const child = spawn(tool, ['-dc', path], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-2000);
  });
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (err) =>
      reject(
        new OsforgeError(
          'ARCHIVE_UNSAFE',
          `cannot run ${tool} to read ${file}: ${err.message}`,
          { hint: `install ${tool} (builder/setup-host.sh checks the host)` },
          { cause: err },
        ),
      ),
    );
    child.on('close', (code, signal) =>
      code === 0 ? resolve() : reject(new OsforgeError('ARCHIVE_UNSAFE', `${tool} -dc ${file} failed (${signal ?? `exit ${code}`}): ${stderr.trim()}`)),
    );
  });
  return { tar: child.stdout, done };
}

/** The licence texts of one source tarball, sorted by path; a path the archive repeats keeps its last copy (as tar does). */
export async function licenseTexts(path: string, file: string): Promise<LicenseText[]> {
  const { tar, done } = tarOf(path, file);
  const extract = tarStream.extract();
  const parsing = pipeline(tar, extract);
  const guard = Promise.all([parsing, done]);
  guard.catch(() => {}); // awaited below; a failure mid-way also ends the loop
  const found = new Map<string, Buffer>();
  try {
    try {
      for await (const entry of extract) {
        const rel = belowTop(entry.header.name);
        const keep = entry.header.type === 'file' && rel !== '' && isLicensePath(rel) && (entry.header.size ?? 0) <= MAX_TEXT;
        const chunks: Buffer[] = [];
        for await (const c of entry) if (keep) chunks.push(c as Buffer);
        if (keep) found.set(rel, Buffer.concat(chunks));
      }
    } catch (err) {
      // The decompressor's own failure (exit status, stderr) says more than the parser's "unexpected end".
      await guard.catch((e: unknown) => {
        if (e instanceof OsforgeError) throw e;
      });
      throw err;
    }
    await guard;
  } catch (err) {
    if (err instanceof OsforgeError) throw err;
    throw new OsforgeError(
      'ARCHIVE_UNSAFE',
      `cannot read licence texts from ${file}: ${(err as Error).message}`,
      { hint: 'the cached source is damaged: delete it from the source cache and fetch again' },
      { cause: err },
    );
  }
  return [...found].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([p, data]) => ({ path: p, data }));
}
