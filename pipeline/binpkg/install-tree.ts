// Installs a checked archive into a prefix as one transaction:
//   1. check every entry (archive-policy.ts) and every collision with files
//      already in the prefix; nothing has been written yet;
//   2. extract into <prefix>/.osforge-staging-XXXXXX (same filesystem);
//   3. rename each path into place, backing up what it replaces and keeping
//      a journal; the VDB entry is renamed in last;
//   4. on any error, undo the journal in reverse, so the prefix is left as it
//      was; the staging dir is always removed.
import { randomBytes } from 'node:crypto';
import { lstatSync, readlinkSync, statSync } from 'node:fs';
import { chmod, copyFile, link, lstat, mkdir, mkdtemp, readFile, readdir, readlink, realpath, rename, rm, rmdir, symlink, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { OsforgeError, wrapError } from '../errors.ts';
import { sha256 } from '../util/hash.ts';
import { comparePaths, type TarEntry } from '../util/tar.ts';
import { checkArchive, type DiskNode } from './archive-policy.ts';
import { VDB_DIR, formatContents, type ContentsLine, type InstalledRecord } from './vdb-format.ts';
import { vdbEntryName, type Installed } from './vdb.ts';

export interface InstallTreeOptions {
  prefix: string;
  entries: readonly TarEntry[];
  record: InstalledRecord;
  /** The installed package of the same name, replaced by this one. */
  previous?: Installed;
  /** Every other installed package (for collision checks). */
  others: readonly Installed[];
  log: (msg: string) => void;
}

function diskNode(abs: string): DiskNode {
  try {
    const st = lstatSync(abs);
    if (st.isSymbolicLink()) return { kind: 'symlink', target: readlinkSync(abs) };
    if (st.isDirectory()) return { kind: 'dir' };
    if (st.isFile()) return { kind: 'file' };
    return { kind: 'other' };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' };
    throw err;
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch {
    return false;
  }
}

/** Realpath of a prefix that may not exist yet (the nearest existing ancestor is resolved). */
async function realPrefixOf(prefix: string): Promise<string> {
  let p = resolve(prefix);
  const tail: string[] = [];
  for (;;) {
    try {
      return join(await realpath(p), ...tail);
    } catch {
      const parent = dirname(p);
      if (parent === p) throw new OsforgeError('USAGE', `cannot resolve prefix ${prefix}`);
      tail.unshift(basename(p));
      p = parent;
    }
  }
}

function collisions(o: InstallTreeOptions, prefix: string): void {
  const owner = new Map<string, string>();
  for (const i of o.others) for (const l of i.contents) if (l.kind !== 'dir') owner.set(l.path, `${i.record.name}-${i.record.version}`);
  const mine = new Set(o.previous?.contents.filter((l) => l.kind !== 'dir').map((l) => l.path) ?? []);
  const problems: string[] = [];
  for (const e of o.entries) {
    const abs = join(prefix, e.path);
    const node = diskNode(abs);
    if (e.type === 'directory') {
      if (node.kind === 'file' || node.kind === 'other') problems.push(`/${e.path} is a file in the prefix but a directory in the package`);
      if (node.kind === 'symlink') {
        let isDir = false;
        try { isDir = statSync(abs).isDirectory(); } catch { /* dangling */ }
        if (!isDir) problems.push(`/${e.path} is a symlink to a non-directory in the prefix but a directory in the package`);
      }
      continue;
    }
    if (node.kind === 'missing') continue;
    if (node.kind === 'dir') problems.push(`/${e.path} is a directory in the prefix but not in the package`);
    else if (mine.has(e.path)) continue;
    else if (owner.has(e.path)) problems.push(`/${e.path} belongs to ${owner.get(e.path)}`);
    else problems.push(`/${e.path} already exists and belongs to no installed package`);
  }
  if (problems.length) {
    throw new OsforgeError('ARCHIVE_UNSAFE', `installing ${o.record.name}-${o.record.version} would overwrite files it does not own: ${problems.slice(0, 10).join('; ')}${problems.length > 10 ? `; and ${problems.length - 10} more` : ''}`,
      { hint: 'uninstall the package owning them (`osforge uninstall <pkg>`) or remove the files, then retry; nothing was installed' });
  }
}

const rand = () => randomBytes(4).toString('hex');

/** Moves a staged path into place; falls back to copy + rename inside the target directory across filesystems. */
async function place(staged: string, dest: string, e: TarEntry): Promise<void> {
  try {
    await rename(staged, dest);
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
  }
  const tmp = join(dirname(dest), `.${basename(dest)}.osforge-new-${rand()}`);
  try {
    if (e.type === 'symlink') await symlink(await readlink(staged), tmp);
    else {
      await copyFile(staged, tmp);
      await chmod(tmp, e.mode & 0o777);
    }
    await rename(tmp, dest);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Adds directory entries for parents the archive leaves implicit, so every created directory is recorded. */
function withParents(entries: readonly TarEntry[]): TarEntry[] {
  const paths = new Set(entries.map((e) => e.path));
  const out = [...entries];
  for (const e of entries) {
    const parts = e.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
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
  const requested = resolve(o.prefix);
  const prefix = await realPrefixOf(requested);
  checkArchive(o.entries, { prefix, disk: (rel) => diskNode(join(prefix, rel)) });
  collisions(o, prefix);

  const createdPrefix = await mkdir(prefix, { recursive: true });
  const stage = await mkdtemp(join(prefix, '.osforge-staging-'));
  const journal: Array<() => Promise<unknown>> = [];
  const backups: string[] = [];
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
      await mkdir(dirname(p), { recursive: true });
      if (e.type === 'directory') {
        await mkdir(p, { recursive: true });
        contents.push({ kind: 'dir', path: e.path });
      } else if (e.type === 'file') {
        const data = e.data ?? Buffer.alloc(0);
        await writeFile(p, data, { flag: 'wx' });
        await chmod(p, e.mode & 0o777);
        dataOf.set(e.path, data);
        contents.push({ kind: 'obj', path: e.path, sha256: sha256(data), size: data.length });
      } else if (e.type === 'symlink') {
        await symlink(e.linkname!, p);
        contents.push({ kind: 'sym', path: e.path, target: e.linkname! });
      }
    }
    for (const e of sorted) {
      if (e.type !== 'link') continue;
      const p = join(tree, e.path);
      await link(join(tree, e.linkname!), p);
      const data = dataOf.get(e.linkname!)!;
      contents.push({ kind: 'obj', path: e.path, sha256: sha256(data), size: data.length });
    }
    contents.sort((a, b) => comparePaths(a.path, b.path));
    const vdbStaged = join(stage, 'vdb');
    await mkdir(vdbStaged);
    await writeFile(join(vdbStaged, 'CONTENTS'), formatContents(contents));
    await writeFile(join(vdbStaged, 'binpkg.json'), JSON.stringify(o.record, null, 2) + '\n');

    // 3. move into place.
    try {
      for (const e of sorted) {
        const dest = join(prefix, e.path);
        if (e.type === 'directory') {
          if (!(await exists(dest))) {
            await mkdir(dest, { mode: e.mode & 0o777 });
            await chmod(dest, e.mode & 0o777);
            journal.push(() => rmdir(dest));
          }
          continue;
        }
        if (await exists(dest)) {
          const backup = join(dirname(dest), `.${basename(dest)}.osforge-old-${rand()}`);
          await rename(dest, backup);
          journal.push(() => rename(backup, dest));
          backups.push(backup);
        }
        await place(join(tree, e.path), dest, e);
        journal.push(() => unlink(dest));
      }
      const vdbRoot = join(prefix, VDB_DIR);
      const createdVdb = await mkdir(vdbRoot, { recursive: true });
      if (createdVdb) journal.push(() => rm(createdVdb, { recursive: true, force: true }));
      if (o.previous) {
        const aside = join(vdbRoot, `.replaced-${rand()}`);
        await rename(o.previous.dir, aside);
        journal.push(() => rename(aside, o.previous!.dir));
        backups.push(aside);
      }
      const finalVdb = join(vdbRoot, vdbEntryName(o.record.name, o.record.version));
      await rename(vdbStaged, finalVdb);
      journal.push(() => rm(finalVdb, { recursive: true, force: true }));
      committed = true;
    } catch (err) {
      const undoErrors: string[] = [];
      for (const undo of journal.reverse()) {
        try { await undo(); } catch (e) { undoErrors.push((e as Error).message); }
      }
      if (undoErrors.length) o.log(`warning: rolling back left traces: ${undoErrors.join('; ')}`);
      throw wrapError(err, `installing ${o.record.name}-${o.record.version} into ${requested} (rolled back)`);
    }

    // 4. success: drop backups and whatever the previous version had that this one does not.
    for (const b of backups) await rm(b, { recursive: true, force: true });
    if (o.previous) {
      const now = new Set(contents.map((l) => l.path));
      await removeContents(prefix, o.previous.contents.filter((l) => !now.has(l.path)), o.others, o.log);
    }
    return contents;
  } finally {
    await rm(stage, { recursive: true, force: true });
    if (!committed && createdPrefix) await rm(createdPrefix, { recursive: true, force: true });
  }
}

/**
 * Removes exactly the listed paths: files only if unchanged since install,
 * symlinks only if they still point where they did, directories only if
 * empty and not listed by another installed package.
 */
export async function removeContents(prefix: string, lines: readonly ContentsLine[], others: readonly Installed[], log: (m: string) => void): Promise<void> {
  const keepDirs = new Set<string>();
  for (const i of others) for (const l of i.contents) if (l.kind === 'dir') keepDirs.add(l.path);
  for (const l of lines) {
    const abs = join(prefix, l.path);
    const node = diskNode(abs);
    if (l.kind === 'obj') {
      if (node.kind === 'missing') continue;
      if (node.kind !== 'file') { log(`keeping /${l.path}: no longer a regular file`); continue; }
      const now = sha256(await readFile(abs));
      if (now !== l.sha256) { log(`keeping /${l.path}: modified since install (sha256 ${now}, installed ${l.sha256})`); continue; }
      await unlink(abs);
    } else if (l.kind === 'sym') {
      if (node.kind === 'missing') continue;
      if (node.kind !== 'symlink' || node.target !== l.target) { log(`keeping /${l.path}: no longer the installed symlink`); continue; }
      await unlink(abs);
    }
  }
  const dirs = lines.filter((l) => l.kind === 'dir').map((l) => l.path).sort((a, b) => comparePaths(b, a));
  for (const d of dirs) {
    if (keepDirs.has(d)) continue;
    const abs = join(prefix, d);
    if (diskNode(abs).kind !== 'dir') continue;
    if ((await readdir(abs)).length === 0) await rmdir(abs);
  }
}

/** Uninstalls one package: its files (see removeContents), then its VDB entry and any VDB directories left empty. */
export async function uninstallTree(prefix: string, pkg: Installed, others: readonly Installed[], log: (m: string) => void): Promise<void> {
  const real = await realPrefixOf(resolve(prefix));
  await removeContents(real, pkg.contents, others, log);
  await rm(pkg.dir, { recursive: true, force: true });
  let d = join(real, VDB_DIR);
  while (d.length > real.length && d.startsWith(real)) {
    try {
      if ((await readdir(d)).length) break;
      await rmdir(d);
    } catch {
      break;
    }
    d = dirname(d);
  }
}
