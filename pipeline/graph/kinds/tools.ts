// The tools image: the cross toolchains (musl, per arch) compiled in the
// buildenv, or taken from a valid, trusted tools-cache/. It takes the whole
// job budget. A warm no-op must still prove the tools cache valid. Ships its
// ref, id and key in manifest.json (images.tools, toolsCache), and the cache's
// outcome in report.json.
import { ensureTools, toolsCacheTrust, toolsEnv, type ToolsResult } from '../../steps/tools.ts';
import { validateToolsCache } from '../../cache/tools-cache.ts';
import { ref } from '../stage.ts';
import { result, type ForBuild, type StageKind } from './kind.ts';
import { buildenvOut } from './buildenv.ts';
import { fetched, sourcesOut } from './sources.ts';

export const toolsOut = (c: ForBuild) => ref<ToolsResult>(c.graph.tools.id);

export const tools: StageKind = {
  name: 'tools',
  scope: 'build',
  expand(c) {
    const { plan, graph } = c;
    const n = graph.tools;
    const out = toolsOut(c);
    c.add(out, {
      key: n.key,
      inputs: n.inputs,
      deps: [graph.buildenv.id, sourcesOut.id],
      title: 'Tools image',
      weight: c.budget,
      cost: 600,
      provenOnNoop: true,
      present: async (p) => !toolsEnv().skip && (await validateToolsCache(p.toolsCacheRoot, n.key, await toolsCacheTrust(p.store, { sign: false }))).ok,
      run: async (env, deps) => {
        const t = await ensureTools({
          engine: env.engine,
          plan,
          key: n.key,
          buildenvRef: deps.get(buildenvOut(c)).ref,
          musl: fetched(deps).get(plan.toolchainSource)!,
          cacheRoot: env.toolsCacheRoot,
          sourceDateEpoch: plan.base.sourceDateEpoch,
          env: toolsEnv(),
          log: (l) => env.progress(n.id, l),
          store: env.store,
          runId: env.runId,
          logDir: env.logDir,
          trust: await toolsCacheTrust(env.store, { sign: true }),
        });
        return result(t, t.hit, t.hit ? `Tools image: tools cache hit (${t.key.slice(0, 12)})` : `Tools image: compiled from source (${t.reason})`);
      },
      report: (done) => {
        const t = done.maybe(out);
        return t && { toolsCache: { key: t.key, hit: t.hit, reason: t.reason } };
      },
    });
    c.ship(async (_env, deps, parts) => {
      const t = deps.get(out);
      parts.images.tools = { ref: t.ref, id: t.id, inputHash: t.key };
      parts.toolsCache = { key: t.key };
    });
  },
};
