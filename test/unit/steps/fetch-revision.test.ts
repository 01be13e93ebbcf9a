// fetchSources' Debian fallback with a scripted engine: when the pinned
// Debian revision has left the archive, the suite's current revision is asked
// for, and its file is kept only if it matches the pin.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunResult, RunSpec } from '../../../pipeline/engine/engine.ts';
import { fetchSources } from '../../../pipeline/steps/fetch.ts';
import { openStepLog } from '../../../pipeline/steps/step-log.ts';
import { packEntries } from '../../../pipeline/util/tar.ts';
import { sha256 } from '../../../pipeline/util/hash.ts';
import type { SourceSpec } from '../../../pipeline/plan/types.ts';
import { FakeEngine } from '../graph/fake-engine.ts';

const tarball = Buffer.from('an upstream tarball\n');
const spec: SourceSpec = {
  name: 'grub',
  version: '2.12',
  file: 'grub2_2.12.orig.tar.xz',
  sha256: sha256(tarball),
  urls: [],
  debian: { package: 'grub2', version: '2.12-9+deb13u2', file: 'grub2_2.12.orig.tar.xz', suite: 'trixie' },
};

/** An archive that serves `served` for the request `grub2/trixie` only; it records every request. */
class Archive extends FakeEngine {
  readonly requests: string[][] = [];
  constructor(private readonly served: Buffer) {
    super();
  }
  override async run(spec: RunSpec): Promise<RunResult> {
    const wanted = spec.cmd.slice(4);
    this.requests.push(wanted);
    const files = wanted.includes('grub2/trixie') ? [{ path: 'out/grub2_2.12.orig.tar.xz', type: 'file' as const, mode: 0o644, data: this.served }] : [];
    return { exitCode: 0, log: [], outputs: new Map([['/out', await packEntries([{ path: 'out', type: 'directory', mode: 0o755 }, ...files], 0)]]) };
  }
}

async function fetchWith(engine: Archive) {
  const dir = mkdtempSync(join(tmpdir(), 'osforge-fetch-'));
  try {
    return await fetchSources({
      engine,
      baseRef: 'base',
      specs: [spec],
      cacheRoot: join(dir, 'cache'),
      runId: 'r',
      log: openStepLog(join(dir, 'logs'), 'fetch'),
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("a dropped Debian revision falls back to the suite's current one, verified against the same pin", async () => {
  const engine = new Archive(tarball);
  const got = await fetchWith(engine);
  assert.equal(engine.requests, [['grub2=2.12-9+deb13u2'], ['grub2/trixie']]);
  assert.is(got.get('grub')!.sha256, spec.sha256);
  assert.match(got.get('grub')!.from, /grub2\/trixie/);
});

test("the fallback's file must still match the pin", async () => {
  const engine = new Archive(Buffer.from('a different tarball\n'));
  try {
    await fetchWith(engine);
    assert.unreachable('accepted a file that does not match its pin');
  } catch (err) {
    assert.match((err as Error).message, /could not fetch grub2_2\.12\.orig\.tar\.xz/);
    assert.match((err as Error).message, /sha256 mismatch|expected/i);
  }
});

test.run();
