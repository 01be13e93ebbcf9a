// Writes a docker-archive (the `docker save` layout). `docker import
// --platform` is ignored by Docker 20.10, so an archive we write ourselves is
// how an arm64 image gets arm64 metadata; and since the image ID is
// sha256(config), identical layers and config give an identical ID.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import { sha256 } from '../util/hash.ts';
import { archInfo, type Arch } from '../model/arch.ts';

export type { Arch };

export interface ImageConfigInput {
  arch: Arch;
  /** sha256 of each uncompressed layer tar (the diff_ids), bottom first. */
  layerDigests: string[];
  createdEpoch: number;
  env?: string[];
  cmd?: string[];
  labels?: Record<string, string>;
}

export interface ArchiveLayer {
  path: string;
  digest: string;
}

export function imageConfigJson(input: ImageConfigInput): string {
  const created = new Date(input.createdEpoch * 1000).toISOString();
  const config = {
    architecture: input.arch,
    ...(archInfo(input.arch).ociVariant ? { variant: archInfo(input.arch).ociVariant } : {}),
    os: 'linux',
    created,
    config: {
      Env: input.env ?? ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      Cmd: input.cmd ?? ['/bin/sh'],
      Labels: input.labels ?? {},
    },
    rootfs: { type: 'layers', diff_ids: input.layerDigests.map((d) => `sha256:${d}`) },
    history: input.layerDigests.map(() => ({ created, created_by: 'osforge docker-archive' })),
  };
  return JSON.stringify(config);
}

/** Streams a docker-archive of `layers` (uncompressed tars). Returns the stream and the image ID. */
export async function dockerArchive(
  layers: ArchiveLayer[],
  tag: string,
  input: Omit<ImageConfigInput, 'layerDigests'>,
): Promise<{ stream: Readable; imageId: string }> {
  const configJson = imageConfigJson({ ...input, layerDigests: layers.map((l) => l.digest) });
  const configDigest = sha256(configJson);
  const manifest = JSON.stringify([{ Config: `${configDigest}.json`, RepoTags: [tag], Layers: layers.map((l) => `${l.digest}/layer.tar`) }]);
  const sizes = await Promise.all(layers.map(async (l) => (await stat(l.path)).size));
  const pack = tarStream.pack();
  const mtime = new Date(input.createdEpoch * 1000);
  const add = (name: string, body: string) => pack.entry({ name, mtime, mode: 0o644 }, body);
  void (async () => {
    try {
      add(`${configDigest}.json`, configJson);
      for (const [i, layer] of layers.entries()) {
        pack.entry({ name: `${layer.digest}/`, type: 'directory', mtime, mode: 0o755 });
        await new Promise<void>((resolve, reject) => {
          const entry = pack.entry({ name: `${layer.digest}/layer.tar`, size: sizes[i], mtime, mode: 0o644 }, (err) => (err ? reject(err) : resolve()));
          createReadStream(layer.path).on('error', reject).pipe(entry);
        });
      }
      add('manifest.json', manifest);
      pack.finalize();
    } catch (err) {
      pack.destroy(err as Error);
    }
  })();
  return { stream: Readable.from(pack), imageId: `sha256:${configDigest}` };
}
