// The formats made from the toolchain (outputs/formats.ts entries with
// from: 'tools'), one stage per arch and format, whatever the image sets.
// Named inputs: the format, the epoch, the tools key, the arch. Ships each
// as an artifact, first in its arch's list (distOrder).
import { outputFormats } from '../../outputs/formats.ts';
import { toolsCacheFiles } from '../../cache/tools-cache.ts';
import type { FileValue } from '../../model/step-outputs.ts';
import { node } from '../keys.ts';
import { ref } from '../stage.ts';
import { cached, result, sizeOf, type ForArch, type StageKind } from './kind.ts';

const toolFormats = () => Object.entries(outputFormats).filter(([, f]) => f.from === 'tools');
export const toolFormatOut = (c: ForArch, format: string) => ref<FileValue>(`format/${c.arch}/${format}`);

export const toolFormat: StageKind = {
  name: 'tool-formats',
  scope: 'arch',
  // manifest.json lists an arch's toolchain tarball before its kernel files, as it did before kinds.
  distOrder: -1,
  expand(c) {
    const { plan, arch, sde } = c;
    for (const [format, f] of toolFormats()) {
      const out = toolFormatOut(c, format);
      const n = node(out.id, [
        ['format', format],
        ['source-date-epoch', sde],
        ['tools', c.graph.tools.key],
        ['arch', arch],
      ]);
      c.add(out, {
        ...n,
        deps: [c.graph.tools.id],
        title: `${arch}: ${format}`,
        cost: 5,
        storeKey: n.key,
        present: async (p) => p.store.has(n.key),
        run: async (env) => {
          const e = await env.store.getOrBuild(n.key, async () =>
            env.store.put(
              { key: n.key, kind: format, arch },
              await f.build({ arch, sourceDateEpoch: Number(sde), toolchain: await toolsCacheFiles(env.toolsCacheRoot, `opt/osforge/${arch}`) }),
            ),
          );
          return result({ path: e.path, sha256: e.meta.outputSha256! } satisfies FileValue, e.hit, `${arch}: ${format}${cached(e.hit)}`, await sizeOf(e.path));
        },
      });
    }
    c.ship(async (_env, deps, parts) => {
      for (const [format, f] of toolFormats()) {
        const file = deps.get(toolFormatOut(c, format));
        parts.artifacts.push({ path: f.fileName(plan.name, plan.version, arch), arch, kind: f.kind, file: file.path, sha256: file.sha256 });
      }
    });
  },
};
