// Buck2 is optional: a local file (BUCK2_BINARY or tools-cache/buck2) or the
// pinned release URL, always checked against the pinned sha256. Without
// either the builder image is built without it and the manifest says null.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { captureHost } from '../host/run.ts';
import { OsforgeError } from '../errors.ts';
import { sha256 } from '../util/hash.ts';
import type { Buck2Spec } from '../plan/types.ts';
import { settings } from '../settings.ts';

export interface Buck2 {
  version: string;
  sha256: string;
  binary: Buffer;
  from: string;
}

export async function provisionBuck2(spec: Buck2Spec, toolsCacheRoot: string, log: (l: string) => void, env = process.env): Promise<Buck2 | null> {
  const { binary, sha256: pinned } = settings(env).buck2;
  const expected = pinned || spec.sha256;
  const local = binary ? [binary] : [join(toolsCacheRoot, 'buck2')];
  if (binary && !existsSync(binary)) {
    throw new OsforgeError('BUCK2', `BUCK2_BINARY=${binary} does not exist`, { hint: 'point BUCK2_BINARY at a buck2 executable, or unset it' });
  }
  for (const file of local) {
    if (!existsSync(file)) continue;
    const data = await readFile(file);
    return verified(data, expected, file, spec);
  }
  if (expected && spec.url) {
    try {
      const res = await fetch(spec.url, { signal: AbortSignal.timeout(15_000) });
      if (res.ok) {
        let data: Buffer = Buffer.from(await res.arrayBuffer());
        if (spec.url.endsWith('.zst')) data = await unzstd(data, spec.url);
        return verified(data, expected, spec.url, spec);
      }
      log(`buck2: ${spec.url} answered HTTP ${res.status}`);
    } catch (err) {
      if (err instanceof OsforgeError) throw err;
      log(`buck2: ${spec.url} is not reachable`);
    }
  }
  log(
    `buck2: not provisioned (no BUCK2_BINARY, no ${join(toolsCacheRoot, 'buck2')}${expected ? ', release URL unreachable' : ', no pinned sha256'}); building without it`,
  );
  return null;
}

function verified(data: Buffer, expected: string | null | undefined, from: string, spec: Buck2Spec): Buck2 {
  const actual = sha256(data);
  if (!expected) {
    throw new OsforgeError('BUCK2', `buck2 at ${from} cannot be verified: no pinned sha256`, {
      hint: `set BUCK2_SHA256=${actual} if you trust this file, or pin "buck2.sha256" in images/buckos.json`,
    });
  }
  if (actual !== expected) {
    throw new OsforgeError('SHA256_MISMATCH', `buck2 sha256 mismatch\n  expected: ${expected}\n  actual:   ${actual}\n  file:     ${from}`, {
      hint: 'use the pinned buck2 release, or update the pin deliberately',
    });
  }
  return { version: spec.version, sha256: actual, binary: data, from };
}

async function unzstd(data: Buffer, from: string): Promise<Buffer> {
  const r = await captureHost('zstd', ['-d', '-c'], { input: data });
  if (r.code !== 0)
    throw new OsforgeError('BUCK2', `cannot decompress ${from}: zstd ${r.error ? 'is not installed' : 'failed'}`, { hint: 'apt-get install -y zstd' });
  return r.stdout;
}
