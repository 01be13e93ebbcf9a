// oss_source.tgz in the layout of Buildroot's `make legal-info`: for every
// component whose binaries ship (the musl toolchain linked into every
// program, each stage2 package, Linux, GRUB) one `<name>-<version>/`
// directory with its exact source archive(s), our build inputs for it
// (recipe, build script, files, config fragments: our "patches") and the
// licence texts found in the archive; plus manifest.csv (Buildroot's
// columns and SHA256), SHA256SUMS and a README.
//
//   README  manifest.csv  SHA256SUMS
//   busybox-1.37.0/busybox-1.37.0.tar.bz2
//   busybox-1.37.0/build/{recipe.json,build.sh,files/...}
//   busybox-1.37.0/licenses/LICENSE
//   linux-6.12.107/build/config/{base.config,arch/amd64.config,...}
//   linux-6.12.107/licenses/{COPYING,LICENSES/...}
//
// The component list is a pure function of the plan (and the files beside
// it), so the stage key names every input; the archive is streamed from disk.
import type { Readable } from 'node:stream';
import { OsforgeError } from '../errors.ts';
import { sourcePin } from '../model/stage-key.ts';
import { GRUB_SOURCE, KERNEL_SOURCE } from '../model/step-outputs.ts';
import type { Plan, SourceSpec } from '../plan/types.ts';
import { sha256 } from '../util/hash.ts';
import { licenseTexts } from '../util/license-files.ts';
import { chain, gzipStream, packStream, type StreamEntry } from '../util/tar-stream.ts';

/** Bump when the layout changes: it is part of the stage key. */
const LAYOUT = 'legal-info/v1';

export interface LegalComponent {
  name: string;
  version: string;
  license?: string;
  /** sources.json names: the archives shipped in the component's directory. */
  sources: string[];
  /** Our build inputs for it, by path under `build/`. */
  files: Record<string, Buffer>;
}

/** A fetched source: which file (upstream or Debian's) was verified, and where it is on disk. */
export interface ShippedSource {
  name: string;
  file: string;
  sha256: string;
  path: string;
}

const prefixed = (prefix: string, files: Record<string, Buffer>) => Object.fromEntries(Object.entries(files).map(([p, c]) => [`${prefix}${p}`, c]));

/** Every component whose binaries ship, sorted by name (loadPlan requires the Linux and GRUB pins). */
export function legalComponents(plan: Plan): LegalComponent[] {
  const fromSource = (name: string, files: Record<string, Buffer>): LegalComponent => {
    const s = plan.sources[name]!;
    return { name: s.name, version: s.version, ...(s.license ? { license: s.license } : {}), sources: [name], files };
  };
  const out: LegalComponent[] = [fromSource(plan.toolchainSource, plan.imageFiles.tools)];
  const packages = new Map<string, LegalComponent>();
  for (const p of plan.packages) {
    // The user's and profiles' patches (plan/patches.ts) ship beside the recipe's own: they are part of what was built.
    const extra = Object.fromEntries(
      p.patches
        .filter((x) => /^(user|profile):/.test(x.name))
        .map((x) => [
          x.name.startsWith('user:') ? `user-patches/${x.name.slice('user:'.length)}` : `profile-patches/${x.name.slice('profile:'.length).replace(':', '/')}`,
          x.data,
        ]),
    );
    // Instances of one version (a profile's variant) are one component; two slots are two.
    const at = `${p.name}-${p.version}`;
    const prev = packages.get(at);
    if (prev) {
      Object.assign(prev.files, extra);
      continue;
    }
    packages.set(at, {
      name: p.name,
      version: p.version,
      ...(p.license ? { license: p.license } : {}),
      sources: [...p.sources],
      files: { ...p.files, ...extra },
    });
  }
  out.push(...packages.values());
  out.push(fromSource(KERNEL_SOURCE, prefixed('config/', plan.imageFiles.kernelConfig)));
  out.push(fromSource(GRUB_SOURCE, plan.imageFiles.grub));
  const fixed = new Set([plan.toolchainSource, KERNEL_SOURCE, GRUB_SOURCE]);
  for (const c of packages.values()) {
    if (fixed.has(c.name)) {
      throw new OsforgeError('CONFIG_INVALID', `package ${JSON.stringify(c.name)} has the name of the toolchain, kernel or GRUB component`, {
        hint: 'rename the package in images/buckos.json and its directory',
      });
    }
  }
  return out.sort((a, b) => cmp(a.name, b.name) || cmp(a.version, b.version));
}

/** Every sources.json name the components ship. */
export function legalSources(components: readonly LegalComponent[]): string[] {
  return [...new Set(components.flatMap((c) => c.sources))].sort(cmp);
}

/** The stage's inputs: everything the archive's bytes follow from, except the source bytes (their pins stand in). */
export function legalInfoInputs(plan: Plan, components: readonly LegalComponent[], sourceDateEpoch: string): [string, string][] {
  const inputs: [string, string][] = [
    ['layout', LAYOUT],
    ['source-date-epoch', sourceDateEpoch],
    ['distribution', `${plan.name} ${plan.version}`],
  ];
  for (const c of components) {
    // A package with two slots has two components: the version tells them apart.
    const at = components.filter((o) => o.name === c.name).length > 1 ? `${c.name}-${c.version}` : c.name;
    inputs.push([`component:${at}`, `${c.version} ${c.license ?? ''} ${c.sources.join(',')}`]);
    for (const p of Object.keys(c.files).sort(cmp)) inputs.push([`file:${at}/${p}`, sha256(c.files[p]!)]);
  }
  for (const s of legalSources(components)) inputs.push([`source:${s}`, sourcePin(plan.sources[s]!)]);
  return inputs;
}

/** Where the shipped file comes from, without any host's mirror: the upstream directory, or the Debian source package. */
export function sourceSite(spec: SourceSpec, shippedFile: string): string {
  const url = spec.urls[0];
  if (shippedFile === spec.file && url) return url.slice(0, url.lastIndexOf('/'));
  if (spec.debian && shippedFile === spec.debian.file) {
    return `Debian source package ${spec.debian.package} ${spec.debian.version}${spec.debian.suite ? ` (${spec.debian.suite})` : ''}`;
  }
  return url ? url.slice(0, url.lastIndexOf('/')) : 'NOASSERTION';
}

/** RFC 4180 quoting on every field, as Buildroot's manifest.csv does. */
const csvRow = (fields: readonly string[]) => fields.map((f) => `"${f.replace(/"/g, '""')}"`).join(',') + '\n';

function readme(plan: Plan): string {
  return `Sources of ${plan.name} ${plan.version}

For every component whose binaries ship in any artifact of this release
(the musl C library, statically linked into every program; each package;
the Linux kernel; GRUB) this archive holds, in <name>-<version>/:

  <archive>      the exact source archive it was built from (SHA256 in manifest.csv)
  build/         our build inputs: the package recipe and build script, the
                 files it installs, the kernel configuration fragments
                 (build/config/), the toolchain build script
  licenses/      the licence texts found in the source archive

manifest.csv lists each component with its licence (SPDX), licence files,
source archive, where the archive is published, and its SHA256.
SHA256SUMS covers every file in this archive.
`;
}

/**
 * The archive's entries. Source archives stay on disk (packStream reads them
 * while packing); licence texts and our build inputs are small buffers.
 */
export async function legalInfoEntries(plan: Plan, components: readonly LegalComponent[], shipped: ReadonlyMap<string, ShippedSource>): Promise<StreamEntry[]> {
  const entries: StreamEntry[] = [];
  const sums: [string, string][] = [];
  const add = (path: string, data: Buffer | { file: string }, sum: string) => {
    entries.push({ path, type: 'file', mode: 0o644, data });
    sums.push([path, sum]);
  };
  let csv = csvRow(['PACKAGE', 'VERSION', 'LICENSE', 'LICENSE FILES', 'SOURCE ARCHIVE', 'SOURCE SITE', 'SHA256']);
  for (const c of components) {
    const dir = `${c.name}-${c.version}`;
    const archives: ShippedSource[] = c.sources.map((name) => {
      const s = shipped.get(name);
      if (!s) throw new OsforgeError('SOURCE_FETCH', `oss_source.tgz: source ${JSON.stringify(name)} of ${c.name} was not fetched`, { stage: 'oss-source' });
      return s;
    });
    const licenseFiles: string[] = [];
    for (const s of archives) {
      add(`${dir}/${s.file}`, { file: s.path }, s.sha256);
      // One archive's texts go straight under licenses/; several get a directory each so their COPYINGs cannot collide.
      const under = archives.length > 1 ? `licenses/${s.name}/` : 'licenses/';
      for (const t of await licenseTexts(s.path, s.file)) {
        add(`${dir}/${under}${t.path}`, t.data, sha256(t.data));
        licenseFiles.push(`${under}${t.path}`);
      }
    }
    for (const p of Object.keys(c.files).sort(cmp)) add(`${dir}/build/${p}`, c.files[p]!, sha256(c.files[p]!));
    csv += csvRow([
      c.name,
      c.version,
      c.license ?? 'NOASSERTION',
      licenseFiles.join(' '),
      archives.map((s) => s.file).join(' '),
      archives.map((s) => sourceSite(plan.sources[s.name]!, s.file)).join(' '),
      archives.map((s) => s.sha256).join(' '),
    ]);
  }
  const csvBuf = Buffer.from(csv);
  const readmeBuf = Buffer.from(readme(plan));
  add('manifest.csv', csvBuf, sha256(csvBuf));
  add('README', readmeBuf, sha256(readmeBuf));
  const sumsText = sums
    .sort(([a], [b]) => cmp(a, b))
    .map(([p, h]) => `${h}  ${p}\n`)
    .join('');
  entries.push({ path: 'SHA256SUMS', type: 'file', mode: 0o644, data: Buffer.from(sumsText) });
  return entries;
}

/** oss_source.tgz as a stream: sorted entries, fixed owner/mode/mtime (packStream), fixed gzip header (gzipStream). */
export async function legalInfoArchive(
  plan: Plan,
  components: readonly LegalComponent[],
  shipped: ReadonlyMap<string, ShippedSource>,
  sourceDateEpoch: number,
): Promise<Readable> {
  return chain(packStream(await legalInfoEntries(plan, components, shipped), sourceDateEpoch), gzipStream());
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
