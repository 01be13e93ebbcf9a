// Builder image, assembled as a docker-archive of three deterministic
// layers: the buildenv root (mmdebstrap, locked versions), the tools layer
// from tools-cache/, and Buck2 when provisioned. Same inputs, same image ID.
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Engine } from '../engine/engine.ts';
import { dockerArchive, type ArchiveLayer } from '../engine/docker-archive.ts';
import { packEntries } from '../util/tar.ts';
import { sha256 } from '../util/hash.ts';
import type { Buck2 } from './buck2.ts';
import { toolsLayer } from './tools.ts';
import { stateTempDir } from './temp.ts';

export interface BuilderResult {
  ref: string;
  id: string;
  key: string;
  built: boolean;
}

export const BUILDER_PATH = 'PATH=/opt/osforge/buck2:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export async function ensureBuilder(opts: {
  engine: Engine;
  key: string;
  buildenvLayer: ArchiveLayer;
  toolsCacheRoot: string;
  buck2: Buck2 | null;
  sourceDateEpoch: number;
}): Promise<BuilderResult> {
  const { key } = opts;
  const ref = `osforge/builder:${key.slice(0, 12)}`;
  const existing = await opts.engine.inspectImage(ref);
  if (existing && existing.labels['osforge.builder.key'] === key) return { ref, id: existing.id, key, built: false };
  const work = await stateTempDir('osforge-builder');
  try {
    const layers: ArchiveLayer[] = [opts.buildenvLayer];
    const add = async (name: string, data: Buffer) => {
      await writeFile(join(work, name), data);
      layers.push({ path: join(work, name), digest: sha256(data) });
    };
    await add('tools.tar', await toolsLayer(opts.toolsCacheRoot, opts.sourceDateEpoch));
    if (opts.buck2) {
      await add(
        'buck2.tar',
        await packEntries([{ path: 'opt/osforge/buck2/buck2', type: 'file', mode: 0o755, data: opts.buck2.binary }], opts.sourceDateEpoch),
      );
    }
    const { stream, imageId } = await dockerArchive(layers, ref, {
      arch: 'amd64',
      createdEpoch: opts.sourceDateEpoch,
      cmd: ['/bin/sh'],
      env: [BUILDER_PATH],
      labels: { 'osforge.builder.key': key },
    });
    await opts.engine.loadImage(stream);
    return { ref, id: imageId, key, built: true };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
