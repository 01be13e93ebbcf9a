// The rootfs (per arch and image set): the set's packages merged into one
// root filesystem, stored gzipped: it is the rootfs artifact, and the image
// steps' input. Named inputs: the arch, the epoch, every package's key, and
// the profile for a profile's set (so the default set keeps its key). Ships
// nothing itself (kinds/rootfs-formats.ts ships the artifact).
import { PassThrough } from 'node:stream';
import { chain, gzipStream, mergeLayers } from '../../util/tar-stream.ts';
import type { RootfsValue } from '../../model/step-outputs.ts';
import { node, type StageNode } from '../keys.ts';
import { ref } from '../stage.ts';
import { cached, result, sizeOf, type ForSet, type StageKind } from './kind.ts';
import { packagesOf } from './stage2.ts';

export const rootfsOut = (c: ForSet) => ref<RootfsValue>(`rootfs/${c.arch}${c.sfx}`);

export const rootfsNode = (c: ForSet): StageNode =>
  node(rootfsOut(c).id, [
    ['arch', c.arch],
    ['source-date-epoch', c.sde],
    ...c.set.packages.map((id): [string, string] => [`package:${id}`, c.nodes.packages.get(id)!.key]),
    // Only for a profile, so the default set keeps its key (and two profiles alike still differ).
    ...(c.set.profile ? [['profile', c.set.profile] as [string, string]] : []),
  ]);

export const rootfs: StageKind = {
  name: 'rootfs',
  scope: 'set',
  expand(c) {
    const { arch, set, label, sde } = c;
    const n = rootfsNode(c);
    c.add(rootfsOut(c), {
      ...n,
      deps: set.packages.map((id) => c.nodes.packages.get(id)!.id),
      title: `rootfs ${arch}${label}`,
      cost: 10,
      storeKey: n.key,
      present: async (p) => p.store.has(n.key),
      run: async (env, deps) => {
        // The image steps need the uncompressed size up front (a tar header), so it is counted on the way in.
        let tarSize = 0;
        const count = new PassThrough();
        count.on('data', (chunk: Buffer) => {
          tarSize += chunk.length;
        });
        const e = await env.store.getOrBuild(n.key, () =>
          env.store.put(
            { key: n.key, kind: 'rootfs', arch },
            chain(
              mergeLayers(
                packagesOf(c, deps, set.packages).map((p) => p.path),
                Number(sde),
              ),
              count,
              gzipStream(),
            ),
            () => ({ tarSize }),
          ),
        );
        return result(
          { path: e.path, tarSize: e.meta.tarSize as number, key: n.key } satisfies RootfsValue,
          e.hit,
          `rootfs ${arch}${label}${cached(e.hit)}`,
          await sizeOf(e.path),
        );
      },
    });
  },
};
