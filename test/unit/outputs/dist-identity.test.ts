import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { refreshRecordedIdentity } from '../../../pipeline/outputs/dist-identity.ts';
import { writeDist } from '../../../pipeline/outputs/dist-writer.ts';
import { sha256 } from '../../../pipeline/util/hash.ts';
import { artifacts, manifestFor, signingFiles, tempDist } from './temp-dist.ts';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const stale = [
  'RELEASE_NOTES.md',
  'RELEASE_NOTES.md.sig',
  'SHA256SUMS.sig',
  'SHA256SUMS.sigstore.json',
  'manifest.json.sig',
  'manifest.json.sigstore.json',
  'provenance.intoto.jsonl',
];

async function inodes(dir: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const f of await readdir(dir)) out.set(f, (await stat(join(dir, f))).ino);
  return out;
}

test('a refresh rewrites manifest.json and SHA256SUMS only, hard-links the rest and drops stale signing outputs', async () => {
  const t = await tempDist(A, { signed: true });
  try {
    await chmod(join(t.dist, 'manifest.json'), 0o640);
    const before = await inodes(t.dist);
    const oldManifest = JSON.parse(await readFile(join(t.dist, 'manifest.json'), 'utf8'));
    const r = await refreshRecordedIdentity(t.dist, { commit: B, dirty: true });

    assert.equal(Object.keys(r.rewritten).sort(), ['SHA256SUMS', 'manifest.json']);
    assert.equal([...r.removed].sort(), stale);
    assert.match(r.message, /sign dist\/ again/);
    const after = await inodes(t.dist);
    assert.equal([...after.keys()].sort(), [...before.keys()].filter((f) => !stale.includes(f)).sort());
    for (const [f, ino] of after) {
      if (f === 'manifest.json' || f === 'SHA256SUMS') assert.is.not(ino, before.get(f), `${f} is new`);
      else assert.is(ino, before.get(f), `${f} is the same inode`);
    }
    const manifest = JSON.parse(await readFile(join(t.dist, 'manifest.json'), 'utf8'));
    assert.equal(manifest, { ...oldManifest, commit: B, dirty: true });
    assert.is((await stat(join(t.dist, 'manifest.json'))).mode & 0o777, 0o640);
    for (const [f, digest] of Object.entries(r.rewritten)) assert.is(sha256(await readFile(join(t.dist, f))), digest);
    execFileSync('sha256sum', ['--strict', '-c', 'SHA256SUMS'], { cwd: t.dist, stdio: 'ignore' });
    assert.equal(await readdir(t.root), ['dist'], 'no temp dir left');
  } finally {
    await t.remove();
  }
});

test('the refreshed manifest.json and SHA256SUMS are byte for byte what a rebuild at the new commit writes', async () => {
  const t = await tempDist(A);
  const other = await mkdtemp(join(tmpdir(), 'osforge-dist-'));
  try {
    await refreshRecordedIdentity(t.dist, { commit: B, dirty: false });
    await writeDist(join(other, 'dist'), artifacts, await manifestFor(B));
    for (const f of ['manifest.json', 'SHA256SUMS']) {
      assert.is(await readFile(join(t.dist, f), 'utf8'), await readFile(join(other, 'dist', f), 'utf8'), f);
    }
  } finally {
    await t.remove();
    await rm(other, { recursive: true, force: true });
  }
});

test('the same identity is a no-op that touches nothing', async () => {
  const t = await tempDist(A, { signed: true });
  try {
    const before = await inodes(t.dist);
    const r = await refreshRecordedIdentity(t.dist, { commit: A, dirty: false });
    assert.equal(r.rewritten, {});
    assert.equal(r.removed, []);
    assert.equal(await inodes(t.dist), before);
  } finally {
    await t.remove();
  }
});

test('a failure before the swap leaves the old dist/ whole and no temp dir', async () => {
  const t = await tempDist(A, { signed: true });
  try {
    const before = await inodes(t.dist);
    const manifest = await readFile(join(t.dist, 'manifest.json'), 'utf8');
    let staged = '';
    await refreshRecordedIdentity(
      t.dist,
      { commit: B, dirty: false },
      {
        beforeSwap: async (tmp) => {
          staged = tmp;
          throw new Error('injected: power cut');
        },
      },
    ).then(
      () => assert.unreachable('should fail'),
      (err: Error) => assert.match(err.message, /injected/),
    );
    assert.equal(await inodes(t.dist), before);
    assert.is(await readFile(join(t.dist, 'manifest.json'), 'utf8'), manifest);
    for (const f of signingFiles) assert.ok(existsSync(join(t.dist, f)), `${f} kept`);
    assert.ok(staged && !existsSync(staged));
    assert.equal(await readdir(t.root), ['dist']);
  } finally {
    await t.remove();
  }
});

test('refuses a manifest.json or SHA256SUMS it did not write as they are, and changes nothing', async () => {
  const t = await tempDist(A);
  try {
    const m = join(t.dist, 'manifest.json');
    const text = await readFile(m, 'utf8');
    await writeFile(m, JSON.stringify(JSON.parse(text)));
    await refreshRecordedIdentity(t.dist, { commit: B, dirty: false }).then(
      () => assert.unreachable('should refuse'),
      (err: Error) => assert.match(err.message, /not in the form osforge writes/),
    );
    await writeFile(m, text);
    await writeFile(join(t.dist, 'SHA256SUMS'), '');
    await refreshRecordedIdentity(t.dist, { commit: B, dirty: false }).then(
      () => assert.unreachable('should refuse'),
      (err: Error) => assert.match(err.message, /SHA256SUMS does not list manifest.json/),
    );
    assert.is(JSON.parse(await readFile(m, 'utf8')).commit, A);
  } finally {
    await t.remove();
  }
});

test.run();
