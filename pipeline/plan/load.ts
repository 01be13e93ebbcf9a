// Loads images/ into an immutable Plan. Reads files only; starts nothing.
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { OsforgeError } from '../errors.ts';
import { ARCHES, type Arch, type PackageRecipe, type Plan, type SourceSpec } from './types.ts';

const SHA256 = /^[0-9a-f]{64}$/;

function invalid(file: string, message: string): OsforgeError {
  return new OsforgeError('CONFIG_INVALID', `${file}: ${message}`, { hint: `edit ${file}` });
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw invalid(file, `cannot read JSON (${(err as Error).message})`);
  }
}

/** Every regular file below `dir`, as relative path → bytes, in byte order. */
export function readTree(dir: string): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(dir, p)] = readFileSync(p);
    }
  };
  walk(dir);
  return out;
}

export function validateSources(raw: unknown, file: string): Record<string, SourceSpec> {
  if (!raw || typeof raw !== 'object') throw invalid(file, 'expected an object of sources');
  const out: Record<string, SourceSpec> = {};
  for (const [name, v] of Object.entries(raw as Record<string, Record<string, unknown>>)) {
    const where = `source ${JSON.stringify(name)}`;
    if (typeof v.version !== 'string' || typeof v.file !== 'string') throw invalid(file, `${where} needs "version" and "file"`);
    if (typeof v.sha256 !== 'string' || !SHA256.test(v.sha256)) throw invalid(file, `${where} has no valid "sha256" (64 lowercase hex digits)`);
    if (/[/\\]/.test(v.file) || v.file.startsWith('.')) throw invalid(file, `${where} "file" must be a plain file name`);
    const urls = Array.isArray(v.urls) ? v.urls.map(String) : [];
    const debian = v.debian as SourceSpec['debian'];
    if (debian?.sha256 !== undefined && !SHA256.test(debian.sha256)) throw invalid(file, `${where} debian.sha256 is not a sha256`);
    if (!urls.length && !debian) throw invalid(file, `${where} has no fetch location ("urls" or "debian")`);
    out[name] = { name, version: v.version, file: v.file, sha256: v.sha256, license: v.license as string | undefined, urls, debian };
  }
  return out;
}

/** Orders packages so every dependency comes first; rejects unknown deps and cycles. */
export function orderPackages(recipes: PackageRecipe[]): PackageRecipe[] {
  const byName = new Map(recipes.map((r) => [r.name, r]));
  const ordered: PackageRecipe[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (r: PackageRecipe, chain: string[]) => {
    if (state.get(r.name) === 'done') return;
    if (state.get(r.name) === 'visiting') {
      throw new OsforgeError('CONFIG_INVALID', `package dependency cycle: ${[...chain, r.name].join(' -> ')}`);
    }
    state.set(r.name, 'visiting');
    for (const d of r.deps) {
      const dep = byName.get(d);
      if (!dep) throw new OsforgeError('CONFIG_INVALID', `package ${r.name} depends on unknown package ${JSON.stringify(d)}`);
      visit(dep, [...chain, r.name]);
    }
    state.set(r.name, 'done');
    ordered.push(r);
  };
  for (const r of [...recipes].sort((a, b) => (a.name < b.name ? -1 : 1))) visit(r, []);
  return ordered;
}

export function loadPlan(imagesDir: string): Plan {
  const configFile = join(imagesDir, 'buckos.json');
  const config = readJson(configFile) as Record<string, any>;
  const sourcesFile = join(imagesDir, 'sources.json');
  const sources = validateSources(readJson(sourcesFile), sourcesFile);

  const arches = (config.arches ?? ARCHES) as string[];
  for (const a of arches) if (!ARCHES.includes(a as Arch)) throw invalid(configFile, `unknown arch ${JSON.stringify(a)} (known: ${ARCHES.join(', ')})`);
  if (typeof config.version !== 'string' || !/^[0-9A-Za-z.+~-]+$/.test(config.version)) throw invalid(configFile, '"version" must be a plain version string');

  const toolchainSource = String(config.toolchain?.source ?? 'musl');
  if (!sources[toolchainSource]) throw invalid(configFile, `toolchain source ${JSON.stringify(toolchainSource)} is not in sources.json`);

  const recipes: PackageRecipe[] = [];
  for (const name of config.packages as string[]) {
    const dir = join(imagesDir, 'packages', name);
    const recipeFile = join(dir, 'recipe.json');
    if (!existsSync(recipeFile)) throw invalid(configFile, `package ${JSON.stringify(name)} has no ${relative(imagesDir, recipeFile)}`);
    const r = readJson(recipeFile) as Record<string, any>;
    if (r.name !== name) throw invalid(recipeFile, `"name" must be ${JSON.stringify(name)}`);
    for (const s of r.sources ?? []) if (!sources[s]) throw invalid(recipeFile, `unknown source ${JSON.stringify(s)} (not in sources.json)`);
    if (!existsSync(join(dir, 'build.sh'))) throw invalid(recipeFile, 'missing build.sh beside it');
    recipes.push({
      name, version: String(r.version), license: r.license, sources: r.sources ?? [], deps: r.deps ?? [], files: readTree(dir),
    });
  }
  for (const r of recipes) for (const d of r.deps) if (!recipes.some((x) => x.name === d)) {
    throw invalid(join(imagesDir, 'packages', r.name, 'recipe.json'), `depends on ${JSON.stringify(d)}, which is not in buckos.json "packages"`);
  }

  const base = config.base ?? {};
  const buck2 = config.buck2 ?? {};
  const builderFile = join(imagesDir, 'builder', 'builder.json');
  const builder = readJson(builderFile) as { include?: string[] };
  if (!Array.isArray(builder.include) || builder.include.length === 0) throw invalid(builderFile, '"include" must list the build toolchain packages');
  const lockFile = join(imagesDir, 'lock.json');
  const lock = (existsSync(lockFile) ? readJson(lockFile) : {}) as { suite?: string; images?: Record<string, Partial<Record<Arch, string[]>>> };
  if (lock.suite !== undefined && lock.suite !== base.suite) throw invalid(lockFile, `locks suite ${lock.suite} but buckos.json uses ${base.suite}; run \`osforge lock\``);
  const baseSpec = {
    name: 'base', suite: String(base.suite), variant: String(base.variant ?? 'minbase'), include: (base.include ?? []).map(String),
    pins: lock.images?.base ?? {}, sourceDateEpoch: Number(base.sourceDateEpoch), pull: base.pull ?? {},
  };
  return Object.freeze({
    name: String(config.name ?? 'buckos'),
    version: config.version,
    arches: arches as Arch[],
    base: baseSpec,
    buildenv: { ...baseSpec, name: 'buildenv', include: builder.include.map(String), pins: lock.images?.buildenv ?? {}, pull: {} },
    sources,
    toolchainSource,
    packages: orderPackages(recipes),
    buck2: { version: String(buck2.version ?? ''), asset: String(buck2.asset ?? ''), url: String(buck2.url ?? ''), sha256: buck2.sha256 ?? null },
    imageFiles: { tools: readTree(join(imagesDir, 'tools')), builder: readTree(join(imagesDir, 'builder')) },
  });
}
