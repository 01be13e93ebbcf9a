// The install side of TUF: tuf-js's Updater runs the client workflow (root
// rotation, timestamp, snapshot, targets: signatures, thresholds, versions
// never going back, expiry, lengths and hashes) against a trusted root, and
// answers which targets exist with what length and sha256.
//
// Trust comes from, in order: the metadata this prefix already trusts
// (<state dir>/root.json, kept from earlier updates), --root FILE (or
// [buckos] binary_mirror_root), the mirror's root.json when it is signed by
// the --key given, or the mirror's root.json taken on first use
// (--trust-on-first-use, and only while nothing is trusted yet).
//
// tuf-js writes the metadata it accepts into its metadata directory as it
// goes; that is a private temp copy here. The state directory is updated
// (each file atomically, root first) only by commit(), after the caller has
// verified what it downloaded: a refused update leaves it as it was.
import { createHash, type KeyObject } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata, MetadataKind, type Root } from '@tufjs/models';
import { Updater } from 'tuf-js';
import { OsforgeError } from '../../errors.ts';
import { printable } from '../../util/printable.ts';
import { readRegularFile } from '../../util/regular-file.ts';
import { writeFileAtomic } from '../../util/write-atomic.ts';
import type { MirrorReader } from '../mirror-source.ts';
import { describeTufError } from './errors.ts';
import { METADATA_BASE, MirrorFetcher, readMetadata } from './fetcher.ts';
import { tufKey } from './keys.ts';
import type { TargetDesc } from './repository.ts';

/** tuf-js's default per-role caps, stated here so they are ours to see and keep. */
export const TUF_MAX_LENGTHS = { rootMaxLength: 512_000, timestampMaxLength: 16_384, snapshotMaxLength: 2_000_000, targetsMaxLength: 64_000_000 } as const;
export const DEFAULT_METADATA_DEADLINE_MS = 60_000;
const STATE_FILES = ['root.json', 'timestamp.json', 'snapshot.json', 'targets.json'] as const;

export type TrustAnchor = { kind: 'root-file'; path: string } | { kind: 'key'; key: KeyObject; path: string } | { kind: 'first-use' };

export interface TufSession {
  /** The reader rooted where the metadata (and index.json) are. */
  root: MirrorReader;
  versions: { root: number; timestamp: number; snapshot: number; targets: number };
  timestampExpires: string;
  /** Length and sha256 of a target, or null when the signed targets do not list it. */
  target(path: string): Promise<TargetDesc | null>;
  /** Keeps the metadata just verified as this prefix's trusted state. */
  commit(): Promise<void>;
  dispose(): Promise<void>;
}

/** <db>/.tuf/<id>: one state directory per mirror URL. */
export function mirrorStateId(url: string): string {
  return createHash('sha256').update(url).digest('hex').slice(0, 16);
}

async function readIfFile(path: string, max: number): Promise<Buffer | null> {
  try {
    return await readRegularFile(path, `trusted TUF metadata ${path}`, max);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    if (err instanceof OsforgeError && /ENOENT|no such file/.test(err.message)) return null;
    throw err;
  }
}

/** --root FILE (or binary_mirror_root): a regular file, capped, and a self-signed root. */
async function readPinnedRoot(path: string): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(path, `the pinned TUF root ${path}`, TUF_MAX_LENGTHS.rootMaxLength);
  } catch (err) {
    if (err instanceof OsforgeError) throw err;
    throw new OsforgeError(
      'CONFIG_INVALID',
      `cannot read the pinned TUF root ${path} (--root or binary_mirror_root): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      { hint: "point --root (or [buckos] binary_mirror_root) at the root.json the mirror's owner published" },
      { cause: err },
    );
  }
  rootOf(bytes, path);
  return bytes;
}

function rootOf(bytes: Buffer, where: string): Metadata<Root> {
  try {
    const md = Metadata.fromJSON(MetadataKind.Root, JSON.parse(bytes.toString('utf8')));
    md.verifyDelegate(MetadataKind.Root, md);
    return md;
  } catch (err) {
    throw new OsforgeError('SIGNATURE_INVALID', `${where} is not a valid, self-signed TUF root: ${printable((err as Error).message)}`, {
      hint: "pass the root.json the mirror's owner published (osforge upload writes it beside index.json)",
    });
  }
}

/** Where the mirror's TUF metadata is (beside index.json, at the top or under binaries/), or null when it has none. */
async function locate(mirror: MirrorReader, deadlineMs: number): Promise<MirrorReader | null> {
  for (const r of [mirror, mirror.sub('binaries')]) {
    if (await readMetadata(r, 'timestamp.json', TUF_MAX_LENGTHS.timestampMaxLength, deadlineMs)) return r;
  }
  return null;
}

/**
 * Opens a TUF session, or returns null when the mirror has no TUF metadata
 * and neither a trusted state nor a pinned root asks for it (an unsigned
 * mirror, or one signed the older way with index.json.sig only). A TUF
 * mirror with nothing to trust it by is refused.
 */
export async function openTufMirror(o: {
  mirror: MirrorReader;
  stateDir: string;
  anchor?: TrustAnchor;
  log: (m: string) => void;
  deadlineMs?: number;
}): Promise<TufSession | null> {
  const stored = await readIfFile(join(o.stateDir, 'root.json'), TUF_MAX_LENGTHS.rootMaxLength);
  const deadlineMs = o.deadlineMs ?? DEFAULT_METADATA_DEADLINE_MS;
  const meta = await locate(o.mirror, deadlineMs);
  if (!meta) {
    if (stored) {
      throw new OsforgeError(
        'SIGNATURE_INVALID',
        `${o.mirror.display} serves no TUF metadata (timestamp.json), but this prefix already trusts its TUF root (${o.stateDir})`,
        {
          hint: 'the mirror or a proxy strips its metadata; use the real mirror, or remove that directory deliberately if the mirror really stopped using TUF',
        },
      );
    }
    if (o.anchor && o.anchor.kind !== 'key') {
      throw new OsforgeError(
        'SIGNATURE_INVALID',
        `${o.mirror.display} serves no TUF metadata (timestamp.json), but a TUF root was ${o.anchor.kind === 'root-file' ? `pinned (${o.anchor.path})` : 'asked for (--trust-on-first-use)'}`,
        { hint: 'publish the mirror with `osforge upload --sign-key`, or check --mirror-url' },
      );
    }
    return null;
  }
  let trusted: Buffer;
  let how: string;
  if (stored) {
    trusted = stored;
    how = `trusted state ${o.stateDir}`;
    if (o.anchor?.kind === 'root-file') {
      // A pinned root newer than the stored one is the user's deliberate choice (e.g. a root reissued out of band).
      const pinned = await readPinnedRoot(o.anchor.path);
      if (rootOf(pinned, o.anchor.path).signed.version > rootOf(stored, `${o.stateDir}/root.json`).signed.version) {
        trusted = pinned;
        how = `pinned root ${o.anchor.path}`;
      }
    }
  } else if (o.anchor?.kind === 'root-file') {
    trusted = await readPinnedRoot(o.anchor.path);
    how = `pinned root ${o.anchor.path}`;
  } else if (o.anchor) {
    const text = await readMetadata(meta, 'root.json', TUF_MAX_LENGTHS.rootMaxLength, deadlineMs);
    if (!text)
      throw new OsforgeError('SIGNATURE_INVALID', `${meta.display} has timestamp.json but no root.json`, {
        hint: "the mirror's TUF metadata is incomplete; re-publish it",
      });
    const root = rootOf(text, `${meta.display}/root.json`);
    if (o.anchor.kind === 'key') {
      const key = tufKey(o.anchor.key);
      const id = key.keyID;
      // Checked with our own copy of the key: a keyid in the served root could map to another key.
      let signedByKey = Boolean(root.signed.roles.root?.keyIDs.includes(id));
      try {
        key.verifySignature(root);
      } catch {
        signedByKey = false;
      }
      if (!signedByKey) {
        throw new OsforgeError(
          'SIGNATURE_INVALID',
          `root: ${meta.display}/root.json (version ${root.signed.version}) is not signed by the key ${o.anchor.path} (TUF keyid ${id.slice(0, 16)})`,
          { hint: "pass the mirror's current root key with --key, or pin its root.json with --root" },
        );
      }
      how = `the mirror's root.json version ${root.signed.version}, signed by ${o.anchor.path}`;
    } else {
      how = `the mirror's root.json version ${root.signed.version}, trusted on first use (root keys ${root.signed.roles.root?.keyIDs.map((k) => k.slice(0, 16)).join(', ')})`;
    }
    trusted = text;
  } else {
    throw new OsforgeError('USAGE', `${meta.display} is a TUF repository, but no root is trusted for it yet`, {
      hint: 'pin its root with --root root.json (or binary_mirror_root in [buckos] of .buckconfig), give its root key with --key cosign.pub, or accept the root it serves with --trust-on-first-use',
    });
  }

  const work = await mkdtemp(join(tmpdir(), 'osforge-tuf-'));
  let done = false;
  try {
    await writeFile(join(work, 'root.json'), trusted);
    if (stored) {
      for (const f of STATE_FILES.slice(1)) {
        try {
          await copyFile(join(o.stateDir, f), join(work, f));
        } catch {
          /* not yet trusted */
        }
      }
    }
    const fetcher = new MirrorFetcher(meta, deadlineMs);
    let updater: Updater;
    try {
      updater = new Updater({ metadataDir: work, metadataBaseUrl: METADATA_BASE, fetcher, config: { ...TUF_MAX_LENGTHS, prefixTargetsWithHash: false } });
      await updater.refresh();
    } catch (err) {
      const over = fetcher.lastError?.code === 'LIMIT_EXCEEDED' && /^\d+\.(snapshot|targets)\.json$/.exec(fetcher.lastErrorName ?? '');
      if (over) {
        // Its length was stated by the role above it: a longer file is not the one that role signed.
        throw new OsforgeError(
          'SIGNATURE_INVALID',
          `mix-and-match: ${meta.display}/${fetcher.lastErrorName} is longer than the ${over[1] === 'snapshot' ? 'timestamp' : 'snapshot'} metadata states, so it is not the file that was signed; nothing was installed`,
          { hint: "the mirror's metadata files do not belong together (an upload in progress, or tampering); retry in a minute, or re-publish the mirror" },
          { cause: fetcher.lastError },
        );
      }
      if (fetcher.lastError) throw fetcher.lastError;
      throw describeTufError(err, { mirror: meta.display, work, seen: fetcher.seen, stateDir: o.stateDir });
    }
    const json = async (f: string) => JSON.parse(await readFile(join(work, f), 'utf8')) as { signed: { version: number; expires: string } };
    const [r, ts, sn, tg] = await Promise.all(STATE_FILES.map(json));
    o.log(
      `TUF: ${meta.display}: root v${r!.signed.version} (from ${how}), timestamp v${ts!.signed.version} (expires ${ts!.signed.expires}), snapshot v${sn!.signed.version}, targets v${tg!.signed.version}: signatures, versions and expiry ok`,
    );
    done = true;
    return {
      root: meta,
      versions: { root: r!.signed.version, timestamp: ts!.signed.version, snapshot: sn!.signed.version, targets: tg!.signed.version },
      timestampExpires: ts!.signed.expires,
      async target(path) {
        const info = await updater.getTargetInfo(path);
        const sha = info?.hashes.sha256;
        return info && sha ? { length: info.length, sha256: sha } : null;
      },
      async commit() {
        for (const f of STATE_FILES) await writeFileAtomic(join(o.stateDir, f), await readFile(join(work, f)));
        await writeFileAtomic(join(o.stateDir, 'mirror'), `${o.mirror.display}\n`);
      },
      dispose: () => rm(work, { recursive: true, force: true }),
    };
  } finally {
    if (!done) await rm(work, { recursive: true, force: true });
  }
}
