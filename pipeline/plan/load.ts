// Loads images/ into an immutable Plan. Reads files only; starts nothing.
import { existsSync, lstatSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { OsforgeError } from '../errors.ts';
import { ARCHES, type Arch, type ImageSet, type PackageRecipe, type Plan, type SourceSpec } from './types.ts';
import { GRUB_SOURCE, KERNEL_SOURCE } from '../model/step-outputs.ts';
import { packagePatches } from './patches.ts';
import { effectiveUse, ownEntry, parsePackageUse, parseToken, parseUseArg, useConfigure, type UseInputs, type UseOverride, type UseSpec } from './use.ts';
import { mismatch, parseAtom, type Atom } from './atoms.ts';
import { CandidateIndex, instanceId, pickCandidate, type MaskEntry } from './resolve.ts';
import { loadMaskFile, Profiles, type ImageSetSpec } from './profiles.ts';
import { sha256 } from '../util/hash.ts';
import { buckosSchema, builderSchema, lockSchema, parseWith, recipeSchema, sourcesSchema } from './schema.ts';
import { readJson } from './read-json.ts';

function invalid(file: string, message: string): OsforgeError {
  return new OsforgeError('CONFIG_INVALID', `${file}: ${message}`, { hint: `edit ${file}` });
}

/**
 * Every regular file below `dir`, as relative path → bytes, in byte order.
 * Symlinks are refused: these bytes feed cache keys and builds, and a link
 * could pull in files from outside the checkout.
 */
export function readTree(dir: string): Record<string, Buffer> {
  // Null prototype: a file named "__proto__" is a key like any other, not a silent prototype swap that drops it from the key.
  const out: Record<string, Buffer> = Object.create(null);
  if (!existsSync(dir))
    throw new OsforgeError('CONFIG_INVALID', `${dir}: directory not found`, {
      hint: 'restore it (git checkout), or point $OSFORGE_IMAGES at a complete images directory',
    });
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = lstatSync(p);
      if (st.isSymbolicLink())
        throw new OsforgeError('CONFIG_INVALID', `${p}: is a symlink; only regular files and directories are read`, {
          hint: `replace ${p} with a copy of the file it points to`,
        });
      if (st.isDirectory()) walk(p);
      else out[relative(dir, p)] = readFileSync(p);
    }
  };
  walk(dir);
  return out;
}

/** A signing key under images/keys/ (the schema keeps the path there): a regular file holding an armoured public key. */
function readKey(imagesDir: string, rel: string, field: string, file: string): Buffer {
  const p = join(imagesDir, rel);
  if (!existsSync(p)) throw invalid(file, `${field}: ${rel} not found in ${imagesDir}`);
  if (lstatSync(p).isSymbolicLink()) throw invalid(file, `${field}: ${rel} is a symlink; only regular files are read`);
  const data = readFileSync(p);
  if (!data.toString('latin1').includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')) throw invalid(file, `${field}: ${rel} is not an armoured OpenPGP public key`);
  return data;
}

/** Validates sources.json (see schema.ts) and returns each source with its name. */
export function validateSources(raw: unknown, file: string): Record<string, SourceSpec> {
  const parsed = parseWith(sourcesSchema, raw, file);
  // Null prototype: `sources[name]` for a name like "constructor" must find nothing unless sources.json defines it.
  const out: Record<string, SourceSpec> = Object.create(null);
  for (const [name, v] of Object.entries(parsed)) {
    const sig = v.signature;
    out[name] = {
      name,
      version: v.version,
      file: v.file,
      sha256: v.sha256,
      license: v.license,
      urls: v.urls ?? [],
      debian: v.debian,
      ...(v.cpe ? { cpe: { part: v.cpe.part, vendor: v.cpe.vendor, product: v.cpe.product } } : {}),
      ...(sig
        ? {
            signature: {
              file: sig.file,
              urls: sig.urls ?? [],
              key: sig.key,
              fingerprint: sig.fingerprint,
              keyArmored: readKey(dirname(file), sig.key, `${name}.signature.key`, file),
            },
          }
        : {}),
    };
  }
  return out;
}

/**
 * Orders packages so every dependency comes first; rejects unknown deps and
 * cycles. `fileOf` names the recipe file of a package, so the error can too.
 */
export function orderPackages(recipes: PackageRecipe[], fileOf: (id: string) => string = (n) => `packages/${n}/recipe.json`): PackageRecipe[] {
  const byName = new Map(recipes.map((r) => [r.id, r]));
  const ordered: PackageRecipe[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (r: PackageRecipe, chain: string[]) => {
    if (state.get(r.id) === 'done') return;
    if (state.get(r.id) === 'visiting') {
      const loop = chain.slice(chain.indexOf(r.id));
      throw new OsforgeError('CONFIG_INVALID', `package dependency cycle: ${[...loop, r.id].join(' -> ')} (in ${loop.map(fileOf).join(', ')})`, {
        hint: `remove one of these "deps" entries so the packages can be built in order`,
      });
    }
    state.set(r.id, 'visiting');
    for (const d of r.deps) {
      const dep = byName.get(d);
      if (!dep) {
        throw new OsforgeError('CONFIG_INVALID', `${fileOf(r.id)}: deps: package ${r.id} depends on unknown package ${JSON.stringify(d)}`, {
          hint: `add a recipe for ${d}, or remove it from "deps"`,
        });
      }
      visit(dep, [...chain, r.id]);
    }
    state.set(r.id, 'done');
    ordered.push(r);
  };
  for (const r of [...recipes].sort((a, b) => (a.id < b.id ? -1 : 1))) visit(r, []);
  return ordered;
}

/** Global USE, images/package.use (optional) and --use, in that order of precedence. */
function loadUseInputs(imagesDir: string, global: string[], cli: string[], configFile: string): UseInputs {
  const perPackage = new Map<string, UseOverride[]>();
  const add = (m: Map<string, UseOverride>) => {
    for (const [pkg, o] of m) perPackage.set(pkg, [...(perPackage.get(pkg) ?? []), o]);
  };
  const packageUse = join(imagesDir, 'package.use');
  if (existsSync(packageUse)) add(parsePackageUse(readFileSync(packageUse, 'utf8'), packageUse));
  for (const arg of cli) add(parseUseArg(arg));
  return { global: global.map((t) => parseToken(t, `${configFile}: use`)), perPackage };
}

/** What the command line adds to the plan: --use overrides (plan/use.ts), --profile. */
export interface PlanOptions {
  use?: string[];
  /** The user's patches, <dir>/<pkg>/*.patch (default images/patches). */
  patchesDir?: string;
  /** Build these profiles' image sets instead of what buckos.json selects. */
  profiles?: string[];
}

type Recipe = ReturnType<typeof recipeSchema.parse>;

/**
 * Resolves every image set (buckos.json's default set and profiles, or the
 * --profile selection) into package instances, and merges them: a package
 * that two sets build alike is one instance (one stage, built once); one that
 * a profile builds differently (its USE, mask or patches) becomes
 * "<id>+<profile>".
 */
function resolveImageSets(
  imagesDir: string,
  config: ReturnType<typeof buckosSchema.parse>,
  sources: Record<string, SourceSpec>,
  useInputs: UseInputs,
  options: PlanOptions,
  configFile: string,
) {
  const profiles = new Profiles(imagesDir);
  const specs: ImageSetSpec[] = options.profiles?.length
    ? options.profiles.map((p) => profiles.load(p))
    : [
        ...(config.packages ? [{ profile: null, roots: profiles.expand(config.packages, `${configFile}: packages`), use: [], mask: [], patchDirs: [] }] : []),
        ...(config.profiles ?? []).map((p) => profiles.load(p)),
      ];
  const globalMask = loadMaskFile(imagesDir);
  const index = new CandidateIndex<Recipe>(imagesDir, (file) => parseWith(recipeSchema, readJson(file), file));
  const merged = new Map<string, { recipe: PackageRecipe; signature: string; file: string }>();
  const imageSets: ImageSet[] = [];
  for (const spec of specs) {
    const local = resolveSet(
      imagesDir,
      spec,
      index,
      sources,
      { ...useInputs, global: [...useInputs.global, ...spec.use.map((t) => parseToken(t, `profile ${spec.profile}: use`))] },
      [...globalMask, ...spec.mask],
      options,
    );
    const fileOf = new Map(local.map((l) => [l.recipe.id, l.file]));
    const renamed = new Map<string, string>();
    for (const recipe of orderPackages(
      local.map((l) => l.recipe),
      (id) => fileOf.get(id) ?? id,
    )) {
      const file = fileOf.get(recipe.id)!;
      const deps = recipe.deps.map((d) => renamed.get(d)!);
      const signature = JSON.stringify([
        recipe.version,
        Object.entries(recipe.files).map(([p, b]) => [p, sha256(b)]),
        recipe.use?.enabled,
        recipe.patches.map((p) => [p.name, sha256(p.data)]),
        deps,
      ]);
      let id = recipe.id;
      if (merged.has(id) && merged.get(id)!.signature !== signature) id = `${recipe.id}+${spec.profile ?? 'default'}`;
      if (!merged.has(id)) merged.set(id, { recipe: { ...recipe, id, deps }, signature, file });
      renamed.set(recipe.id, id);
    }
    imageSets.push({ profile: spec.profile, packages: [...renamed.values()] });
  }
  const files = new Map([...merged].map(([id, m]) => [id, m.file]));
  const packages = orderPackages(
    [...merged.values()].map((m) => m.recipe),
    (id) => files.get(id) ?? id,
  );
  // Each set lists its packages in the global build order.
  for (const set of imageSets) set.packages = packages.map((p) => p.id).filter((id) => set.packages.includes(id));
  return { packages, imageSets };
}

/** One image set's instances, keyed by set-local ids (name or name:slot), deps resolved. */
function resolveSet(
  imagesDir: string,
  spec: ImageSetSpec,
  index: CandidateIndex<Recipe>,
  sources: Record<string, SourceSpec>,
  useInputs: UseInputs,
  mask: MaskEntry[],
  options: PlanOptions,
) {
  const chosen = new Map<string, { version: string; slot: string; wantedBy: string; recipe?: PackageRecipe; file: string }>();
  const visit = (atom: Atom, from: string): string => {
    const c = pickCandidate(atom, index.get(atom.name, from), mask, from);
    const id = instanceId(c.name, c.slot);
    const prev = chosen.get(id);
    if (prev) {
      if (prev.version === c.version || !mismatch(atom, prev.version, prev.slot)) return id;
      throw new OsforgeError(
        'CONFIG_INVALID',
        `slot conflict: ${from} wants "${atom.text}" (${c.version}) but ${prev.wantedBy} already chose ${c.name} ${prev.version} in slot ${c.slot}`,
        {
          hint: `make both accept one version, or give the versions different slots ("slot" in their recipe.json)${spec.profile ? ` (profile ${spec.profile})` : ''}`,
        },
      );
    }
    chosen.set(id, { version: c.version, slot: c.slot, wantedBy: `${from} ("${atom.text}")`, file: c.file });
    const r = c.recipe;
    for (const [j, s] of (r.sources ?? []).entries()) {
      if (!sources[s]) throw invalid(c.file, `sources[${j}]: expected a source defined in sources.json, found ${JSON.stringify(s)}`);
    }
    if (!existsSync(join(c.dir, 'build.sh'))) throw invalid(c.file, 'missing build.sh beside it');
    const useSpec: UseSpec = {
      iuse: r.iuse ?? [],
      defaults: r.use_defaults ?? [],
      deps: r.use_deps ?? {},
      configure: r.use_configure ?? {},
      requiredUse: r.required_use,
    };
    const flagDeps = (f: string) => ownEntry(useSpec.deps, f) ?? [];
    const enabled = effectiveUse(c.name, useSpec, useInputs);
    const depAtoms = [
      ...(r.deps ?? []).map((d, j) => ({ atom: parseAtom(d, `${c.file}: deps[${j}]`), from: `${c.file}: deps[${j}]` })),
      ...enabled.flatMap((f) => flagDeps(f).map((d, j) => ({ atom: parseAtom(d, `${c.file}: use_deps.${f}[${j}]`), from: `${c.file}: use_deps.${f}[${j}]` }))),
    ];
    const deps = [...new Set(depAtoms.map((d) => visit(d.atom, d.from)))];
    const files = readTree(c.dir);
    const patches = packagePatches({
      pkg: c.name,
      files,
      enabledFlags: enabled,
      iuse: useSpec.iuse,
      userDir: options.patchesDir ?? join(imagesDir, 'patches'),
      recipeFile: c.file,
      profileDirs: spec.patchDirs,
      recipeLabel: relative(imagesDir, c.dir),
    });
    chosen.get(id)!.recipe = {
      id,
      name: c.name,
      version: c.version,
      slot: c.slot,
      license: r.license,
      sources: r.sources ?? [],
      deps,
      files,
      patches,
      ...(useSpec.iuse.length ? { use: { iuse: useSpec.iuse, enabled, configure: useConfigure(useSpec, enabled) } } : {}),
    };
    return id;
  };
  for (const root of spec.roots) visit(root.atom, root.from);
  return [...chosen.values()].map((c) => ({ recipe: c.recipe!, file: c.file }));
}

/** Only images/sources.json, validated as loadPlan does (for `osforge sign`, which needs the pins' CPEs, not a whole plan). */
export function loadSources(imagesDir: string): Record<string, SourceSpec> {
  const file = join(imagesDir, 'sources.json');
  return validateSources(readJson(file), file);
}

export function loadPlan(imagesDir: string, options: PlanOptions = {}): Plan {
  const configFile = join(imagesDir, 'buckos.json');
  // Whole-file validation first: package names are checked before any recipe path is built from them.
  const config = parseWith(buckosSchema, readJson(configFile), configFile);
  const sourcesFile = join(imagesDir, 'sources.json');
  const sources = validateSources(readJson(sourcesFile), sourcesFile);
  const arches = (config.arches ?? [...ARCHES]) as Arch[];

  const toolchainSource = config.toolchain?.source ?? 'musl';
  if (!sources[toolchainSource]) throw invalid(configFile, `toolchain.source: ${JSON.stringify(toolchainSource)} is not in sources.json`);
  // The kernel and GRUB stages build from these pins; a plan without them could not boot.
  for (const [name, what] of [
    [KERNEL_SOURCE, 'the kernel'],
    [GRUB_SOURCE, 'GRUB'],
  ] as const) {
    if (!sources[name]) throw invalid(sourcesFile, `${JSON.stringify(name)}: expected the pinned source ${what} is built from, found nothing`);
  }
  if (!existsSync(join(imagesDir, 'grub', 'build.sh'))) throw invalid(join(imagesDir, 'grub', 'build.sh'), 'file not found (the GRUB stage runs it)');

  const useInputs = loadUseInputs(imagesDir, config.use ?? [], options.use ?? [], configFile);
  const { packages, imageSets } = resolveImageSets(imagesDir, config, sources, useInputs, options, configFile);
  // --use and package.use may only name packages of the plan.
  for (const [pkg, overrides] of useInputs.perPackage) {
    if (!packages.some((r) => r.name === pkg)) {
      throw new OsforgeError('CONFIG_INVALID', `${overrides[0]!.from}: USE flags for ${JSON.stringify(pkg)}, which is not in the plan`, {
        hint: `one of: ${[...new Set(packages.map((r) => r.name))].join(', ')}`,
      });
    }
  }

  const base = config.base;
  const builderFile = join(imagesDir, 'builder', 'builder.json');
  const builder = parseWith(builderSchema, readJson(builderFile), builderFile);
  const lockFile = join(imagesDir, 'lock.json');
  const lock = existsSync(lockFile) ? parseWith(lockSchema, readJson(lockFile), lockFile) : undefined;
  if (lock && lock.suite !== base.suite) throw invalid(lockFile, `suite: locks ${lock.suite} but buckos.json uses ${base.suite}; run \`osforge lock\``);
  const baseSpec = {
    name: 'base',
    suite: base.suite,
    variant: base.variant ?? 'minbase',
    include: base.include ?? [],
    pins: lock?.images?.base ?? {},
    sourceDateEpoch: base.sourceDateEpoch,
    pull: base.pull ?? {},
  };
  // The kernel build image: its own root beside the buildenv, so adding the kernel leaves the buildenv and builder keys alone.
  const kernelBuildFile = join(imagesDir, 'kernel', 'kernel.json');
  const kernelBuild = existsSync(kernelBuildFile) ? parseWith(builderSchema, readJson(kernelBuildFile), kernelBuildFile) : undefined;
  const buck2 = config.buck2;
  return Object.freeze({
    name: config.name ?? 'buckos',
    version: config.version,
    arches,
    base: baseSpec,
    buildenv: { ...baseSpec, name: 'buildenv', include: builder.include, pins: lock?.images?.buildenv ?? {}, pull: {} },
    ...(kernelBuild
      ? { kernelBuild: { ...baseSpec, name: 'kernel-build', include: kernelBuild.include, pins: lock?.images?.['kernel-build'] ?? {}, pull: {} } }
      : {}),
    sources,
    toolchainSource,
    packages,
    imageSets,
    buck2: { version: buck2?.version ?? '', asset: buck2?.asset ?? '', url: buck2?.url ?? '', sha256: buck2?.sha256 ?? null },
    imageFiles: {
      tools: readTree(join(imagesDir, 'tools')),
      builder: readTree(join(imagesDir, 'builder')),
      kernelConfig: readTree(join(imagesDir, 'kernel', 'config')),
      grub: readTree(join(imagesDir, 'grub')),
    },
  });
}
