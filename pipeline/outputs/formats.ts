// One entry per artifact format (LinuxKit's outFuns model). Each takes the
// assembled inputs for one arch and returns the artifact's bytes; later
// formats (iso, raw, qcow2) add entries here.
import type { Arch } from '../plan/types.ts';
import { gzip, packEntries, type TarEntry } from '../util/tar.ts';

export interface ArchOutputInput {
  arch: Arch;
  version: string;
  name: string;
  sourceDateEpoch: number;
  rootfs: TarEntry[];
  toolchain: TarEntry[];
}

export interface OutputFormat {
  kind: string;
  fileName(name: string, version: string, arch: Arch): string;
  build(input: ArchOutputInput): Promise<Buffer>;
}

export const outputFormats: Record<string, OutputFormat> = {
  'rootfs-tar': {
    kind: 'rootfs',
    fileName: (n, v, a) => `${n}-${v}-${a}-rootfs.tar.gz`,
    build: async (i) => gzip(await packEntries(i.rootfs, i.sourceDateEpoch)),
  },
  'toolchain-tar': {
    kind: 'toolchain',
    fileName: (n, v, a) => `${n}-${v}-${a}-toolchain.tar.gz`,
    build: async (i) => gzip(await packEntries(i.toolchain, i.sourceDateEpoch)),
  },
};

/** oss_source.tgz: every third-party source archive that went into the build. */
export async function ossSourceArchive(files: { file: string; data: Buffer }[], sourceDateEpoch: number): Promise<Buffer> {
  return gzip(await packEntries(files.map((f) => ({ path: `sources/${f.file}`, type: 'file' as const, mode: 0o644, data: f.data })), sourceDateEpoch));
}
