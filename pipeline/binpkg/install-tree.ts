// Installs a checked archive into a prefix as one crash-safe transaction.
// The caller holds the database lock (db-lock.ts) and has run recover().
//   1. check every entry (archive-policy.ts), every collision with files
//      already in the prefix, and that every path it will write or remove
//      resolves inside the prefix (prefix-paths.ts); nothing is written yet;
//   2. extract into <prefix>/.osforge-staging-XXXXXX (same filesystem);
//   3. write the journal <prefix>/var/db/pkg/.journal naming every step
//      (directories to create, files to place, where each replaced file is
//      backed up), fsync'd, before the first move;
//   4. do the steps; renaming the new VDB entry into place is the commit;
//   5. drop backups, the previous VDB entry and files only the previous
//      version had, then the journal.
// A failure before the commit undoes the journal in reverse. After a kill -9
// at any point, the next install/uninstall finds the journal: not committed
// → rolled back, committed → completed; so the prefix is as it was or fully
// installed, never in between, and the staging dir is removed either way.
import { randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readlinkSync, renameSync, statSync } from 'node:fs';
import { fsyncParent, fsyncPath } from '../util/durable.ts';
import { chmod, copyFile, link, lstat, mkdir, mkdtemp, readFile, readdir, readlink, rename, rm, rmdir, symlink, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { OsforgeError, wrapError } from '../errors.ts';
import { sha256, sha256File } from '../util/hash.ts';
import { comparePaths, type TarEntry } from '../util/tar.ts';
import { checkArchive, installMode, type DiskNode } from './archive-policy.ts';
import { configProtectFrom, isProtected, nextPendingName } from './config-protect.ts';
import { DEFAULT_LIMITS, type Limits } from './limits.ts';
import { PrefixResolver, fsError, insidePath, within } from './prefix-paths.ts';
import { testHook } from './test-hooks.ts';
import { VDB_DIR, formatContents, parseContents, type ContentsLine, type InstalledRecord } from './vdb-format.ts';
import { listInstalled, vdbEntryName, type Installed } from './vdb.ts';

export { realPrefixOf } from './prefix-paths.ts';

export interface InstallTreeOptions {
  /** Real path of the prefix (realPrefixOf), locked by the caller. */
  prefix: string;
  entries: readonly TarEntry[];
  record: InstalledRecord;
  /** The installed package of the same name, replaced by this one. */
  previous?: Installed;
  /** Every other installed package (for collision checks). */
  others: readonly Installed[];
  /**
   * Streams the regular files into the staging tree (its directories exist)
   * and returns their sha256 and size; then `entries` need no file data.
   */
  extractFiles?: (tree: string, onFile: () => Promise<void>) => Promise<Map<string, { sha256: string; size: number }>>;
  /** Protected directories, prefix-relative (default: configProtectFrom(), i.e. $OSFORGE_CONFIG_PROTECT or etc). */
  configProtect?: readonly string[];
  /** Entry count and path depth caps (default DEFAULT_LIMITS); scanPackage applies them while reading too. */
  limits?: Pick<Limits, 'maxEntries' | 'maxPathDepth'>;
  log: (msg: string) => void;
}

export const JOURNAL_FILE = `${VDB_DIR}/.journal`;
export const STAGING_PREFIX = '.osforge-staging-';

type Step = { op: 'mkdir'; path: string; mode: number } | { op: 'place'; path: string; mode: number; backup?: string; tmp: string };

interface InstallJournal {
  v: 1;
  kind: 'install';
  pkg: string;
  sha256: string;
  /** Staging dir name (at the prefix root). */
  stage: string;
  steps: Step[];
  vdbFinal: string;
  previousDir?: string;
  previousAside?: string;
  /** Lines of the previous version that the new one does not have: removed after the commit. */
  removeAfter: ContentsLine[];
}

interface UninstallJournal {
  v: 1;
  kind: 'uninstall';
  pkg: string;
  vdbDir: string;
  contents: ContentsLine[];
}

type Journal = InstallJournal | UninstallJournal;

function diskNode(abs: string | null): DiskNode {
  if (abs === null) return { kind: 'missing' };
  try {
    const st = lstatSync(abs);
    if (st.isSymbolicLink()) return { kind: 'symlink', target: readlinkSync(abs) };
    if (st.isDirectory()) return { kind: 'dir' };
    if (st.isFile()) return { kind: 'file' };
    return { kind: 'other' };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' };
    throw fsError(err, `checking ${abs}`);
  }
}

function lexists(p: string): boolean {
  return diskNode(p).kind !== 'missing';
}

// ---- the journal on disk ---------------------------------------------------

async function writeJournal(prefix: string, j: Journal): Promise<void> {
  const path = join(prefix, JOURNAL_FILE);
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, JSON.stringify(j) + '\n', { flag: 'wx' });
  fsyncPath(tmp);
  await rename(tmp, path);
  fsyncParent(path);
}

async function readJournal(prefix: string): Promise<Journal | null> {
  let text: string;
  try {
    text = await readFile(join(prefix, JOURNAL_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw fsError(err, `reading ${join(prefix, JOURNAL_FILE)}`);
  }
  try {
    const j = JSON.parse(text) as Journal;
    if (j.v !== 1 || (j.kind !== 'install' && j.kind !== 'uninstall')) throw new Error('unknown journal version');
    // Recovery renames and deletes what the journal names: every name must be a plain path of the kind it claims.
    const plain = (p: unknown) => typeof p === 'string' && p !== '' && !p.startsWith('/') && !p.split('/').some((c) => c === '..' || c === '.' || c === '');
    const record = (p: unknown) => plain(p) && /^var\/db\/pkg\/[^/]+$/.test(p as string);
    const ok =
      j.kind === 'uninstall'
        ? record(j.vdbDir) && j.contents.every((l) => plain(l.path))
        : new RegExp(`^${STAGING_PREFIX.replaceAll('.', '\\.')}[A-Za-z0-9]+$`).test(j.stage) &&
          record(j.vdbFinal) &&
          (j.previousDir === undefined || record(j.previousDir)) &&
          (j.previousAside === undefined || record(j.previousAside)) &&
          j.steps.every((st) => plain(st.path) && (st.op === 'mkdir' || ((st.backup === undefined || plain(st.backup)) && !st.tmp.includes('/')))) &&
          j.removeAfter.every((l) => plain(l.path));
    if (!ok) throw new Error('it names paths outside the prefix or the database');
    return j;
  } catch (err) {
    throw new OsforgeError('PREFIX_UNSAFE', `the install journal ${join(prefix, JOURNAL_FILE)} is corrupt (${(err as Error).message})`, {
      hint: 'an interrupted command cannot be undone automatically; inspect the prefix, then delete the journal',
    });
  }
}

async function isCommitted(prefix: string, j: InstallJournal): Promise<boolean> {
  try {
    const rec = JSON.parse(await readFile(join(prefix, j.vdbFinal, 'binpkg.json'), 'utf8')) as InstalledRecord;
    return rec.sha256 === j.sha256;
  } catch {
    return false;
  }
}

async function rollBack(prefix: string, j: InstallJournal, log: (m: string) => void): Promise<void> {
  const stage = join(prefix, j.stage);
  const problems: string[] = [];
  for (const s of [...j.steps].reverse()) {
    const dest = insidePath(prefix, s.path);
    if (dest === null) {
      problems.push(`/${s.path} now leads outside the prefix; left alone`);
      continue;
    }
    try {
      if (s.op === 'mkdir') {
        if (diskNode(dest).kind === 'dir' && (await readdir(dest)).length === 0) await rmdir(dest);
        continue;
      }
      await rm(join(dirname(dest), s.tmp), { force: true });
      const staged = join(stage, 'tree', s.path);
      const backup = s.backup ? insidePath(prefix, s.backup) : null;
      if (backup && lexists(backup)) await rename(backup, dest);
      else if (!s.backup && lexists(dest) && !lexists(staged)) await unlink(dest);
    } catch (err) {
      problems.push(`/${s.path}: ${(err as Error).message}`);
    }
  }
  if (j.previousAside && j.previousDir && lexists(join(prefix, j.previousAside))) await rename(join(prefix, j.previousAside), join(prefix, j.previousDir));
  if (problems.length) log(`warning: rolling back left traces: ${problems.join('; ')}`);
}

async function rollForward(prefix: string, j: InstallJournal, log: (m: string) => void): Promise<void> {
  for (const s of j.steps) {
    if (s.op !== 'place' || !s.backup) continue;
    const b = insidePath(prefix, s.backup);
    if (b) await rm(b, { force: true });
    await testHook('cleanup');
  }
  if (j.previousAside) await rm(join(prefix, j.previousAside), { recursive: true, force: true });
  if (j.removeAfter.length) {
    // The new version counts too: its files may go through a symlink the previous version owned.
    await removeContents(prefix, j.removeAfter, await listInstalled(prefix), log);
  }
}

async function sweepStaging(prefix: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(prefix);
  } catch {
    return;
  }
  // Only lock holders create staging dirs, so under the lock any left over belongs to a dead process.
  for (const n of names) if (n.startsWith(STAGING_PREFIX)) await rm(join(prefix, n), { recursive: true, force: true });
}

/**
 * Finishes what an interrupted (killed) command left: rolls an uncommitted
 * install back, completes a committed one or an uninstall, removes staging
 * dirs. Call with the lock held, before reading the database.
 */
export async function recover(prefix: string, log: (m: string) => void): Promise<void> {
  const j = await readJournal(prefix);
  if (j) {
    if (j.kind === 'uninstall') {
      log(`completing the interrupted uninstall of ${j.pkg} in ${prefix}`);
      await finishUninstall(prefix, j, log);
    } else if (await isCommitted(prefix, j)) {
      log(`completing the interrupted install of ${j.pkg} in ${prefix} (it had been committed)`);
      await rollForward(prefix, j, log);
    } else {
      log(`rolling back the interrupted install of ${j.pkg} in ${prefix}`);
      await rollBack(prefix, j, log);
    }
    if (j.kind === 'install') await rm(join(prefix, j.stage), { recursive: true, force: true });
    await unlink(join(prefix, JOURNAL_FILE));
  }
  await sweepStaging(prefix);
}

// ---- install ---------------------------------------------------------------

function collisions(o: InstallTreeOptions, paths: PrefixResolver, held: ReadonlyMap<string, ContentsLine>): void {
  const owner = new Map<string, string>();
  for (const i of o.others) for (const l of i.contents) if (l.kind !== 'dir') owner.set(l.path, `${i.record.name}-${i.record.version}`);
  const mine = new Set(o.previous?.contents.filter((l) => l.kind !== 'dir').map((l) => l.path) ?? []);
  const problems: string[] = [];
  for (const e of o.entries) {
    const abs = paths.path(e.path);
    const node = diskNode(abs);
    if (e.type === 'directory') {
      if (node.kind === 'file' || node.kind === 'other') problems.push(`/${e.path} is a file in the prefix but a directory in the package`);
      if (node.kind === 'symlink') {
        let isDir = false;
        try {
          isDir = statSync(abs!).isDirectory();
        } catch {
          /* dangling */
        }
        if (!isDir) problems.push(`/${e.path} is a symlink to a non-directory in the prefix but a directory in the package`);
      }
      continue;
    }
    if (owner.has(e.path)) problems.push(`/${e.path} belongs to ${owner.get(e.path)}`);
    else if (node.kind === 'missing') continue;
    else if (node.kind === 'dir') problems.push(`/${e.path} is a directory in the prefix but not in the package`);
    else if (mine.has(e.path)) continue;
    else if (e.type === 'symlink' && node.kind === 'symlink' && held.get(e.path)?.kind === 'sym' && node.target === e.linkname)
      continue; // adopts a held symlink
    else problems.push(`/${e.path} already exists and belongs to no installed package`);
  }
  if (problems.length) {
    throw new OsforgeError(
      'ARCHIVE_UNSAFE',
      `installing ${o.record.name}-${o.record.version} would overwrite files it does not own: ${problems.slice(0, 10).join('; ')}${problems.length > 10 ? `; and ${problems.length - 10} more` : ''}`,
      { hint: 'uninstall the package owning them (`osforge uninstall <pkg>`) or remove the files, then retry; nothing was installed' },
    );
  }
}

const rand = () => randomBytes(4).toString('hex');

/** Entry count and depth caps, again here for callers that did not read the archive with scanPackage. */
function assertCaps(entries: readonly TarEntry[], caps: Pick<Limits, 'maxEntries' | 'maxPathDepth'>, label: string): void {
  if (entries.length > caps.maxEntries) {
    throw new OsforgeError('LIMIT_EXCEEDED', `${label} has ${entries.length} entries, more than the ${caps.maxEntries} limit; refused`, {
      hint: 'raise --max-entries / $OSFORGE_MAX_ENTRIES if the package is genuine; nothing was installed',
    });
  }
  for (const e of entries) {
    let depth = 1;
    for (let i = e.path.indexOf('/'); i >= 0; i = e.path.indexOf('/', i + 1)) depth++;
    if (depth > caps.maxPathDepth) {
      throw new OsforgeError(
        'LIMIT_EXCEEDED',
        `refusing archive entry ${JSON.stringify(`${e.path.slice(0, 80)}...`)} of ${label}: it is more than ${caps.maxPathDepth} directories deep`,
        { hint: 'raise --max-path-depth / $OSFORGE_MAX_PATH_DEPTH if the package is genuine; nothing was installed' },
      );
    }
  }
}

/**
 * CONFIG_PROTECT (config-protect.ts): for each protected file the previous
 * version installed and the user has since edited, either keep the edit
 * (this version ships the same file: `keep`) or stage the new file as the
 * next free ._cfgNNNN_<name> (`redirect`, and a CONTENTS line for it).
 * The file's own CONTENTS line keeps what the package installed.
 */
async function protectConfig(
  o: InstallTreeOptions,
  paths: PrefixResolver,
  tree: string,
  contents: ContentsLine[],
): Promise<{ keep: Set<string>; redirect: Map<string, string> }> {
  const keep = new Set<string>();
  const redirect = new Map<string, string>();
  const protect = o.configProtect ?? configProtectFrom();
  if (!o.previous || protect.length === 0) return { keep, redirect };
  const before = new Map<string, ContentsLine>();
  for (const l of o.previous.contents) before.set(l.path, l);
  const prefixLabel = o.prefix;
  for (const line of [...contents]) {
    if (line.kind !== 'obj' || !isProtected(line.path, protect)) continue;
    const old = before.get(line.path);
    const abs = paths.path(line.path);
    if (old?.kind !== 'obj' || abs === null || diskNode(abs).kind !== 'file') continue;
    const onDisk = await sha256File(abs);
    if (onDisk === old.sha256 || onDisk === line.sha256) continue; // not edited, or already the new content
    if (line.sha256 === old.sha256) {
      keep.add(line.path);
      o.log(`config file /${line.path} was edited since install; kept (this version does not change it)`);
      continue;
    }
    const pending = nextPendingName(line.path, (rel) => before.has(rel) || redirect.has(rel) || lexists(paths.path(rel) ?? join(o.prefix, rel)));
    await rename(join(tree, line.path), join(tree, pending));
    redirect.set(line.path, pending);
    contents.push({ kind: 'obj', path: pending, sha256: line.sha256, size: line.size });
    o.log(
      `config file /${line.path} was edited since install; kept, the new version is /${pending} (merge with \`osforge config-update --prefix ${prefixLabel}\`)`,
    );
  }
  return { keep, redirect };
}

/** Moves a staged path into place; across filesystems, copies to `tmp` beside it and renames. */
async function place(staged: string, dest: string, tmp: string, mode: number): Promise<void> {
  try {
    renameSync(staged, dest); // synchronous: one per file, and a thread-pool round trip each dominated large packages
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
  }
  const st = await lstat(staged);
  if (st.isSymbolicLink()) await symlink(await readlink(staged), tmp);
  else {
    await copyFile(staged, tmp);
    await chmod(tmp, mode);
  }
  await rename(tmp, dest);
  await unlink(staged); // so a rollback sees the step as done
}

/**
 * Adds directory entries for parents the archive leaves implicit, so every
 * created directory is recorded. Walks up from each entry only until a
 * directory already seen: linear in the archive, not in depth^2 per entry.
 */
function withParents(entries: readonly TarEntry[]): TarEntry[] {
  const paths = new Set(entries.map((e) => e.path));
  const seen = new Set<string>();
  const out = [...entries];
  for (const e of entries) {
    for (let i = e.path.lastIndexOf('/'); i > 0; i = e.path.lastIndexOf('/', i - 1)) {
      const dir = e.path.slice(0, i);
      if (seen.has(dir)) break;
      seen.add(dir);
      if (!paths.has(dir)) {
        paths.add(dir);
        out.push({ path: dir, type: 'directory', mode: 0o755 });
      }
    }
  }
  return out;
}

export async function installTree(input: InstallTreeOptions): Promise<ContentsLine[]> {
  const o = { ...input, entries: withParents(input.entries) };
  const prefix = o.prefix;
  const label = `${o.record.name}-${o.record.version}`;
  assertCaps(input.entries, input.limits ?? DEFAULT_LIMITS, label);
  const paths = new PrefixResolver(prefix);
  checkArchive(o.entries, { prefix, disk: (rel) => diskNode(paths.path(rel) ?? join(prefix, rel)) });
  const db = join(prefix, VDB_DIR);
  for (const e of o.entries) {
    const dest = paths.mustBeInside(e.path, `install ${label} to`);
    if (within(dest, db))
      throw new OsforgeError('ARCHIVE_UNSAFE', `refusing archive entry ${JSON.stringify(e.path)}: it lands in the package database ${db}`, {
        hint: 'the package is malformed or hostile; nothing was installed',
      });
  }
  collisions(o, paths, await readHeld(prefix));
  const newPaths = new Set(o.entries.map((e) => e.path));
  const removeAfter = o.previous?.contents.filter((l) => !newPaths.has(l.path)) ?? [];
  for (const l of removeAfter) paths.mustBeInside(l.path, `remove (replacing ${o.previous!.record.name}-${o.previous!.record.version})`);

  const stage = await mkdtemp(join(prefix, STAGING_PREFIX)).catch((err) => {
    throw fsError(err, `creating a staging directory in ${prefix}`);
  });
  let journal: InstallJournal | null = null;
  let committed = false;
  try {
    // 2. extract into the staging dir.
    const sorted = [...o.entries].sort((a, b) => comparePaths(a.path, b.path));
    const tree = join(stage, 'tree');
    await mkdir(tree);
    const contents: ContentsLine[] = [];
    const dataOf = new Map<string, Buffer>();
    for (const e of sorted) {
      const p = join(tree, e.path);
      try {
        if (e.type === 'directory') {
          mkdirSync(p, { recursive: true });
          contents.push({ kind: 'dir', path: e.path });
        } else if (e.type === 'file') {
          if (o.extractFiles) continue; // streamed below
          const data = e.data ?? Buffer.alloc(0);
          await mkdir(dirname(p), { recursive: true });
          await writeFile(p, data, { flag: 'wx' });
          await chmod(p, installMode('file', e.mode));
          dataOf.set(e.path, data);
          contents.push({ kind: 'obj', path: e.path, sha256: sha256(data), size: data.length });
        } else if (e.type === 'symlink') {
          await mkdir(dirname(p), { recursive: true });
          await symlink(e.linkname!, p);
          contents.push({ kind: 'sym', path: e.path, target: e.linkname! });
        }
      } catch (err) {
        throw fsError(err, `unpacking /${e.path.length > 120 ? `${e.path.slice(0, 120)}...` : e.path} of ${label}`);
      }
      await testHook('stage');
    }
    const files = new Map<string, { sha256: string; size: number }>();
    for (const [path, data] of dataOf) files.set(path, { sha256: sha256(data), size: data.length });
    if (o.extractFiles) {
      try {
        for (const [path, f] of await o.extractFiles(tree, () => testHook('stage'))) {
          files.set(path, f);
          contents.push({ kind: 'obj', path, ...f });
        }
      } catch (err) {
        throw fsError(err, `unpacking ${label}`);
      }
    }
    for (const e of sorted) {
      if (e.type !== 'link') continue;
      await link(join(tree, e.linkname!), join(tree, e.path));
      contents.push({ kind: 'obj', path: e.path, ...files.get(e.linkname!)! });
    }
    const { keep, redirect } = await protectConfig(o, paths, tree, contents);
    contents.sort((a, b) => comparePaths(a.path, b.path));
    const vdbStaged = join(stage, 'vdb');
    await mkdir(vdbStaged);
    await writeFile(join(vdbStaged, 'CONTENTS'), formatContents(contents));
    await writeFile(join(vdbStaged, 'binpkg.json'), JSON.stringify(o.record, null, 2) + '\n');

    // 3. plan every step and journal it before anything in the prefix moves.
    const steps: Step[] = [];
    for (const e of sorted) {
      if (e.type === 'directory') {
        if (!lexists(paths.path(e.path)!)) steps.push({ op: 'mkdir', path: e.path, mode: installMode('directory', e.mode) });
        continue;
      }
      if (keep.has(e.path)) continue; // the user's edit stays; this version did not change the file
      const path = redirect.get(e.path) ?? e.path; // an edited config file: the new one goes beside it
      const dest = paths.path(path)!;
      const dir = dirname(path);
      const rel = (n: string) => (dir === '.' ? n : `${dir}/${n}`);
      steps.push({
        op: 'place',
        path,
        mode: installMode(e.type, e.mode),
        tmp: `.${basename(path)}.osforge-new-${rand()}`,
        backup: lexists(dest) ? rel(`.${basename(path)}.osforge-old-${rand()}`) : undefined,
      });
    }
    const vdbFinal = `${VDB_DIR}/${vdbEntryName(o.record.name, o.record.version)}`;
    journal = {
      v: 1,
      kind: 'install',
      pkg: label,
      sha256: o.record.sha256,
      stage: basename(stage),
      steps,
      vdbFinal,
      removeAfter,
      previousDir: o.previous ? `${VDB_DIR}/${basename(o.previous.dir)}` : undefined,
      previousAside: o.previous ? `${VDB_DIR}/.replaced-${rand()}` : undefined,
    };
    await writeJournal(prefix, journal);
    await testHook('journal');

    // 4. move into place; the VDB rename is the commit.
    try {
      for (const s of steps) {
        const dest = paths.mustBeInside(s.path, 'write');
        if (s.op === 'mkdir') {
          mkdirSync(dest, { mode: s.mode });
          chmodSync(dest, s.mode); // whatever the umask; keeps a sticky bit
        } else {
          if (s.backup) renameSync(dest, paths.mustBeInside(s.backup, 'write'));
          await place(join(tree, s.path), dest, join(dirname(dest), s.tmp), s.mode);
        }
        await testHook('move');
      }
      if (journal.previousDir) {
        await rename(join(prefix, journal.previousDir), join(prefix, journal.previousAside!));
        await testHook('vdb');
      }
      await rename(vdbStaged, join(prefix, vdbFinal));
      committed = true;
    } catch (err) {
      await rollBack(prefix, journal, o.log);
      throw wrapError(fsError(err, 'moving files into place'), `installing ${label} into ${prefix} (rolled back)`);
    }
    await testHook('commit');

    // 5. success: drop backups and whatever the previous version had that this one does not.
    // If this fails, the journal stays and the next command completes it.
    await rollForward(prefix, journal, o.log);
    await rm(join(prefix, JOURNAL_FILE), { force: true });
    return contents;
  } finally {
    if (!committed && journal) await rm(join(prefix, JOURNAL_FILE), { force: true });
    await rm(stage, { recursive: true, force: true });
  }
}

// ---- uninstall -------------------------------------------------------------

/**
 * Symlinks whose owner left while other packages' files still go through
 * them, kept in <prefix>/var/db/pkg/.held (CONTENTS format). Recorded by
 * path: a package reinstalling the same link adopts it.
 */
export const HELD_FILE = '.held';

async function readHeld(prefix: string): Promise<Map<string, ContentsLine>> {
  const path = join(prefix, VDB_DIR, HELD_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw fsError(err, `reading ${path}`);
  }
  return new Map(
    parseContents(text, path)
      .filter((l) => l.kind === 'sym')
      .map((l) => [l.path, l]),
  );
}

async function writeHeld(prefix: string, held: ReadonlyMap<string, ContentsLine>): Promise<void> {
  const path = join(prefix, VDB_DIR, HELD_FILE);
  if (held.size === 0) {
    await rm(path, { force: true });
    return;
  }
  const tmp = `${path}.${rand()}.tmp`;
  await writeFile(tmp, formatContents([...held.values()].sort((a, b) => comparePaths(a.path, b.path))), { flag: 'wx' });
  fsyncPath(tmp);
  await rename(tmp, path);
}

/** Every path that some package's recorded paths go through (each line's path and its ancestors) → that package. */
function pathsUsedBy(pkgs: readonly Installed[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const i of pkgs) {
    const who = `${i.record.name}-${i.record.version}`;
    for (const l of i.contents) {
      // The line itself counts only as a directory: a package's own symlink at that path is not a user of it.
      if (l.kind === 'dir' && !out.has(l.path)) out.set(l.path, who);
      for (let k = l.path.lastIndexOf('/'); k > 0; k = l.path.lastIndexOf('/', k - 1)) {
        const dir = l.path.slice(0, k);
        if (out.has(dir)) break;
        out.set(dir, who);
      }
    }
  }
  return out;
}

/** Removes held symlinks no package goes through any more (if unchanged), drops adopted ones, and saves the rest. */
async function releaseHeld(
  prefix: string,
  held: Map<string, ContentsLine>,
  through: ReadonlyMap<string, string>,
  others: readonly Installed[],
  paths: PrefixResolver,
  log: (m: string) => void,
): Promise<void> {
  if (held.size === 0 && !lexists(join(prefix, VDB_DIR, HELD_FILE))) return;
  const owned = new Set<string>();
  for (const i of others) for (const l of i.contents) if (l.kind === 'sym') owned.add(l.path);
  for (const [path, l] of [...held]) {
    if (through.has(path)) continue;
    held.delete(path);
    if (owned.has(path) || l.kind !== 'sym') continue; // adopted by a package that ships it again
    const abs = paths.path(path);
    const node = abs === null ? null : diskNode(abs);
    if (node?.kind !== 'symlink' || node.target !== l.target) continue;
    await unlink(abs!);
    paths.forget();
    log(`removed /${path} -> ${l.target}: no installed package goes through it any more`);
  }
  await writeHeld(prefix, held);
}

/**
 * Removes exactly the listed paths: files only if unchanged since install,
 * symlinks only if they still point where they did, directories only if
 * empty and not listed by another installed package. A path whose directory
 * leads outside the prefix is never touched (callers refuse those first).
 */
export async function removeContents(prefix: string, lines: readonly ContentsLine[], others: readonly Installed[], log: (m: string) => void): Promise<void> {
  const keepDirs = new Set<string>();
  for (const i of others) for (const l of i.contents) if (l.kind === 'dir') keepDirs.add(l.path);
  const through = pathsUsedBy(others);
  const held = await readHeld(prefix);
  const paths = new PrefixResolver(prefix);
  for (const l of lines) {
    if (l.kind === 'dir') continue;
    const abs = paths.path(l.path);
    if (abs === null) {
      log(`keeping /${l.path}: its directory leads outside the prefix`);
      continue;
    }
    if (within(abs, join(prefix, VDB_DIR))) {
      log(`keeping /${l.path}: it leads into the package database`);
      continue;
    }
    const node = diskNode(abs);
    if (l.kind === 'obj') {
      if (node.kind === 'missing') continue;
      if (node.kind !== 'file') {
        log(`keeping /${l.path}: no longer a regular file`);
        continue;
      }
      const now = sha256(await readFile(abs));
      if (now !== l.sha256) {
        log(`keeping /${l.path}: modified since install (sha256 ${now}, installed ${l.sha256})`);
        continue;
      }
      await unlink(abs);
    } else {
      if (node.kind === 'missing') continue;
      if (node.kind !== 'symlink' || node.target !== l.target) {
        log(`keeping /${l.path}: no longer the installed symlink`);
        continue;
      }
      const user = through.get(l.path);
      if (user !== undefined) {
        // Removing it would cut off another package's files (lib -> usr/lib): the database holds it instead.
        log(`keeping /${l.path} -> ${l.target}: ${user} has files through it; held in ${VDB_DIR}/${HELD_FILE} until the last such package is uninstalled`);
        held.set(l.path, l);
        continue;
      }
      await unlink(abs);
      paths.forget(); // paths through it resolve differently now
    }
    await testHook('uninstall');
  }
  await releaseHeld(prefix, held, through, others, paths, log);
  const dirs = lines
    .filter((l) => l.kind === 'dir')
    .map((l) => l.path)
    .sort((a, b) => comparePaths(b, a));
  for (const d of dirs) {
    if (keepDirs.has(d)) continue;
    const abs = paths.path(d);
    if (abs === null || diskNode(abs).kind !== 'dir') continue;
    if ((await readdir(abs)).length === 0) await rmdir(abs);
  }
}

async function finishUninstall(prefix: string, j: UninstallJournal, log: (m: string) => void): Promise<void> {
  const dir = join(prefix, j.vdbDir);
  const others = (await listInstalled(prefix)).filter((i) => i.dir !== dir);
  await removeContents(prefix, j.contents, others, log);
  await rm(dir, { recursive: true, force: true });
}

/**
 * Uninstalls one package (the caller holds the lock): refuses up front when
 * any recorded path leads outside the prefix, journals, removes its files
 * (see removeContents), then its VDB entry.
 */
export async function uninstallTree(prefix: string, pkg: Installed, others: readonly Installed[], log: (m: string) => void): Promise<void> {
  const label = `${pkg.record.name}-${pkg.record.version}`;
  const db = join(prefix, VDB_DIR);
  const paths = new PrefixResolver(prefix);
  const outside = pkg.contents
    .filter((l) => {
      const abs = paths.path(l.path);
      return abs === null || (l.kind !== 'dir' && within(abs, db));
    })
    .map((l) => `/${l.path}`);
  if (outside.length) {
    throw new OsforgeError(
      'PREFIX_UNSAFE',
      `refusing to uninstall ${label}: ${outside.length} recorded path(s) lead outside the prefix ${prefix} (or into its database) through a symlinked directory: ${outside.slice(0, 5).join(', ')}${outside.length > 5 ? ', ...' : ''}`,
      { hint: 'nothing was removed; replace the symlink with a directory inside the prefix (or remove those files by hand), then retry' },
    );
  }
  const vdbDir = `${VDB_DIR}/${basename(pkg.dir)}`;
  if (join(prefix, vdbDir) !== pkg.dir) throw new OsforgeError('PREFIX_UNSAFE', `the database entry ${pkg.dir} is not inside ${join(prefix, VDB_DIR)}`);
  await writeJournal(prefix, { v: 1, kind: 'uninstall', pkg: label, vdbDir, contents: pkg.contents });
  await testHook('journal');
  await removeContents(prefix, pkg.contents, others, log);
  await rm(pkg.dir, { recursive: true, force: true });
  await unlink(join(prefix, JOURNAL_FILE));
}
