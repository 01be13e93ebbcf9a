import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { open, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { classifyDist, readStamp, refreshedStamp, restat, saveStamp, writeStamp, type DistIdentity } from '../../../pipeline/cache/dist-stamp.ts';
import { refreshRecordedIdentity } from '../../../pipeline/outputs/dist-identity.ts';
import { tempDist } from '../outputs/temp-dist.ts';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const want: DistIdentity = { key: 'k1', commit: A, dirty: false };

/** A dist/ at commit A and its stamp, as a run that just wrote them leaves them. */
async function stamped() {
  const t = await tempDist(A);
  const path = join(t.root, 'stamp.json');
  await writeStamp(path, want, t.dist);
  return { ...t, path, stamp: () => readStamp(path) };
}

test('classifyDist: current, identity-only, or stale with the reason', async () => {
  const t = await stamped();
  try {
    const s = t.stamp()!;
    assert.equal(await classifyDist(s, want, t.dist), { kind: 'current' });
    assert.equal(await classifyDist(s, { ...want, commit: B }, t.dist), { kind: 'identity-only' });
    assert.equal(await classifyDist(s, { ...want, dirty: true }, t.dist), { kind: 'identity-only' });
    assert.equal(await classifyDist(null, want, t.dist), { kind: 'stale', reason: 'no record of a previous dist/ here' });
    assert.equal(await classifyDist(s, { ...want, key: 'k2', commit: B }, t.dist), { kind: 'stale', reason: 'dist inputs changed' });
    await writeFile(join(t.dist, 'oss_source.tgz'), 'tampered');
    assert.equal(await classifyDist(s, { ...want, commit: B }, t.dist), { kind: 'stale', reason: 'oss_source.tgz changed since it was written' });
    await rm(join(t.dist, 'oss_source.tgz'));
    assert.equal(await classifyDist(s, want, t.dist), { kind: 'stale', reason: 'oss_source.tgz is missing' });
  } finally {
    await t.remove();
  }
});

test('a stamp in the older form (bare key, which included the commit) is never taken as current', async () => {
  const t = await stamped();
  try {
    await writeStamp(t.path, 'k1', t.dist);
    assert.equal(t.stamp()!.commit, undefined);
    assert.equal(await classifyDist(t.stamp(), want, t.dist), { kind: 'stale', reason: 'the record of dist/ predates commit-independent keys' });
  } finally {
    await t.remove();
  }
});

test('after a refresh and its stamp, dist/ is current for the new commit, and re-signing keeps it so', async () => {
  const t = await stamped();
  try {
    const next = { ...want, commit: B };
    const r = await refreshRecordedIdentity(t.dist, next);
    await saveStamp(t.path, refreshedStamp(t.stamp()!, next, r.rewritten));
    assert.equal(await classifyDist(t.stamp(), next, t.dist), { kind: 'current' });
    assert.equal(await classifyDist(t.stamp(), want, t.dist), { kind: 'identity-only' });
    // `osforge sign` adds files (and rewrites them on every run): never recorded, never a mismatch.
    await writeFile(join(t.dist, 'manifest.json.sig'), 'sig 1');
    await writeFile(join(t.dist, 'oss_source.tgz.sig'), 'sig 2');
    assert.equal(await classifyDist(t.stamp(), next, t.dist), { kind: 'current' });
  } finally {
    await t.remove();
  }
});

// The warm check trusts a file's recorded stat instead of re-hashing it; any write must still be caught.
test("every file's stat is recorded, and a write that restores size and mtime is still caught (ctime moved)", async () => {
  const t = await stamped();
  try {
    const f = join(t.dist, 'oss_source.tgz');
    // A whole-second mtime, so restoring it below is exact to the nanosecond: only ctime can tell the write.
    await utimes(f, 1_700_000_000, 1_700_000_000);
    await writeStamp(t.path, want, t.dist);
    const s = t.stamp()!;
    assert.equal(Object.keys(s.stats ?? {}).sort(), Object.keys(s.files).sort());
    const before = await stat(f, { bigint: true });
    const data = await readFile(f);
    data[0] = data[0]! ^ 0x01;
    const fd = await open(f, 'r+');
    await fd.write(data, 0, 1, 0);
    await fd.close();
    await utimes(f, 1_700_000_000, 1_700_000_000);
    const after = await stat(f, { bigint: true });
    assert.is(after.size, before.size);
    assert.is(after.mtimeNs, before.mtimeNs);
    assert.is(after.ino, before.ino);
    assert.equal(await classifyDist(s, want, t.dist), { kind: 'stale', reason: 'oss_source.tgz changed since it was written' });
  } finally {
    await t.remove();
  }
});

test('a stat that no longer matches falls back to the digest: same content is still current; restat records the new stats', async () => {
  const t = await stamped();
  try {
    const s = t.stamp()!;
    const f = join(t.dist, 'oss_source.tgz');
    await writeFile(f, await readFile(f));
    assert.not.equal(s.stats!['oss_source.tgz'], undefined);
    assert.equal(await classifyDist(s, want, t.dist), { kind: 'current' });
    const again = await restat(s, t.dist);
    assert.not.equal(again.stats!['oss_source.tgz'], s.stats!['oss_source.tgz']);
    assert.equal(await classifyDist(again, want, t.dist), { kind: 'current' });
    // A file whose content no longer has the recorded digest gets no stat, so it is hashed (and caught) next time.
    await writeFile(f, 'tampered');
    assert.is((await restat(s, t.dist)).stats!['oss_source.tgz'], undefined);
  } finally {
    await t.remove();
  }
});

test.run();
