// `osforge upload`: publishes packages to a mirror laid out by first letter,
// with index.json covering everything on the mirror. Packages go first, the
// index last and atomically (temp name + rename), so a client never sees an
// index entry whose files are not there yet. Publishing the same packages
// again changes nothing; a different file under an existing name is refused.
// Nothing is published uninspected: every package is verified against its
// .sha256 and unpacked (with the decompression cap) through the archive
// policy. With a signing key, index.json.sig is written beside the index and
// every package must carry its .sig and .sha256.sig, and the mirror becomes
// a TUF repository: root, targets, snapshot and timestamp metadata are
// signed beside index.json (tuf/repository.ts) and go up after it,
// timestamp.json last.
import { spawn } from 'node:child_process';
import type { KeyObject } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { wrapError } from '../errors.ts';
import { checkArchive } from './archive-policy.ts';
import { DEFAULT_LIMITS, type Limits } from './limits.ts';
import { signBlob } from './signature.ts';
import { scanPackage } from './unpack.ts';
import { OsforgeError } from '../errors.ts';
import { sha256 } from '../util/hash.ts';
import { writeFileAtomic } from '../util/write-atomic.ts';
import { parseChecksumFile } from './checksum-file.ts';
import { buildIndex, parseIndex, serializeIndex, type IndexEntry, type MirrorIndex } from './mirror-index.ts';
import { BIN_SUFFIX, binaryFilename, letterDir, mirrorPath } from './naming.ts';
import { DEFAULT_TIMESTAMP_EXPIRY_MS, publishMetadata, readMirrorMetadata, refreshTimestamp, type PublishOutput, type TargetDesc } from './tuf/repository.ts';
import { settings } from '../settings.ts';

export interface ScannedPackage {
  entry: IndexEntry;
  /** Absolute path of the .tar.gz. */
  path: string;
  hasSig: boolean;
  /** Whether <file>.sha256.sig (the signed metadata) is beside it. */
  hasMetaSig?: boolean;
}

export type Destination = { kind: 'local'; path: string } | { kind: 'remote'; host: string; path: string };

/** `user@host:/path` or `host:path` is remote (scp/rsync over ssh); anything else is a local directory. */
export function parseDestination(mirror: string): Destination {
  if (/^https?:\/\//i.test(mirror)) {
    throw new OsforgeError('USAGE', `cannot upload to ${mirror}: HTTP mirrors are read-only; give a directory or user@host:/path`);
  }
  if (/^file:\/\//i.test(mirror)) return { kind: 'local', path: resolve(new URL(mirror).pathname) };
  const m = /^((?:[A-Za-z0-9._-]+@)?[A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]):(.*)$/.exec(mirror);
  if (m && !mirror.startsWith('/') && !mirror.startsWith('.')) {
    const path = m[2] || '.';
    // Remote paths reach a remote shell (ssh, legacy scp); allow only characters that need no quoting.
    if (!/^[A-Za-z0-9._/~+-]+$/.test(path) || path.split('/').includes('..')) {
      throw new OsforgeError('USAGE', `remote mirror path ${JSON.stringify(path)} may contain only letters, digits and . _ / ~ + - (and no "..")`);
    }
    return { kind: 'remote', host: m[1]!, path: path.replace(/\/+$/, '') || '/' };
  }
  return { kind: 'local', path: resolve(mirror) };
}

/** Finds <file>-bin.tar.gz + .sha256 pairs in `dir` and its first-letter sub-directories, verifying each. */
export async function scanPackages(dir: string, opts: { inspect?: boolean; limits?: Limits } = {}): Promise<ScannedPackage[]> {
  const root = resolve(dir);
  let top;
  try {
    top = await readdir(root, { withFileTypes: true });
  } catch (err) {
    throw new OsforgeError('USAGE', `cannot read package directory ${root}: ${(err as Error).message}`, {}, { cause: err });
  }
  const dirs = [
    root,
    ...top
      .filter((d) => d.isDirectory() && d.name.length === 1)
      .map((d) => join(root, d.name))
      .sort(),
  ];
  const out: ScannedPackage[] = [];
  for (const d of dirs) {
    const names = new Set(await readdir(d));
    for (const f of [...names].sort()) {
      if (!f.endsWith(BIN_SUFFIX)) continue;
      const path = join(d, f);
      if (!names.has(`${f}.sha256`)) {
        throw new OsforgeError('CONFIG_INVALID', `${path} has no ${f}.sha256 beside it`, { hint: 'recreate it with `osforge package`' });
      }
      const c = parseChecksumFile(await readFile(`${path}.sha256`, 'utf8'), `${path}.sha256`);
      const expected = binaryFilename(c.name, c.version, c.configHash);
      if (c.filename !== f || expected !== f) {
        throw new OsforgeError('CONFIG_INVALID', `${path}.sha256 describes ${c.filename} (${expected} by its metadata), not ${f}`);
      }
      if (d !== root && letterDir(c.name) !== d.slice(root.length + 1)) {
        throw new OsforgeError('CONFIG_INVALID', `${path} is in the wrong letter directory; it belongs in ${mirrorPath(c.name, f)}`);
      }
      const data = await readFile(path);
      const actual = sha256(data);
      if (actual !== c.sha256) {
        throw new OsforgeError('SHA256_MISMATCH', `hash mismatch for ${path}: expected ${c.sha256} (from its .sha256), actual ${actual}`, {
          arch: c.arch,
          hint: 'the file is corrupt; recreate it with `osforge package`',
        });
      }
      if (c.contentHash !== actual.slice(0, 8)) {
        throw new OsforgeError('SHA256_MISMATCH', `content hash mismatch for ${path}: .sha256 says ${c.contentHash}, actual ${actual.slice(0, 8)}`, {
          arch: c.arch,
        });
      }
      if (out.some((o) => o.entry.filename === f)) {
        const other = out.find((o) => o.entry.filename === f)!;
        if (other.entry.sha256 !== actual) throw new OsforgeError('SHA256_MISMATCH', `${f} appears twice in ${root} with different contents`);
        continue;
      }
      if (opts.inspect) {
        // The same archive policy install applies, with "/" as the prefix: absolute links are fine, ".." above the root is not.
        try {
          checkArchive(await scanPackage(data, (opts.limits ?? DEFAULT_LIMITS).maxUnpackedBytes, path), { prefix: '/', disk: () => ({ kind: 'missing' }) });
        } catch (err) {
          throw wrapError(err, `refusing to publish ${path}`);
        }
      }
      out.push({
        path,
        hasSig: names.has(`${f}.sig`),
        hasMetaSig: names.has(`${f}.sha256.sig`),
        entry: {
          name: c.name,
          version: c.version,
          arch: c.arch,
          config_hash: c.configHash,
          file_hash: c.contentHash,
          filename: f,
          size: data.length,
          sha256: actual,
        },
      });
    }
  }
  return out;
}

async function sameBytes(a: string, b: string): Promise<boolean> {
  try {
    const [x, y] = await Promise.all([readFile(a), readFile(b)]);
    return x.equals(y);
  } catch {
    return false;
  }
}

/**
 * $OSFORGE_SSH_CONFIG: an ssh_config file for ssh, scp and rsync's ssh (port,
 * identity, known hosts of a mirror) without touching ~/.ssh/config.
 */
export function withSshConfig(cmd: string, args: readonly string[], config = settings().sshConfig): string[] {
  if (!config) return [...args];
  if (cmd === 'ssh' || cmd === 'scp') return ['-F', config, ...args];
  if (cmd === 'rsync') return ['-e', `ssh -F '${config.replace(/'/g, `'\\''`)}'`, ...args];
  return [...args];
}

function run(cmd: string, argv: readonly string[], capture = false): Promise<string> {
  const args = withSshConfig(cmd, argv);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { stdio: ['inherit', capture ? 'pipe' : 'inherit', 'inherit'] });
    const chunks: Buffer[] = [];
    child.stdout?.on('data', (c: Buffer) => chunks.push(c));
    child.on('error', (err) => {
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      reject(
        new OsforgeError(missing ? 'HOST_SETUP' : 'SOURCE_FETCH', `${cmd}: ${err.message}`, {
          hint: missing ? `install ${cmd} (apt-get install ${cmd === 'rsync' ? 'rsync' : 'openssh-client'})` : undefined,
        }),
      );
    });
    child.on('close', (code) => {
      if (code === 0) resolvePromise(Buffer.concat(chunks).toString('utf8'));
      else
        reject(
          new OsforgeError('SOURCE_FETCH', `${cmd} ${args.join(' ')} failed`, {
            exitCode: code ?? undefined,
            hint: 'test the connection with `ssh user@host`, try --dry-run, or try a local mirror directory first',
          }),
        );
    });
  });
}

/**
 * The commands that copy a staged tree to the destination, index.json last
 * (pure, so tests can check them). `letters` are the staged letter dirs.
 */
export function transferCommands(
  dest: Destination,
  stage: string,
  letters: readonly string[],
  useRsync: boolean,
  signedIndex = false,
  tufFiles: readonly string[] = [],
): string[][] {
  const target = dest.kind === 'remote' ? `${dest.host}:${dest.path}` : dest.path;
  const cmds: string[][] = [];
  if (dest.kind === 'remote') cmds.push(['ssh', '--', dest.host, `mkdir -p ${[dest.path, ...letters.map((l) => `${dest.path}/${l}`)].join(' ')}`]);
  if (useRsync) {
    // rsync writes each file under a temporary name and renames it, so index.json is replaced atomically.
    cmds.push([
      'rsync',
      '-rt',
      '--checksum',
      '--exclude=/index.json',
      '--exclude=/index.json.sig',
      ...tufFiles.map((f) => `--exclude=/${f}`),
      `${stage}/`,
      `${target}/`,
    ]);
    if (signedIndex) cmds.push(['rsync', '-t', '--checksum', `${stage}/index.json.sig`, `${target}/index.json.sig`]);
    cmds.push(['rsync', '-t', '--checksum', `${stage}/index.json`, `${target}/index.json`]);
    // TUF metadata after the files it describes, in order: root, targets, snapshot, timestamp.
    for (const f of tufFiles) cmds.push(['rsync', '-t', '--checksum', `${stage}/${f}`, `${target}/${f}`]);
  } else {
    if (dest.kind !== 'remote') throw new Error('local copies do not use scp');
    for (const l of letters) cmds.push(['scp', '-p', '-r', `${stage}/${l}`, `${target}/`]);
    if (signedIndex) {
      cmds.push(['scp', '-p', `${stage}/index.json.sig`, `${target}/index.json.sig.osforge-tmp`]);
      cmds.push(['ssh', '--', dest.host, `mv -f ${dest.path}/index.json.sig.osforge-tmp ${dest.path}/index.json.sig`]);
    }
    cmds.push(['scp', '-p', `${stage}/index.json`, `${target}/index.json.osforge-tmp`]);
    cmds.push(['ssh', '--', dest.host, `mv -f ${dest.path}/index.json.osforge-tmp ${dest.path}/index.json`]);
    for (const f of tufFiles) {
      cmds.push(['scp', '-p', `${stage}/${f}`, `${target}/${f}.osforge-tmp`]);
      cmds.push(['ssh', '--', dest.host, `mv -f ${dest.path}/${f}.osforge-tmp ${dest.path}/${f}`]);
    }
  }
  return cmds;
}

export interface UploadOptions {
  source: string;
  mirror?: string;
  useRsync: boolean;
  /** Where the per-run staging dir is made (mkdtemp); default: the system temp dir. */
  stagingDir?: string;
  generateIndexOnly: boolean;
  dryRun: boolean;
  /** Cosign private key: signs index.json (index.json.sig); packages must then be signed too. */
  signKey?: KeyObject;
  /** Rotate the TUF root to this key (signed by --sign-key and by it); later uploads sign with it. */
  newRootKey?: KeyObject;
  /** How long timestamp.json stays valid (default 7 days). */
  timestampExpiryMs?: number;
  /** Only re-sign timestamp.json with a new version and expiry (a cron job's `upload --refresh-timestamp`). */
  refreshTimestamp?: boolean;
  /** The signing time (tests); default now. */
  now?: Date;
  limits?: Limits;
  log: (msg: string) => void;
}

export interface UploadPlan {
  added: ScannedPackage[];
  unchanged: ScannedPackage[];
  index: MirrorIndex;
}

/** A small file of a remote mirror (index.json, its .sig), or null when it has none. */
async function remoteText(dest: Extract<Destination, { kind: 'remote' }>, file: string): Promise<string | null> {
  const marker = '__OSFORGE_NO_FILE__';
  const p = `${dest.path}/${file}`;
  const text = await run('ssh', ['--', dest.host, `if [ -f ${p} ]; then cat ${p}; else echo ${marker}; fi`], true);
  return text.trim() === marker ? null : text;
}

async function remoteIndex(dest: Extract<Destination, { kind: 'remote' }>): Promise<MirrorIndex | null> {
  const text = await remoteText(dest, 'index.json');
  return text === null ? null : parseIndex(text, `${dest.host}:${dest.path}/index.json`);
}

/** What is on the mirror now: a local mirror is scanned (its files are the truth), a remote one is read through its index. */
async function existingEntries(dest: Destination): Promise<IndexEntry[]> {
  if (dest.kind === 'local') {
    try {
      await stat(dest.path);
    } catch {
      return [];
    }
    return (await scanPackages(dest.path)).map((s) => s.entry);
  }
  return (await remoteIndex(dest))?.packages ?? [];
}

export function planUpload(existing: readonly IndexEntry[], scanned: readonly ScannedPackage[]): UploadPlan {
  const have = new Map(existing.map((e) => [e.filename, e]));
  const added: ScannedPackage[] = [];
  const unchanged: ScannedPackage[] = [];
  for (const s of scanned) {
    const old = have.get(s.entry.filename);
    if (!old) added.push(s);
    else if (old.sha256 === s.entry.sha256) unchanged.push(s);
    else {
      throw new OsforgeError(
        'SHA256_MISMATCH',
        `the mirror already has ${s.entry.filename} with different contents: mirror sha256 ${old.sha256}, new ${s.entry.sha256}`,
        {
          arch: s.entry.arch,
          hint: 'the same name, version and config hash must mean the same bytes; the build is not reproducible, or the mirror copy is stale; remove it from the mirror deliberately if you mean to replace it',
        },
      );
    }
  }
  return { added, unchanged, index: buildIndex([...existing, ...scanned.map((s) => s.entry)]) };
}

/** Reads a metadata file of the mirror, or null. */
function mirrorFileReader(dest: Destination): (name: string) => Promise<string | null> {
  if (dest.kind === 'remote') return (name) => remoteText(dest, name);
  return async (name) => {
    try {
      return await readFile(join(dest.path, name), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  };
}

/**
 * The TUF targets of a mirror: index.json, and every package with its
 * .sha256 (what install reads), each with its length and sha256. A .sha256
 * the upload does not carry is read from the mirror, or taken from the
 * previous targets.
 */
async function tufTargets(
  index: MirrorIndex,
  indexText: string,
  scanned: readonly ScannedPackage[],
  dest: Destination,
  old: Map<string, TargetDesc>,
): Promise<Map<string, TargetDesc>> {
  const out = new Map<string, TargetDesc>();
  const desc = (b: Buffer): TargetDesc => ({ length: b.length, sha256: sha256(b) });
  out.set('index.json', desc(Buffer.from(indexText)));
  const local = new Map(scanned.map((s) => [s.entry.filename, s.path]));
  const read = mirrorFileReader(dest);
  for (const e of index.packages) {
    const rel = mirrorPath(e.name, e.filename);
    out.set(rel, { length: e.size, sha256: e.sha256 });
    const src = local.get(e.filename);
    const sumRel = `${rel}.sha256`;
    const previous = old.get(sumRel);
    if (src) out.set(sumRel, desc(await readFile(`${src}.sha256`)));
    else if (previous) out.set(sumRel, previous);
    else {
      const text = await read(sumRel);
      if (text === null)
        throw new OsforgeError('CONFIG_INVALID', `the mirror's index lists ${e.filename} but ${sumRel} is missing`, {
          hint: 're-upload that package with its .sha256',
        });
      out.set(sumRel, desc(Buffer.from(text)));
    }
  }
  return out;
}

async function signTuf(o: UploadOptions, dest: Destination, index: MirrorIndex, indexText: string, scanned: readonly ScannedPackage[]): Promise<PublishOutput> {
  const where = dest.kind === 'remote' ? `${dest.host}:${dest.path}` : dest.path;
  const existing = await readMirrorMetadata(mirrorFileReader(dest), where);
  const old = new Map(
    Object.entries(existing?.metadata.targets.signed.targets ?? {}).map(([p, t]) => [p, { length: t.length, sha256: t.hashes.sha256 ?? '' }]),
  );
  return publishMetadata({
    existing: existing?.metadata ?? null,
    targets: await tufTargets(index, indexText, scanned, dest, old),
    signKey: o.signKey!,
    newRootKey: o.newRootKey,
    timestampExpiryMs: o.timestampExpiryMs ?? DEFAULT_TIMESTAMP_EXPIRY_MS,
    now: o.now ?? new Date(),
  });
}

function describeTuf(t: PublishOutput): string {
  const v = t.versions;
  return `TUF metadata: root v${v.root}, targets v${v.targets}, snapshot v${v.snapshot}, timestamp v${v.timestamp}`;
}

/** `upload --refresh-timestamp`: a new timestamp.json (version + 1, new expiry) over the same snapshot; nothing else changes. */
async function refreshMirrorTimestamp(o: UploadOptions): Promise<UploadPlan> {
  if (!o.signKey) throw new OsforgeError('USAGE', "--refresh-timestamp needs --sign-key (the mirror's timestamp key)");
  if (!o.mirror) throw new OsforgeError('USAGE', '--refresh-timestamp needs --mirror DEST');
  const dest = parseDestination(o.mirror);
  const where = dest.kind === 'remote' ? `${dest.host}:${dest.path}` : dest.path;
  const existing = await readMirrorMetadata(mirrorFileReader(dest), where);
  if (!existing)
    throw new OsforgeError('USAGE', `${where} has no TUF metadata (root.json) to refresh`, {
      hint: 'publish it first with `osforge upload --source DIR --mirror DEST --sign-key KEY`',
    });
  const out = refreshTimestamp(existing.metadata, existing.snapshotText, {
    signKey: o.signKey,
    timestampExpiryMs: o.timestampExpiryMs ?? DEFAULT_TIMESTAMP_EXPIRY_MS,
    now: o.now ?? new Date(),
  });
  const text = out.files[0]![1];
  const expires = (JSON.parse(text) as { signed: { expires: string } }).signed.expires;
  if (o.dryRun) {
    o.log(`dry run: would write ${where}/timestamp.json version ${out.versions.timestamp}, expiring ${expires}; nothing was written`);
  } else if (dest.kind === 'local') {
    await writeFileAtomic(join(dest.path, 'timestamp.json'), text);
  } else {
    if (o.stagingDir) await mkdir(o.stagingDir, { recursive: true });
    const stage = await mkdtemp(join(o.stagingDir ?? tmpdir(), 'osforge-upload-'));
    try {
      await writeFile(join(stage, 'timestamp.json'), text);
      const target = `${dest.host}:${dest.path}`;
      const cmds = o.useRsync
        ? [['rsync', '-t', '--checksum', `${stage}/timestamp.json`, `${target}/timestamp.json`]]
        : [
            ['scp', '-p', `${stage}/timestamp.json`, `${target}/timestamp.json.osforge-tmp`],
            ['ssh', '--', dest.host, `mv -f ${dest.path}/timestamp.json.osforge-tmp ${dest.path}/timestamp.json`],
          ];
      for (const cmd of cmds) {
        o.log(`$ ${cmd.join(' ')}`);
        await run(cmd[0]!, cmd.slice(1));
      }
    } finally {
      await rm(stage, { recursive: true, force: true });
    }
  }
  if (!o.dryRun) o.log(`refreshed ${where}/timestamp.json: version ${out.versions.timestamp}, expires ${expires}`);
  return { added: [], unchanged: [], index: { total: 0, packages: [], by_name: {} } };
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

export async function upload(o: UploadOptions): Promise<UploadPlan> {
  if (o.newRootKey && !o.signKey) throw new OsforgeError('USAGE', '--new-root-key needs --sign-key (the current root key signs the new root)');
  if (o.refreshTimestamp) return refreshMirrorTimestamp(o);
  const scanned = await scanPackages(o.source, { inspect: true, limits: o.limits });
  if (o.signKey) {
    const unsigned = scanned.filter((s) => !s.hasSig || !s.hasMetaSig).map((s) => s.entry.filename);
    if (unsigned.length) {
      throw new OsforgeError(
        'USAGE',
        `--sign-key signs the index, but ${unsigned.length} package(s) are not signed: ${unsigned.slice(0, 5).join(', ')}${unsigned.length > 5 ? ', ...' : ''}`,
        { hint: 'sign them with `osforge package --sign-key <key>` (writes <file>.sig and <file>.sha256.sig), or upload without --sign-key' },
      );
    }
  }
  if (scanned.length === 0) {
    // Also keeps --generate-index-only from dropping an empty index.json into whatever directory was named by mistake.
    throw new OsforgeError('USAGE', `no *${BIN_SUFFIX} packages in ${resolve(o.source)}`, { hint: 'check --source; create packages with `osforge package`' });
  }
  if (o.generateIndexOnly) {
    const index = buildIndex(scanned.map((s) => s.entry));
    const path = join(resolve(o.source), 'index.json');
    if (o.dryRun) o.log(`would write ${path}${o.signKey ? ' and index.json.sig' : ''} (${index.total} packages)`);
    else {
      const text = serializeIndex(index);
      if (o.signKey) await writeFileAtomic(`${path}.sig`, signBlob(Buffer.from(text), o.signKey));
      else await rm(`${path}.sig`, { force: true }); // a stale signature would make every key-holding client refuse the new index
      await writeFileAtomic(path, text);
      const tuf = o.signKey ? await signTuf(o, { kind: 'local', path: resolve(o.source) }, index, text, scanned) : undefined;
      for (const [name, t] of tuf?.files ?? []) await writeFileAtomic(join(resolve(o.source), name), t);
      o.log(`wrote ${path}${o.signKey ? ` and index.json.sig; ${describeTuf(tuf!)}` : ''} (${index.total} packages)`);
    }
    return { added: [], unchanged: scanned, index };
  }
  if (!o.mirror) throw new OsforgeError('USAGE', '--mirror is required unless --generate-index-only is given');
  const dest = parseDestination(o.mirror);
  if (!o.signKey && dest.kind === 'local' && ((await isFile(join(dest.path, 'index.json.sig'))) || (await isFile(join(dest.path, 'root.json'))))) {
    throw new OsforgeError(
      'USAGE',
      `the mirror ${dest.path} has a signed index (index.json.sig); uploading without --sign-key would leave a signature that no longer matches`,
      { hint: "pass --sign-key with the mirror's cosign private key" },
    );
  }
  const plan = planUpload(await existingEntries(dest), scanned);
  const where = dest.kind === 'remote' ? `${dest.host}:${dest.path}` : dest.path;
  for (const s of plan.added)
    o.log(`${o.dryRun ? 'would upload' : 'upload'} ${mirrorPath(s.entry.name, s.entry.filename)} (${s.entry.arch}, ${s.entry.size} bytes)`);
  for (const s of plan.unchanged) o.log(`unchanged ${mirrorPath(s.entry.name, s.entry.filename)}`);
  if (o.dryRun) {
    o.log(
      `dry run: would write ${where}/index.json (${plan.index.total} packages)${o.signKey ? ' and sign its TUF metadata' : ''} via ${o.useRsync ? 'rsync' : dest.kind === 'remote' ? 'scp' : 'local copy'}; nothing was written`,
    );
    return plan;
  }

  // Stage the files that go up (packages new to the mirror, plus the .sha256/.sig of unchanged ones) and the index.
  // A fresh private directory per run (mkdtemp, mode 0700), never a fixed shared /tmp path.
  if (o.stagingDir) await mkdir(o.stagingDir, { recursive: true });
  const stage = await mkdtemp(join(o.stagingDir ?? tmpdir(), 'osforge-upload-'));
  try {
    const letters = new Set<string>();
    for (const s of [...plan.added, ...plan.unchanged]) {
      const l = letterDir(s.entry.name);
      letters.add(l);
      await mkdir(join(stage, l), { recursive: true });
      const to = join(stage, l, s.entry.filename);
      if (plan.added.includes(s)) await copyFile(s.path, to);
      await copyFile(`${s.path}.sha256`, `${to}.sha256`);
      if (s.hasSig) await copyFile(`${s.path}.sig`, `${to}.sig`);
      if (s.hasMetaSig) await copyFile(`${s.path}.sha256.sig`, `${to}.sha256.sig`);
    }
    const indexText = serializeIndex(plan.index);
    await writeFile(join(stage, 'index.json'), indexText);
    const indexSig = o.signKey ? signBlob(Buffer.from(indexText), o.signKey) : undefined;
    if (indexSig) await writeFile(join(stage, 'index.json.sig'), indexSig);
    const tuf = o.signKey ? await signTuf(o, dest, plan.index, indexText, scanned) : undefined;
    for (const [name, text] of tuf?.files ?? []) await writeFile(join(stage, name), text);
    const tufNames = (tuf?.files ?? []).map(([name]) => name);
    // A remote mirror that has every package and this very index (and signature and TUF metadata) is current: copy nothing, rewrite nothing.
    if (
      dest.kind === 'remote' &&
      plan.added.length === 0 &&
      tufNames.length === 0 &&
      (await remoteText(dest, 'index.json')) === indexText &&
      (!indexSig || (await remoteText(dest, 'index.json.sig')) === indexSig.toString())
    ) {
      o.log(`${where} is up to date (${plan.index.total} packages); nothing uploaded`);
      return plan;
    }
    const sortedLetters = [...letters].sort();

    if (dest.kind === 'local' && !o.useRsync) {
      for (const l of sortedLetters) {
        await mkdir(join(dest.path, l), { recursive: true });
        // Package files before their .sha256 and .sig, so a .sha256 never names a missing file.
        const files = (await readdir(join(stage, l))).sort((a, b) => a.length - b.length || (a < b ? -1 : 1));
        for (const f of files) {
          const to = join(dest.path, l, f);
          if (await sameBytes(join(stage, l, f), to)) continue;
          await writeFileAtomic(to, await readFile(join(stage, l, f)));
        }
      }
      const indexPath = join(dest.path, 'index.json');
      if (o.signKey && !(await sameBytes(join(stage, 'index.json.sig'), `${indexPath}.sig`)))
        await writeFileAtomic(`${indexPath}.sig`, await readFile(join(stage, 'index.json.sig')));
      if (!(await sameBytes(join(stage, 'index.json'), indexPath))) await writeFileAtomic(indexPath, indexText);
      for (const [name, text] of tuf?.files ?? []) await writeFileAtomic(join(dest.path, name), text);
    } else {
      if (dest.kind === 'local') await mkdir(dest.path, { recursive: true });
      for (const cmd of transferCommands(dest, stage, sortedLetters, o.useRsync, Boolean(o.signKey), tufNames)) {
        o.log(`$ ${cmd.join(' ')}`);
        await run(cmd[0]!, cmd.slice(1));
      }
    }
    o.log(
      `published ${plan.added.length} new, ${plan.unchanged.length} unchanged; ${where}/index.json lists ${plan.index.total} packages` +
        (tuf ? `; ${describeTuf(tuf)}${tufNames.length ? '' : ' (unchanged)'}` : ''),
    );
    return plan;
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}
