// The only module that imports dockerode. Everything else talks to the
// engine through `Engine`, so tests of pure logic never need Docker.
import Docker from 'dockerode';
import type { Readable } from 'node:stream';
import { PassThrough } from 'node:stream';
import { OsforgeError } from '../errors.ts';
import type { Arch } from './docker-archive.ts';

export const LABEL_RUN = 'osforge.run';
export const LABEL_STAGE = 'osforge.stage';

export interface RunSpec {
  image: string;
  cmd: string[];
  env?: Record<string, string>;
  /** 'none' for hermetic build steps; 'bridge' only for fetch steps. */
  network: 'none' | 'bridge';
  labels: Record<string, string>;
  platform?: Arch;
  workdir?: string;
  /** Tar archives to extract into the container before it starts, keyed by destination dir. */
  inputs?: { dir: string; tar: Buffer }[];
  /** Paths whose contents are read back (as tar) after a successful exit. */
  outputs?: string[];
  onLog?: (line: string) => void;
}

export interface RunResult {
  exitCode: number;
  log: string[];
  outputs: Map<string, Buffer>;
}

export interface BuildSpec {
  context: Buffer | Readable;
  tag: string;
  labels?: Record<string, string>;
  buildArgs?: Record<string, string>;
  platform?: Arch;
  /** Network mode for RUN steps; the tools image needs apt. */
  network?: 'none' | 'bridge' | 'host';
  /** Ignore Docker's layer cache (a forced rebuild must really rebuild). */
  nocache?: boolean;
  onLog?: (line: string) => void;
}

export interface ImageInfo { id: string; architecture: string; labels: Record<string, string>; /** diff_ids without the sha256: prefix. */ layers: string[] }

export class Engine {
  readonly docker: Docker;
  private closed = false;

  constructor(docker = new Docker()) {
    this.docker = docker;
  }

  /** Fails with a clear message when no engine answers (DOCKER_HOST is honoured by dockerode). */
  async ping(): Promise<void> {
    try {
      await this.docker.ping();
    } catch (err) {
      const where = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
      throw new OsforgeError('ENGINE_UNAVAILABLE', `no Docker engine answers at ${where}`, {
        hint: 'run `make setup` (installs docker.io and starts dockerd), or set DOCKER_HOST to a running engine',
      }, { cause: err });
    }
  }

  async inspectImage(ref: string): Promise<ImageInfo | null> {
    try {
      const info = await this.docker.getImage(ref).inspect();
      return { id: info.Id, architecture: info.Architecture, labels: info.Config?.Labels ?? {}, layers: (info.RootFS?.Layers ?? []).map((l) => l.replace(/^sha256:/, '')) };
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return null;
      throw err;
    }
  }

  async tagImage(id: string, ref: string): Promise<void> {
    const [repo, tag] = splitRef(ref);
    await this.docker.getImage(id).tag({ repo, tag });
  }

  /** Builds an image; an `errorDetail` line is a failure even though the HTTP stream succeeded. */
  async buildImage(spec: BuildSpec): Promise<string> {
    const stream = await this.docker.buildImage(spec.context as unknown as NodeJS.ReadableStream, {
      t: spec.tag,
      labels: spec.labels,
      buildargs: spec.buildArgs,
      platform: spec.platform ? `linux/${spec.platform}` : undefined,
      networkmode: spec.network ?? 'bridge',
      rm: true,
      forcerm: true,
      nocache: spec.nocache ?? false,
    });
    const log: string[] = [];
    let imageId: string | undefined;
    await readJsonLines(stream, (msg) => {
      if (msg.errorDetail || msg.error) {
        throw new OsforgeError('IMAGE_BUILD', `building ${spec.tag}: ${String(msg.errorDetail?.message ?? msg.error).trim()}`, {
          image: spec.tag, logTail: log.slice(-40),
        });
      }
      if (typeof msg.stream === 'string') {
        for (const line of msg.stream.split('\n')) {
          if (!line) continue;
          log.push(line);
          spec.onLog?.(line);
        }
      }
      if (msg.aux?.ID) imageId = msg.aux.ID;
    });
    const info = await this.inspectImage(spec.tag);
    if (!info) throw new OsforgeError('IMAGE_BUILD', `building ${spec.tag}: engine reported success but the image is missing`, { logTail: log.slice(-40) });
    return imageId ?? info.id;
  }

  /** Loads a docker-archive and fails on an error line, like buildImage. */
  async loadImage(archive: Readable): Promise<void> {
    const stream = await this.docker.loadImage(archive as unknown as NodeJS.ReadableStream, { quiet: true });
    await readJsonLines(stream, (msg) => {
      if (msg.errorDetail || msg.error) {
        throw new OsforgeError('IMAGE_BUILD', `docker load: ${String(msg.errorDetail?.message ?? msg.error)}`);
      }
    });
  }

  /** Pulls `ref`, giving up after `timeoutMs` (a registry that does not answer quickly counts as absent). */
  async pullWithin(ref: string, timeoutMs: number): Promise<boolean> {
    const attempt = (async () => {
      const stream = await this.docker.pull(ref);
      await readJsonLines(stream, (msg) => {
        if (msg.errorDetail || msg.error) throw new Error(String(msg.errorDetail?.message ?? msg.error));
      });
      return true;
    })();
    const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref());
    try {
      return await Promise.race([attempt, timeout]);
    } catch {
      return false;
    } finally {
      attempt.catch(() => undefined);
    }
  }

  /** Runs one command in a fresh container, always removing it afterwards. */
  async run(spec: RunSpec): Promise<RunResult> {
    if (this.closed) throw new OsforgeError('INTERRUPTED', 'interrupted: not starting another container');
    const container = await this.docker.createContainer({
      Image: spec.image,
      Cmd: spec.cmd,
      Env: Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`),
      Labels: spec.labels,
      WorkingDir: spec.workdir,
      Tty: false,
      HostConfig: { NetworkMode: spec.network, AutoRemove: false },
      ...(spec.platform ? { platform: `linux/${spec.platform}` } : {}),
    } as Docker.ContainerCreateOptions);
    const log: string[] = [];
    try {
      // Created while a shutdown was listing containers: it must not survive either.
      if (this.closed) throw new OsforgeError('INTERRUPTED', 'interrupted: not starting another container');
      for (const input of spec.inputs ?? []) await container.putArchive(input.tar, { path: input.dir });
      const attach = await container.attach({ stream: true, stdout: true, stderr: true, logs: true });
      const lines = new PassThrough();
      container.modem.demuxStream(attach, lines, lines);
      let pending = '';
      lines.on('data', (chunk: Buffer) => {
        pending += chunk.toString('utf8');
        const parts = pending.split('\n');
        pending = parts.pop() ?? '';
        for (const l of parts) {
          log.push(l);
          spec.onLog?.(l);
        }
      });
      await container.start();
      const { StatusCode } = (await container.wait()) as { StatusCode: number };
      await new Promise((r) => setImmediate(r));
      if (pending) { log.push(pending); spec.onLog?.(pending); }
      const outputs = new Map<string, Buffer>();
      if (StatusCode === 0) {
        for (const path of spec.outputs ?? []) outputs.set(path, await readStream(await container.getArchive({ path })));
      }
      return { exitCode: StatusCode, log, outputs };
    } finally {
      await container.remove({ force: true, v: true }).catch(() => undefined);
    }
  }

  /** Reads `path` out of an image as a tar, without starting anything (works for FROM scratch images). */
  async exportPath(image: string, path: string): Promise<Buffer> {
    const container = await this.docker.createContainer({ Image: image, Cmd: ['/nonexistent'], Labels: { [LABEL_STAGE]: 'export' } });
    try {
      return await readStream(await container.getArchive({ path }));
    } finally {
      await container.remove({ force: true }).catch(() => undefined);
    }
  }

  /**
   * Stops new containers from being created, then removes every container of
   * the run: used on Ctrl-C, so nothing started during the cleanup survives it.
   */
  async shutdown(runLabel: string): Promise<number> {
    this.closed = true;
    return this.removeByLabel(runLabel);
  }

  /** Removes every container carrying `label` (e.g. `osforge.run=<id>`), used after failures and Ctrl-C. */
  async removeByLabel(label: string): Promise<number> {
    const list = await this.docker.listContainers({ all: true, filters: { label: [label] } });
    await Promise.all(list.map((c) => this.docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined)));
    return list.length;
  }
}

interface ProgressMessage {
  stream?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string };
}

async function readJsonLines(stream: NodeJS.ReadableStream, onMessage: (m: ProgressMessage) => void): Promise<void> {
  let pending = '';
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) onMessage(JSON.parse(line) as ProgressMessage);
  }
  if (pending.trim()) onMessage(JSON.parse(pending) as ProgressMessage);
}

async function readStream(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

function splitRef(ref: string): [string, string] {
  const i = ref.lastIndexOf(':');
  return i > ref.lastIndexOf('/') ? [ref.slice(0, i), ref.slice(i + 1)] : [ref, 'latest'];
}
