// Fetch sources: every pinned source a build uses, verified into the source
// cache. oss_source.tgz ships the source of everything that ships
// (outputs/legal-info.ts), Linux and GRUB included, so all of it is fetched.
// Named inputs: one per source pin. Ships manifest.json's sources list.
import { existsSync } from 'node:fs';
import type { Plan } from '../../plan/types.ts';
import { node, sourcePin } from '../keys.ts';
import { fetchSources, debianExpectation, type FetchedSource } from '../../steps/fetch.ts';
import { openStepLog } from '../../steps/step-log.ts';
import { sourceCachePath } from '../../cache/source-cache.ts';
import { legalComponents, legalSources } from '../../outputs/legal-info.ts';
import { GRUB_SOURCE, KERNEL_SOURCE } from '../../model/step-outputs.ts';
import { ref, type Outputs } from '../stage.ts';
import { result, type StageKind } from './kind.ts';
import { baseOut } from './base.ts';

export const sourcesOut = ref<Map<string, FetchedSource>>('sources');
/** The verified sources, by name. */
export const fetched = (deps: Outputs) => deps.get(sourcesOut);

function sourceSpecs(plan: Plan) {
  return [
    ...new Set([plan.toolchainSource, ...plan.packages.flatMap((p) => p.sources), KERNEL_SOURCE, GRUB_SOURCE, ...legalSources(legalComponents(plan))]),
  ].map((n) => plan.sources[n]!);
}

export const sources: StageKind = {
  name: 'sources',
  scope: 'build',
  expand(c) {
    const { plan } = c;
    const specs = sourceSpecs(plan);
    const n = node(
      sourcesOut.id,
      specs.map((s) => [`source:${s.name}`, sourcePin(s)]),
    );
    c.add(sourcesOut, {
      ...n,
      deps: [c.graph.base.id],
      title: 'Fetch sources',
      cost: 20,
      present: async (p) =>
        specs.every(
          (s) =>
            existsSync(sourceCachePath(p.stateRoot.sources, s.file)) ||
            (debianExpectation(s) !== null && existsSync(sourceCachePath(p.stateRoot.sources, debianExpectation(s)!.file))),
        ),
      run: async (env, deps) => {
        const got = await fetchSources({
          engine: env.engine,
          baseRef: deps.get(baseOut(c)).ref,
          specs,
          cacheRoot: env.stateRoot.sources,
          runId: env.runId,
          log: openStepLog(env.logDir, 'fetch'),
        });
        const fresh = [...got.values()].filter((s) => s.from !== 'cache').length;
        return result(got, fresh === 0, `Fetch sources: ${got.size} verified (${fresh} downloaded)`);
      },
    });
    c.ship(async (_env, deps, parts) => {
      // In the plan's order, not the fetch's: cached sources are found before downloaded ones,
      // so a partly warm source cache would otherwise reorder manifest.json.
      const got = fetched(deps);
      parts.sources = specs
        .flatMap((spec) => got.get(spec.name) ?? [])
        .map((s) => {
          const spec = plan.sources[s.name]!;
          return {
            name: s.name,
            version: spec.version,
            file: s.file,
            sha256: s.sha256,
            urls: spec.urls,
            license: spec.license,
            ...(s.signature ? { signature: s.signature } : {}),
          };
        });
    });
  },
};
