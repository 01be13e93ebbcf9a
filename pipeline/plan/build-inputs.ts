// Which repository paths are build inputs: the files whose content can change
// what `make dist` writes. One definition, used two ways: as git pathspecs
// (SOURCE_DATE_EPOCH is the time of the last commit touching them) and as the
// files hashed into the dist key, read from the working tree so uncommitted
// edits count. Everything else (README*, CHANGELOG.md, test/, .github/, .ci/,
// help texts) may change freely without a rebuild.
//
// Kept out, and why:
// - pipeline/commands/, pipeline/cli.ts, pipeline/bin/: argv parsing, help
//   texts and exit codes. What `dist` needs beyond that lives outside
//   commands/ (stages/dist-setup.ts); a unit test checks every module
//   `osforge dist` reaches is an input.
// - pipeline/release/: the changelog, written by `osforge sign`, not `dist`.
// - builder/: setup-host.sh installs host tools (unpinned; lock.json and the
//   image input hashes pin what reaches dist/), build.sh only runs `dist --plain`.
// - Makefile: only chooses which osforge command runs.
// Kept in although not every file shapes bytes: pipeline/sign/ and crypto/ (binpkg checks
// the binary mirror's signatures with them) and the rest of pipeline/; when in
// doubt a file is an input, since a missed input ships stale output.
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { keyOf, sha256 } from '../util/hash.ts';

/** Repo-relative prefixes (a trailing `/` names a directory) that are inputs... */
const INCLUDED = ['images/', 'pipeline/', 'package.json', 'package-lock.json', 'tsconfig.json'] as const;
/** ...minus these (see the header). */
const EXCLUDED = ['pipeline/bin/', 'pipeline/cli.ts', 'pipeline/commands/', 'pipeline/release/'] as const;

/** Git pathspecs of every build input, relative to the repo root (run git there). */
export const BUILD_INPUT_PATHSPECS: readonly string[] = [...INCLUDED, ...EXCLUDED.map((p) => `:(exclude)${p}`)];

function under(spec: string, path: string): boolean {
  return spec.endsWith('/') ? path.startsWith(spec) : path === spec || path.startsWith(`${spec}/`);
}

/** Whether a repo-relative path (`/`-separated) is a build input; the same rule as the pathspecs. */
export function isBuildInput(path: string): boolean {
  return INCLUDED.some((s) => under(s, path)) && !EXCLUDED.some((s) => under(s, path));
}

/**
 * The area a file is hashed under: its first two path components when it is
 * deeper (`pipeline/stages`, `images/imager`), else the file itself
 * (`pipeline/errors.ts`, `package-lock.json`). A stage can then depend on
 * only the areas it uses.
 */
export function inputArea(path: string): string {
  const parts = path.split('/');
  return parts.length > 2 ? parts.slice(0, 2).join('/') : path;
}

export interface InputOptions {
  /** The plan's directory when $OSFORGE_IMAGES moves it: its files stand in for the repo's images/. */
  imagesDir?: string;
}

interface InputFile {
  name: string;
  abs: string;
}

function walk(dir: string, prefix: string, out: InputFile[]): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const abs = join(dir, e.name);
    if (e.isDirectory()) walk(abs, `${prefix}${e.name}/`, out);
    else out.push({ name: `${prefix}${e.name}`, abs });
  }
}

/** Tracked and untracked, not ignored; null outside a git checkout. */
function gitListed(root: string): string[] | null {
  let out: string;
  try {
    out = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', ...BUILD_INPUT_PATHSPECS], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      maxBuffer: 64 << 20,
    });
  } catch {
    return null;
  }
  return [...new Set(out.split('\0').filter(Boolean))];
}

/** Every build input present in the working tree, sorted by name (deleted files are gone, new ones count). */
export function listBuildInputs(root: string, opts: InputOptions = {}): InputFile[] {
  let files: InputFile[];
  const listed = gitListed(root);
  if (listed) files = listed.map((name) => ({ name, abs: join(root, name) }));
  else {
    // A source tarball: the same rule over the files on disk.
    files = [];
    for (const spec of INCLUDED) {
      const abs = join(root, spec);
      if (!existsSync(abs)) continue;
      if (spec.endsWith('/')) walk(abs, spec, files);
      else files.push({ name: spec, abs });
    }
    files = files.filter((f) => isBuildInput(f.name));
  }
  const images = opts.imagesDir && resolve(opts.imagesDir);
  if (images && images !== resolve(root, 'images')) {
    files = files.filter((f) => !f.name.startsWith('images/'));
    walk(images, 'images/', files);
  }
  // A file deleted but not yet staged is still listed by git; a directory is a submodule.
  return files.filter((f) => existsSync(f.abs) && !lstatSync(f.abs).isDirectory()).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** What git records of a file: content and the executable bit, or a symlink's target. */
function fileParts(f: InputFile): string[] {
  const st = lstatSync(f.abs);
  if (st.isSymbolicLink()) return [f.name, 'link', sha256(readlinkSync(f.abs))];
  return [f.name, st.mode & 0o111 ? 'exec' : 'file', sha256(readFileSync(f.abs))];
}

/** One hash per area (see inputArea), over each file's name, executable bit and content. */
export function buildInputHashes(root: string, opts: InputOptions = {}): Record<string, string> {
  const parts = new Map<string, string[]>();
  for (const f of listBuildInputs(root, opts)) {
    const area = inputArea(f.name);
    if (!parts.has(area)) parts.set(area, []);
    parts.get(area)!.push(...fileParts(f));
  }
  return Object.fromEntries([...parts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([area, p]) => [area, keyOf(p)]));
}

/** All build inputs in one hash: what the dist key takes as `pipeline`. */
export function buildInputsHash(root: string, opts: InputOptions = {}): string {
  return keyOf(Object.entries(buildInputHashes(root, opts)).flat());
}
