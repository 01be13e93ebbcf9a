// The formats made from the rootfs (outputs/formats.ts entries with
// from: 'rootfs'), per arch, image set and format: the stored rootfs entry is
// the artifact itself. Named inputs: the format, the epoch, the rootfs key,
// the arch. Ships each as an artifact, tagged with the set's profile.
import { outputFormats } from '../../outputs/formats.ts';
import type { FileValue } from '../../model/step-outputs.ts';
import type { PendingArtifact } from '../../outputs/dist-writer.ts';
import { node } from '../keys.ts';
import { ref } from '../stage.ts';
import { result, sizeOf, type ForSet, type StageKind } from './kind.ts';
import { rootfsNode, rootfsOut } from './rootfs.ts';

const rootfsFormats = () => Object.entries(outputFormats).filter(([, f]) => f.from === 'rootfs');
export const rootfsFormatOut = (c: ForSet, format: string) => ref<FileValue>(`format/${c.arch}${c.sfx}/${format}`);

/** A profile's artifacts say which profile they are (the SBOM's CONTAINS reads it). */
export const profileTag =
  (c: ForSet) =>
  (a: PendingArtifact): PendingArtifact =>
    c.set.profile ? { ...a, extra: { ...(a.extra ?? {}), profile: c.set.profile } } : a;

export const rootfsFormat: StageKind = {
  name: 'rootfs-formats',
  scope: 'set',
  expand(c) {
    const { plan, arch, label, sde } = c;
    const rootfs = rootfsNode(c);
    for (const [format] of rootfsFormats()) {
      const out = rootfsFormatOut(c, format);
      const n = node(out.id, [
        ['format', format],
        ['source-date-epoch', sde],
        ['rootfs', rootfs.key],
        ['arch', arch],
      ]);
      c.add(out, {
        ...n,
        deps: [rootfs.id],
        title: `${arch}${label}: ${format}`,
        cost: 5,
        present: async (p) => p.store.has(rootfs.key),
        run: async (env, deps) => {
          const e = (await env.store.get(deps.get(rootfsOut(c)).key))!;
          return result(
            { path: e.path, sha256: e.meta.outputSha256! } satisfies FileValue,
            true,
            `${arch}${label}: ${format} (the rootfs entry)`,
            await sizeOf(e.path),
          );
        },
      });
    }
    c.ship(async (_env, deps, parts) => {
      for (const [format, f] of rootfsFormats()) {
        const file = deps.get(rootfsFormatOut(c, format));
        parts.artifacts.push(profileTag(c)({ path: f.fileName(c.setName, plan.version, arch), arch, kind: f.kind, file: file.path, sha256: file.sha256 }));
      }
    });
  },
};
