// The mirror side of TUF (pure): what a publish, a rotation and a timestamp
// refresh sign, checked with @tufjs/models' own verification, and the
// refusals of a key the root does not name.
import { generateKeyPairSync } from 'node:crypto';
import { Metadata, MetadataKind, type Root, type Snapshot, type Targets, type Timestamp } from '@tufjs/models';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { tufKey } from '../../../../pipeline/binpkg/tuf/keys.ts';
import { publishMetadata, readMirrorMetadata, refreshTimestamp, type MirrorMetadata, type PublishOutput } from '../../../../pipeline/binpkg/tuf/repository.ts';
import { OsforgeError } from '../../../../pipeline/errors.ts';

const test = suite('binpkg/tuf/repository');
const a = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const b = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const now = new Date('2026-12-01T00:00:00Z');
const T1 = new Map([['index.json', { length: 10, sha256: '1'.repeat(64) }]]);
const T2 = new Map([...T1, ['h/hello-1.0-aaaaaaaa-bin.tar.gz', { length: 5, sha256: '2'.repeat(64) }]]);
const WEEK = 7 * 86_400_000;

function files(out: PublishOutput): Map<string, string> {
  return new Map(out.files);
}
const parse = <T extends Root | Targets | Snapshot | Timestamp>(kind: MetadataKind, text: string) =>
  (Metadata.fromJSON as (k: MetadataKind, d: unknown) => Metadata<T>)(kind, JSON.parse(text));

async function state(out: Map<string, string>): Promise<MirrorMetadata> {
  return (await readMirrorMetadata(async (n) => out.get(n) ?? null, 'test'))!.metadata;
}

test('a first publish signs root v1 and targets/snapshot/timestamp v1, which verify; timestamp.json comes last', () => {
  const out = publishMetadata({ existing: null, targets: T1, signKey: a.privateKey, timestampExpiryMs: WEEK, now });
  assert.equal(
    out.files.map(([n]) => n),
    ['1.root.json', 'root.json', '1.targets.json', '1.snapshot.json', 'timestamp.json'],
  );
  const f = files(out);
  const root = parse<Root>(MetadataKind.Root, f.get('root.json')!);
  root.verifyDelegate('root', root);
  for (const [role, name] of [
    ['targets', '1.targets.json'],
    ['snapshot', '1.snapshot.json'],
    ['timestamp', 'timestamp.json'],
  ] as const) {
    root.verifyDelegate(role, parse(role as MetadataKind, f.get(name)!));
  }
  assert.is(parse<Timestamp>(MetadataKind.Timestamp, f.get('timestamp.json')!).signed.expires, '2026-12-08T00:00:00Z');
  assert.ok(root.signed.consistentSnapshot);
  assert.equal(Object.keys(root.signed.keys), [tufKey(a.publicKey).keyID]);
  // Deterministic: the same input signs the same bytes.
  assert.equal(publishMetadata({ existing: null, targets: T1, signKey: a.privateKey, timestampExpiryMs: WEEK, now }).files, out.files);
});

test('the same targets again write nothing; other targets raise every version but root', async () => {
  const first = files(publishMetadata({ existing: null, targets: T1, signKey: a.privateKey, timestampExpiryMs: WEEK, now }));
  const s1 = await state(first);
  assert.equal(publishMetadata({ existing: s1, targets: T1, signKey: a.privateKey, timestampExpiryMs: WEEK, now }).files, []);
  const second = publishMetadata({ existing: s1, targets: T2, signKey: a.privateKey, timestampExpiryMs: WEEK, now });
  assert.equal(
    second.files.map(([n]) => n),
    ['2.targets.json', '2.snapshot.json', 'timestamp.json'],
  );
  assert.equal(second.versions, { root: 1, targets: 2, snapshot: 2, timestamp: 2 });
  // Unchanged targets close to expiry are re-signed rather than left to expire.
  const late = new Date(now.getTime() + 340 * 86_400_000);
  assert.is(publishMetadata({ existing: s1, targets: T1, signKey: a.privateKey, timestampExpiryMs: WEEK, now: late }).versions.targets, 2);
});

test('a key the root does not name is refused before anything is signed', async () => {
  const s1 = await state(files(publishMetadata({ existing: null, targets: T1, signKey: a.privateKey, timestampExpiryMs: WEEK, now })));
  let err: unknown;
  try {
    publishMetadata({ existing: s1, targets: T2, signKey: b.privateKey, timestampExpiryMs: WEEK, now });
  } catch (e) {
    err = e;
  }
  assert.instance(err, OsforgeError);
  assert.match((err as Error).message, /--sign-key \(TUF keyid [0-9a-f]{16}\) is not a targets key of the mirror's root\.json version 1/);
});

test('rotation: root v2 names the new key and is signed by the old and the new one', async () => {
  const s1 = await state(files(publishMetadata({ existing: null, targets: T1, signKey: a.privateKey, timestampExpiryMs: WEEK, now })));
  const out = publishMetadata({ existing: s1, targets: T1, signKey: a.privateKey, newRootKey: b.privateKey, timestampExpiryMs: WEEK, now });
  const f = files(out);
  assert.equal(
    out.files.map(([n]) => n),
    ['2.root.json', 'root.json', '2.targets.json', '2.snapshot.json', 'timestamp.json'],
  );
  const v2 = parse<Root>(MetadataKind.Root, f.get('2.root.json')!);
  s1.root.verifyDelegate('root', v2); // the old root accepts it (TUF 5.3.4)
  v2.verifyDelegate('root', v2);
  assert.equal(Object.keys(v2.signatures).sort(), [tufKey(a.publicKey).keyID, tufKey(b.publicKey).keyID].sort());
  v2.verifyDelegate('timestamp', parse(MetadataKind.Timestamp, f.get('timestamp.json')!));
  // A rotation signed by a key that is not the root key: refused.
  let err: unknown;
  try {
    publishMetadata({ existing: s1, targets: T1, signKey: b.privateKey, newRootKey: b.privateKey, timestampExpiryMs: WEEK, now });
  } catch (e) {
    err = e;
  }
  assert.match((err as Error).message, /is not a root key/);
});

test('--refresh-timestamp: only timestamp.json, next version, new expiry, same snapshot', async () => {
  const first = files(publishMetadata({ existing: null, targets: T1, signKey: a.privateKey, timestampExpiryMs: WEEK, now }));
  const read = (await readMirrorMetadata(async (n) => first.get(n) ?? null, 'test'))!;
  const later = new Date(now.getTime() + 86_400_000);
  const out = refreshTimestamp(read.metadata, read.snapshotText, { signKey: a.privateKey, timestampExpiryMs: 2 * 86_400_000, now: later });
  assert.equal(
    out.files.map(([n]) => n),
    ['timestamp.json'],
  );
  const ts = parse<Timestamp>(MetadataKind.Timestamp, out.files[0]![1]);
  assert.is(ts.signed.version, 2);
  assert.is(ts.signed.expires, '2026-12-04T00:00:00Z');
  ts.signed.snapshotMeta.verify(Buffer.from(read.snapshotText));
});

test.run();
