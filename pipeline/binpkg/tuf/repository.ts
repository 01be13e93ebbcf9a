// The mirror side of TUF (pure: metadata in, metadata out). A publish signs
// four roles with @tufjs/models: root (the keys), targets (index.json, every
// package and its .sha256, each with length and sha256), snapshot (the
// targets version) and timestamp (the snapshot version, short-lived).
// Consistent snapshots: targets and snapshot are written as N.targets.json
// and N.snapshot.json and only timestamp.json is replaced in place, last, so
// a client reading mid-upload sees the old set or the new one, never a mix.
// Every change raises the versions; the same targets again change nothing
// (an idempotent upload leaves the mirror untouched) unless targets or
// snapshot are about to expire.
import type { KeyObject } from 'node:crypto';
import { Metadata, MetadataKind, MetaFile, Root, Snapshot, TargetFile, Targets, Timestamp } from '@tufjs/models';
import { OsforgeError } from '../../errors.ts';
import { sha256 } from '../../util/hash.ts';
import { tufKey, tufSigner } from './keys.ts';

export const SPEC_VERSION = '1.0.31';
const DAY = 24 * 3600 * 1000;
/** Root, targets and snapshot live a year; timestamp a week unless set (upload --timestamp-expiry). */
export const LONG_EXPIRY_MS = 365 * DAY;
export const DEFAULT_TIMESTAMP_EXPIRY_MS = 7 * DAY;
/** A publish re-signs unchanged targets and snapshot when they expire within this. */
const RENEW_BEFORE_MS = 30 * DAY;

export interface TargetDesc {
  length: number;
  sha256: string;
}

export interface MirrorMetadata {
  root: Metadata<Root>;
  timestamp: Metadata<Timestamp>;
  snapshot: Metadata<Snapshot>;
  targets: Metadata<Targets>;
}

export interface PublishInput {
  existing: MirrorMetadata | null;
  targets: ReadonlyMap<string, TargetDesc>;
  signKey: KeyObject;
  /** Rotate: a new root (version + 1) naming this key for every role, signed by the old root key and this one. */
  newRootKey?: KeyObject;
  timestampExpiryMs: number;
  now: Date;
}

export interface PublishOutput {
  /** File name → text, in the order they must be written (timestamp.json last). Empty when nothing changed. */
  files: [string, string][];
  versions: { root: number; targets: number; snapshot: number; timestamp: number };
}

const ROLES = [MetadataKind.Root, MetadataKind.Targets, MetadataKind.Snapshot, MetadataKind.Timestamp] as const;

function iso(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function serializeMetadata(md: Metadata<Root | Targets | Snapshot | Timestamp>): string {
  return `${JSON.stringify(md.toJSON(), null, 2)}\n`;
}

function metaFileOf(text: string, version: number): MetaFile {
  return new MetaFile({ version, length: Buffer.byteLength(text), hashes: { sha256: sha256(text) } });
}

/** Refuses a signing key that the root does not name for `role`, before anything is written. */
function assertKeyFor(root: Root, role: string, key: KeyObject, flag: string): void {
  const id = tufKey(key).keyID;
  const allowed = root.roles[role]?.keyIDs ?? [];
  if (!allowed.includes(id)) {
    throw new OsforgeError(
      'USAGE',
      `${flag} (TUF keyid ${id.slice(0, 16)}) is not a ${role} key of the mirror's root.json version ${root.version} (keys: ${allowed.map((k) => k.slice(0, 16)).join(', ') || 'none'})`,
      {
        hint:
          role === 'root'
            ? "sign with the key the mirror's root.json names"
            : "pass the key the mirror's root.json names, or rotate with --new-root-key (signed by the current root key)",
      },
    );
  }
}

function sameTargets(old: Targets, want: ReadonlyMap<string, TargetDesc>): boolean {
  const have = Object.keys(old.targets);
  if (have.length !== want.size) return false;
  for (const [path, d] of want) {
    const t = old.targets[path];
    if (!t || t.length !== d.length || t.hashes.sha256 !== d.sha256) return false;
  }
  return true;
}

function newRoot(version: number, key: KeyObject, now: Date): Root {
  const root = new Root({ version, specVersion: SPEC_VERSION, expires: iso(new Date(now.getTime() + LONG_EXPIRY_MS)), consistentSnapshot: true });
  for (const role of ROLES) root.addKey(tufKey(key), role);
  return root;
}

/** The metadata a publish writes: a first root, or the next versions of targets, snapshot and timestamp. */
export function publishMetadata(i: PublishInput): PublishOutput {
  const files: [string, string][] = [];
  const old = i.existing;
  let root: Metadata<Root>;
  let rotated = false;
  if (!old) {
    root = new Metadata(newRoot(1, i.newRootKey ?? i.signKey, i.now));
    root.sign(tufSigner(i.newRootKey ?? i.signKey));
    rotated = true;
  } else if (i.newRootKey) {
    assertKeyFor(old.root.signed, 'root', i.signKey, '--sign-key');
    root = new Metadata(newRoot(old.root.signed.version + 1, i.newRootKey, i.now));
    // TUF §6.1: the new root is signed by a threshold of the old root keys and of its own.
    root.sign(tufSigner(i.signKey));
    root.sign(tufSigner(i.newRootKey));
    rotated = true;
  } else {
    root = old.root;
  }
  const roleKey = i.newRootKey ?? i.signKey;
  if (!rotated) for (const role of ['targets', 'snapshot', 'timestamp']) assertKeyFor(root.signed, role, roleKey, '--sign-key');

  const soon = i.now.getTime() + RENEW_BEFORE_MS;
  const renew = old && (new Date(old.targets.signed.expires).getTime() < soon || new Date(old.snapshot.signed.expires).getTime() < soon);
  if (old && !rotated && !renew && sameTargets(old.targets.signed, i.targets)) {
    return { files: [], versions: versionsOf(old) };
  }
  const longExpiry = iso(new Date(i.now.getTime() + LONG_EXPIRY_MS));
  const targets = new Metadata(new Targets({ version: (old?.targets.signed.version ?? 0) + 1, specVersion: SPEC_VERSION, expires: longExpiry }));
  for (const [path, d] of [...i.targets].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    targets.signed.addTarget(new TargetFile({ path, length: d.length, hashes: { sha256: d.sha256 } }));
  }
  targets.sign(tufSigner(roleKey));
  const targetsText = serializeMetadata(targets);
  const snapshot = new Metadata(
    new Snapshot({
      version: (old?.snapshot.signed.version ?? 0) + 1,
      specVersion: SPEC_VERSION,
      expires: longExpiry,
      meta: { 'targets.json': metaFileOf(targetsText, targets.signed.version) },
    }),
  );
  snapshot.sign(tufSigner(roleKey));
  const snapshotText = serializeMetadata(snapshot);
  const timestamp = timestampFor(snapshotText, snapshot.signed.version, (old?.timestamp.signed.version ?? 0) + 1, roleKey, i);

  if (rotated) {
    const rootText = serializeMetadata(root);
    files.push([`${root.signed.version}.root.json`, rootText], ['root.json', rootText]);
  }
  files.push(
    [`${targets.signed.version}.targets.json`, targetsText],
    [`${snapshot.signed.version}.snapshot.json`, snapshotText],
    ['timestamp.json', serializeMetadata(timestamp)],
  );
  return {
    files,
    versions: { root: root.signed.version, targets: targets.signed.version, snapshot: snapshot.signed.version, timestamp: timestamp.signed.version },
  };
}

function timestampFor(
  snapshotText: string,
  snapshotVersion: number,
  version: number,
  key: KeyObject,
  i: { timestampExpiryMs: number; now: Date },
): Metadata<Timestamp> {
  const ts = new Metadata(
    new Timestamp({
      version,
      specVersion: SPEC_VERSION,
      expires: iso(new Date(i.now.getTime() + i.timestampExpiryMs)),
      snapshotMeta: metaFileOf(snapshotText, snapshotVersion),
    }),
  );
  ts.sign(tufSigner(key));
  return ts;
}

/** `upload --refresh-timestamp`: the same snapshot under a new timestamp version with a new expiry. */
export function refreshTimestamp(
  existing: MirrorMetadata,
  snapshotText: string,
  i: { signKey: KeyObject; timestampExpiryMs: number; now: Date },
): PublishOutput {
  assertKeyFor(existing.root.signed, 'timestamp', i.signKey, '--sign-key');
  const ts = timestampFor(snapshotText, existing.snapshot.signed.version, existing.timestamp.signed.version + 1, i.signKey, i);
  return { files: [['timestamp.json', serializeMetadata(ts)]], versions: { ...versionsOf(existing), timestamp: ts.signed.version } };
}

function versionsOf(m: MirrorMetadata): PublishOutput['versions'] {
  return { root: m.root.signed.version, targets: m.targets.signed.version, snapshot: m.snapshot.signed.version, timestamp: m.timestamp.signed.version };
}

/**
 * Reads a mirror's current metadata through `get` (a file of the mirror's
 * metadata directory, or null): root.json, timestamp.json and the snapshot
 * and targets versions it names. Null when the mirror has no root.json yet.
 */
export async function readMirrorMetadata(
  get: (name: string) => Promise<string | null>,
  where: string,
): Promise<{ metadata: MirrorMetadata; snapshotText: string } | null> {
  const rootText = await get('root.json');
  if (rootText === null) return null;
  const parse = <T extends Root | Targets | Snapshot | Timestamp>(kind: MetadataKind, name: string, text: string | null): Metadata<T> => {
    if (text === null) {
      throw new OsforgeError('CONFIG_INVALID', `the mirror ${where} has root.json but no ${name}`, {
        hint: "the mirror's TUF metadata is incomplete; restore it from a backup, or publish to a fresh mirror",
      });
    }
    try {
      return (Metadata.fromJSON as (k: MetadataKind, d: unknown) => Metadata<T>)(kind, JSON.parse(text));
    } catch (err) {
      throw new OsforgeError('CONFIG_INVALID', `the mirror's ${where}/${name} is not valid TUF ${kind} metadata: ${(err as Error).message}`, {
        hint: 'restore it from a backup, or publish to a fresh mirror',
      });
    }
  };
  const root = parse<Root>(MetadataKind.Root, 'root.json', rootText);
  const timestamp = parse<Timestamp>(MetadataKind.Timestamp, 'timestamp.json', await get('timestamp.json'));
  const snapName = `${timestamp.signed.snapshotMeta.version}.snapshot.json`;
  const snapshotText = await get(snapName);
  const snapshot = parse<Snapshot>(MetadataKind.Snapshot, snapName, snapshotText);
  const tv = snapshot.signed.meta['targets.json']?.version;
  if (tv === undefined) throw new OsforgeError('CONFIG_INVALID', `the mirror's ${where}/${snapName} names no targets.json`);
  const targets = parse<Targets>(MetadataKind.Targets, `${tv}.targets.json`, await get(`${tv}.targets.json`));
  return { metadata: { root, timestamp, snapshot, targets }, snapshotText: snapshotText! };
}
