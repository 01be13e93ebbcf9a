// stage2 (per arch and package): one package built by its recipe in the
// builder image, or fetched from a trusted binary mirror. Recipes come in
// dependency order (plan/resolve.ts), so a package's dependencies are stages
// already. Its container may start ahead (hold) once the builder and the
// sources are ready. Named inputs: graph/keys.ts. Ships the package's
// manifest record, and its origin (built or mirror) in report.json.
import { dropHeld, holdStage2, stage2Package, type HeldStage2 } from '../../steps/bootstrap.ts';
import { ref, type Outputs } from '../stage.ts';
import type { PackageValue } from '../values.ts';
import { cached, result, sizeOf, type ForArch, type StageKind } from './kind.ts';
import { builderImage, builderOut } from './builder.ts';
import { sourcesOut } from './sources.ts';
import { bootstrapContext, stage1Out } from './stage1.ts';

/** The package instance `id` (PackageRecipe.id) of this arch. */
export const packageOut = (c: ForArch, id: string) => ref<PackageValue>(c.nodes.packages.get(id)!.id);
/** The outputs of these package instances (default: every package of the plan), in that order. */
export const packagesOf = (c: ForArch, deps: Outputs, ids: readonly string[] = c.plan.packages.map((p) => p.id)) =>
  ids.map((id) => deps.get(packageOut(c, id)));

export const stage2: StageKind = {
  name: 'stage2',
  scope: 'arch',
  expand(c) {
    const { plan, arch, nodes } = c;
    for (const recipe of plan.packages) {
      const n = nodes.packages.get(recipe.id)!;
      const out = packageOut(c, recipe.id);
      c.add(out, {
        key: n.key,
        inputs: n.inputs,
        deps: [nodes.stage1.id, c.graph.builder.id, sourcesOut.id, ...recipe.deps.map((d) => nodes.packages.get(d)!.id)],
        title: `stage2 ${arch}: ${recipe.id} ${recipe.version}`,
        cost: 60,
        placement: arch,
        storeKey: n.key,
        present: async (p) => p.store.has(n.key),
        remoteImage: builderImage(c),
        // The builder and the sources are all a stage2 container needs to start; the packages it depends on come later.
        hold: (env, done) =>
          done.has(builderOut(c)) && done.has(sourcesOut) && !env.store.has(n.key) && !env.binaryLookup
            ? holdStage2(bootstrapContext(c, env, done, n.id), recipe).then((h) => ({ ...h, drop: () => dropHeld(h) }))
            : undefined,
        run: async (env, deps) => {
          const built = packagesOf(c, deps, recipe.deps);
          const r = await stage2Package(
            bootstrapContext(c, env, deps, n.id),
            recipe,
            n,
            built.map((b) => ({ key: b.key, path: b.path })),
            deps.get(stage1Out(c)).meta.compiler,
            env.binaryLookup,
            env.takeHeld(n.id) as Promise<HeldStage2 | undefined> | undefined,
          );
          const signer = r.meta.signerKeyId;
          return result(
            { meta: r.meta, path: r.path, key: n.key } satisfies PackageValue,
            r.hit,
            `stage2 ${arch}: ${recipe.id} ${recipe.version}${cached(r.hit)}${signer ? ` [binary mirror, signed by ${signer}]` : ''}`,
            await sizeOf(r.path),
          );
        },
        report: (done) => {
          const v = done.maybe(out);
          if (!v) return undefined;
          const signer = v.meta.signerKeyId;
          const origin = {
            arch,
            name: recipe.name,
            version: recipe.version,
            origin: signer ? ('mirror' as const) : ('built' as const),
            ...(signer ? { signerKeyId: signer } : {}),
            cached: done.hit(out)!,
          };
          return { packages: [origin] };
        },
      });
    }
    c.ship(async (_env, deps, parts) => {
      for (const recipe of plan.packages) {
        const p = deps.get(packageOut(c, recipe.id)).meta;
        parts.packages.push({
          ...(recipe.id !== recipe.name ? { id: recipe.id } : {}),
          ...(recipe.slot !== '0' ? { slot: recipe.slot } : {}),
          name: p.name,
          version: p.version,
          arch,
          license: recipe.license,
          key: p.key,
          deps: recipe.deps,
          sources: p.sources,
          outputSha256: p.outputSha256!,
          ...(recipe.use ? { use: { iuse: recipe.use.iuse, enabled: recipe.use.enabled } } : {}),
        });
      }
    });
  },
};
