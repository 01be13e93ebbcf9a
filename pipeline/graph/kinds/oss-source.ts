// oss_source.tgz: the source of everything dist/ ships (outputs/legal-info.ts),
// one stored file. Named inputs: every component's source and recipe
// (legalInfoInputs). Ships the oss_source.tgz artifact, after every arch's.
import { legalComponents, legalInfoArchive, legalInfoInputs } from '../../outputs/legal-info.ts';
import type { FileValue } from '../../model/step-outputs.ts';
import { node } from '../keys.ts';
import { ref } from '../stage.ts';
import { cached, result, sizeOf, type StageKind } from './kind.ts';
import { fetched, sourcesOut } from './sources.ts';

export const ossOut = ref<FileValue>('oss-source');

export const ossSource: StageKind = {
  name: 'oss-source',
  scope: 'build',
  expand(c) {
    const { plan, sde } = c;
    const legal = legalComponents(plan);
    const n = node(ossOut.id, legalInfoInputs(plan, legal, sde));
    c.add(ossOut, {
      ...n,
      deps: [sourcesOut.id],
      title: 'oss_source.tgz',
      cost: 10,
      storeKey: n.key,
      present: async (p) => p.store.has(n.key),
      run: async (env, deps) => {
        const e = await env.store.getOrBuild(n.key, async () =>
          env.store.put({ key: n.key, kind: 'oss-source' }, await legalInfoArchive(plan, legal, fetched(deps), Number(sde))),
        );
        return result(
          { path: e.path, sha256: e.meta.outputSha256! } satisfies FileValue,
          e.hit,
          `oss_source.tgz: ${legal.length} components${cached(e.hit)}`,
          await sizeOf(e.path),
        );
      },
    });
    c.ship(async (_env, deps, parts) => {
      const oss = deps.get(ossOut);
      parts.artifacts.push({ path: 'oss_source.tgz', arch: 'any', kind: 'oss-source', file: oss.path, sha256: oss.sha256 });
    });
  },
};
