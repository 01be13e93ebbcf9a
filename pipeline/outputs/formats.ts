// One entry per tarball format (LinuxKit's outFuns model): its file name,
// the stage it is made from, and how its bytes are streamed. Boot image
// formats live in images/formats.ts. compile.ts turns each entry into a
// stage per arch; nothing else lists formats.
import type { Readable } from 'node:stream';
import type { Arch } from '../model/arch.ts';
import { chain, gzipStream, packStream, type StreamEntry } from '../util/tar-stream.ts';

export interface ArchOutputInput {
  arch: Arch;
  sourceDateEpoch: number;
  /** The toolchain for `arch` from tools-cache/, data on disk. */
  toolchain: StreamEntry[];
}

export interface OutputFormat {
  kind: string;
  fileName(name: string, version: string, arch: Arch): string;
  /** 'rootfs': the stored rootfs entry is the artifact itself; 'tools': built from the toolchain. */
  from: 'rootfs' | 'tools';
  build(input: ArchOutputInput): Promise<Readable>;
}

export const outputFormats: Record<string, OutputFormat> = {
  'rootfs-tar': {
    kind: 'rootfs', from: 'rootfs',
    fileName: (n, v, a) => `${n}-${v}-${a}-rootfs.tar.gz`,
    build: async () => { throw new Error('internal: the rootfs artifact is the rootfs stage output'); },
  },
  'toolchain-tar': {
    kind: 'toolchain', from: 'tools',
    fileName: (n, v, a) => `${n}-${v}-${a}-toolchain.tar.gz`,
    build: async (i) => chain(packStream(i.toolchain, i.sourceDateEpoch), gzipStream()),
  },
};
