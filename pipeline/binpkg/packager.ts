// `osforge package`: turns every stage2 package of dist/manifest.json into
// <name>-<version>-<config_hash>-bin.tar.gz + .sha256. The package file is
// the stage store's output.tar.gz byte for byte, so it is as reproducible as
// the build itself and a mirror hit gives identical dist/ bytes.
import type { KeyObject } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OsforgeError } from '../errors.ts';
import type { Manifest, ManifestPackage } from '../model/manifest.ts';
import { sha256 } from '../util/hash.ts';
import { writeFileAtomic } from '../util/write-atomic.ts';
import { formatChecksumFile } from './checksum-file.ts';
import { configHash, contentHash } from './config-hash.ts';
import { assertPackageId, binaryFilename } from './naming.ts';
import { signBlob } from './signature.ts';

/** `<stages>/<key>/meta.json`, written by the pipeline next to output.tar.gz. */
export interface StageMeta {
  name: string;
  version: string;
  arch: string;
  key: string;
  deps: string[];
  outputSha256: string;
  compiler?: string;
  useFlags?: string[];
}

export interface PackagedFile {
  name: string;
  version: string;
  arch: string;
  configHash: string;
  contentHash: string;
  filename: string;
  path: string;
  sha256: string;
  size: number;
  /** False when an identical file was already there. */
  written: boolean;
}

export interface PackageOptions {
  manifestPath: string;
  stagesDir: string;
  outputDir: string;
  /** Only these package names (all when empty). */
  only?: readonly string[];
  /** Cosign private key: writes <file>.sig (the bytes) and <file>.sha256.sig (the metadata). */
  signKey?: KeyObject;
}

async function writeIfChanged(path: string, data: Buffer | string): Promise<boolean> {
  const want = Buffer.isBuffer(data) ? data : Buffer.from(data);
  try {
    if ((await readFile(path)).equals(want)) return false;
  } catch {
    /* absent */
  }
  await writeFileAtomic(path, want);
  return true;
}

async function readJson<T>(path: string, what: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new OsforgeError(
      'CONFIG_INVALID',
      `reading ${what} ${path}: ${(err as Error).message}`,
      { hint: 'run `osforge dist` first; packaging reads dist/manifest.json and the stage store' },
      { cause: err },
    );
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new OsforgeError('CONFIG_INVALID', `${what} ${path} is not valid JSON: ${(err as Error).message}`, {}, { cause: err });
  }
}

/** The config-hash inputs of one manifest package (meta.json first, the manifest's toolchain as fallback for the compiler). */
export function configOf(
  pkg: ManifestPackage,
  meta: StageMeta,
  manifest: Pick<Manifest, 'toolchains'>,
): { arch: string; compiler: string; useFlags: string[]; depGraphHash: string } {
  const compiler = meta.compiler ?? manifest.toolchains?.[pkg.arch]?.compiler;
  if (!compiler) {
    throw new OsforgeError(
      'CONFIG_INVALID',
      `no compiler recorded for ${pkg.name} ${pkg.version}: meta.json has no "compiler" and the manifest has no toolchain for ${pkg.arch}`,
      { arch: pkg.arch, stage: 'stage2' },
    );
  }
  return { arch: pkg.arch, compiler, useFlags: meta.useFlags ?? [], depGraphHash: pkg.key };
}

export async function packageAll(o: PackageOptions): Promise<PackagedFile[]> {
  const manifest = await readJson<Manifest>(o.manifestPath, 'manifest');
  if (!Array.isArray(manifest.packages)) throw new OsforgeError('CONFIG_INVALID', `${o.manifestPath} has no "packages" array`);
  const only = new Set(o.only ?? []);
  const pkgs = manifest.packages
    .filter((p) => only.size === 0 || only.has(p.name))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) || (a.arch < b.arch ? -1 : a.arch > b.arch ? 1 : 0));
  for (const n of only) {
    if (!manifest.packages.some((p) => p.name === n)) {
      throw new OsforgeError(
        'USAGE',
        `package ${JSON.stringify(n)} is not in ${o.manifestPath}; it has: ${[...new Set(manifest.packages.map((p) => p.name))].sort().join(', ')}`,
      );
    }
  }
  await mkdir(o.outputDir, { recursive: true });
  const out: PackagedFile[] = [];
  const byFilename = new Map<string, string>();
  for (const pkg of pkgs) {
    assertPackageId({ name: pkg.name, version: pkg.version, arch: pkg.arch });
    const dir = join(o.stagesDir, pkg.key);
    const ctx = { arch: pkg.arch, stage: 'stage2' };
    const meta = await readJson<StageMeta>(join(dir, 'meta.json'), `stage metadata of ${pkg.name}`);
    for (const [k, want, got] of [
      ['key', pkg.key, meta.key],
      ['name', pkg.name, meta.name],
      ['version', pkg.version, meta.version],
      ['arch', pkg.arch, meta.arch],
    ] as const) {
      if (want !== got)
        throw new OsforgeError('CONFIG_INVALID', `${join(dir, 'meta.json')}: ${k} is ${JSON.stringify(got)}, the manifest says ${JSON.stringify(want)}`, ctx);
    }
    let data: Buffer;
    try {
      data = await readFile(join(dir, 'output.tar.gz'));
    } catch (err) {
      throw new OsforgeError(
        'CONFIG_INVALID',
        `${pkg.name} ${pkg.version} (${pkg.arch}): stage output ${join(dir, 'output.tar.gz')} is missing`,
        { ...ctx, hint: 'rebuild with `osforge dist`' },
        { cause: err },
      );
    }
    const sum = sha256(data);
    if (sum !== pkg.outputSha256) {
      throw new OsforgeError(
        'SHA256_MISMATCH',
        `${pkg.name} ${pkg.version} (${pkg.arch}): stage output hash mismatch: manifest expects ${pkg.outputSha256}, actual ${sum}`,
        { ...ctx, hint: 'the stage store changed since dist/manifest.json was written; rerun `osforge dist`' },
      );
    }
    const cfg = configHash(configOf(pkg, meta, manifest));
    const filename = binaryFilename(pkg.name, pkg.version, cfg);
    const prior = byFilename.get(filename);
    if (prior !== undefined && prior !== sum) {
      throw new OsforgeError('SHA256_MISMATCH', `two different builds map to ${filename} (sha256 ${prior} and ${sum})`, ctx);
    }
    byFilename.set(filename, sum);
    const path = join(o.outputDir, filename);
    const c = contentHash(data);
    const wroteTar = await writeIfChanged(path, data);
    const sumText = formatChecksumFile({ sha256: sum, filename, configHash: cfg, contentHash: c, name: pkg.name, version: pkg.version, arch: pkg.arch });
    const wroteSum = await writeIfChanged(`${path}.sha256`, sumText);
    let wroteSigs = false;
    if (o.signKey) {
      wroteSigs = await writeIfChanged(`${path}.sig`, signBlob(data, o.signKey));
      wroteSigs = (await writeIfChanged(`${path}.sha256.sig`, signBlob(Buffer.from(sumText), o.signKey))) || wroteSigs;
    }
    out.push({
      name: pkg.name,
      version: pkg.version,
      arch: pkg.arch,
      configHash: cfg,
      contentHash: c,
      filename,
      path,
      sha256: sum,
      size: data.length,
      written: wroteTar || wroteSum || wroteSigs,
    });
  }
  return out;
}
