// The Docker implementation of `Engine` (engine.ts). It and connect.ts (which
// creates the client it wraps) are the only modules that import dockerode.
import Docker from 'dockerode';
import { createWriteStream } from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { OsforgeError } from '../errors.ts';
import {
  LABEL_ROOTFS,
  LABEL_RUN,
  LABEL_STAGE,
  type BuildSpec,
  type Engine,
  type ImageInfo,
  type PreparedStep,
  type Reaped,
  type RunResult,
  type RunSpec,
} from './engine.ts';
import { currentOwner, ownerAlive, ownerFromLabels, ownerLabels, type Owner } from '../util/owner.ts';
import { assertNoSigningSecret } from './secrets.ts';
import { settings } from '../settings.ts';

export { LABEL_ROOTFS, LABEL_RUN, LABEL_STAGE };
export type { BuildSpec, Engine, ImageInfo, Reaped, RunResult, RunSpec };

/**
 * Every step runs under this as PID 1 with its stdin attached to osforge.
 * The command starts on the first line osforge writes (go(), after any late
 * inputs are in). When osforge dies, for any reason, Docker closes that
 * stdin; a held step exits, and for a running one the watcher
 * then kills everything else in the container, PID 1's wait returns and the
 * container exits. Only shell builtins, so it works in a busybox rootfs and
 * under binfmt (the kill is one syscall, passed through by QEMU). fd 3 keeps
 * the real stdin: a background list would otherwise read /dev/null.
 */
export const STEP_WRAPPER = 'exec 3<&0; read -r _ <&3 || exit 137; "$@" </dev/null & step=$!; { while read -r _; do :; done; kill -9 -1; } <&3 & wait "$step"';

/** How often a watched engine is pinged, and how long a ping may take before the engine counts as gone. */
const PING_EVERY_MS = 2000;
const PING_TIMEOUT_MS = 8000;
/** Lines of a step's output kept in memory for markers and error tails. */
const LOG_TAIL = 2000;

export class DockerEngine implements Engine {
  readonly docker: Docker;
  readonly owner: Owner;
  private closed = false;
  /** Set once a watched engine stopped answering; every pending and later call rejects with it. */
  private goneReason: string | null = null;
  private readonly waiters = new Set<() => void>();
  private stopWatch: (() => void) | null = null;

  private readonly name?: string;

  /** `name`: how a builder engine (builders.ts) is named in messages; the default engine is named by $DOCKER_HOST. */
  constructor(docker: Docker, owner: Owner = currentOwner(), name?: string) {
    this.docker = docker;
    this.owner = owner;
    this.name = name;
  }

  get where(): string {
    return this.name ?? settings().dockerHost ?? 'unix:///var/run/docker.sock';
  }

  /** Fails with a clear message when no engine answers (DOCKER_HOST is honoured by dockerode). */
  async ping(timeoutMs = PING_TIMEOUT_MS): Promise<void> {
    try {
      await withTimeout(this.docker.ping(), timeoutMs, `no answer within ${timeoutMs / 1000} s`);
    } catch (err) {
      throw new OsforgeError(
        'ENGINE_UNAVAILABLE',
        `no Docker engine answers at ${this.where}`,
        {
          hint: 'run `make setup` (installs docker.io and starts dockerd), or set DOCKER_HOST to a running engine',
        },
        { cause: err },
      );
    }
  }

  /**
   * Watches the engine for the rest of a run: its event stream closing (a
   * dockerd that died or restarted) or a ping failing marks it gone, which
   * rejects every pending call. Without this, a dead engine leaves dockerode
   * promises that never settle and Node exits 0 with nothing done.
   */
  watch(): void {
    if (this.stopWatch) return;
    let stopped = false;
    let events: (NodeJS.ReadableStream & { destroy?: () => void }) | undefined;
    this.docker.getEvents({ filters: { type: ['daemon'] } }).then(
      (s) => {
        events = s as typeof events;
        if (stopped) {
          events!.destroy?.();
          return;
        }
        const lost = () => {
          if (!stopped) this.markGone('its event stream closed (dockerd stopped or restarted)');
        };
        s.on('end', lost);
        s.on('close', lost);
        s.on('error', lost);
        s.resume();
      },
      (err: Error) => this.markGone(`its event stream could not be opened (${err.message})`),
    );
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      withTimeout(this.docker.ping(), PING_TIMEOUT_MS, `no answer within ${PING_TIMEOUT_MS / 1000} s`)
        .catch((err: Error) => this.markGone(`a ping failed (${err.message})`))
        .finally(() => {
          busy = false;
        });
    }, PING_EVERY_MS);
    timer.unref();
    this.stopWatch = () => {
      stopped = true;
      clearInterval(timer);
      events?.destroy?.();
    };
  }

  unwatch(): void {
    this.stopWatch?.();
    this.stopWatch = null;
  }

  get isGone(): boolean {
    return this.goneReason !== null;
  }

  private markGone(reason: string): void {
    if (this.goneReason) return;
    this.goneReason = reason;
    for (const w of [...this.waiters]) w();
  }

  /** The error for a call that was `what` when the engine went away. */
  engineGone(what: string): OsforgeError {
    return new OsforgeError('ENGINE_UNAVAILABLE', `the Docker engine at ${this.where} went away while ${what}: ${this.goneReason ?? 'it stopped answering'}`, {
      hint: 'check the engine (`docker info`, the dockerd log), then run osforge dist again: finished stages are cached',
    });
  }

  /** Settles with `p`, or rejects as soon as the engine is known to be gone. */
  private guard<T>(p: Promise<T>, what: string): Promise<T> {
    if (this.goneReason) {
      p.catch(() => undefined);
      return Promise.reject(this.engineGone(what));
    }
    return new Promise<T>((resolve, reject) => {
      const onGone = () => reject(this.engineGone(what));
      this.waiters.add(onGone);
      p.then(
        (v) => {
          this.waiters.delete(onGone);
          resolve(v);
        },
        (e: unknown) => {
          this.waiters.delete(onGone);
          if (this.goneReason) {
            reject(this.engineGone(what));
            return;
          }
          // A dropped connection is the engine's failure, not the call's, when the engine no longer answers.
          if (!isConnectionError(e)) {
            reject(e);
            return;
          }
          withTimeout(this.docker.ping(), 3000, 'no answer within 3 s').then(
            () => reject(e),
            (pingErr: Error) => {
              this.markGone(`${(e as Error).message}; then ${pingErr.message}`);
              reject(this.engineGone(what));
            },
          );
        },
      );
    });
  }

  async inspectImage(ref: string): Promise<ImageInfo | null> {
    try {
      const info = await this.guard(this.docker.getImage(ref).inspect(), `inspecting image ${ref}`);
      return {
        id: info.Id,
        architecture: info.Architecture,
        labels: info.Config?.Labels ?? {},
        layers: (info.RootFS?.Layers ?? []).map((l) => l.replace(/^sha256:/, '')),
      };
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return null;
      throw err;
    }
  }

  async tagImage(id: string, ref: string): Promise<void> {
    const [repo, tag] = splitRef(ref);
    await this.guard(this.docker.getImage(id).tag({ repo, tag }), `tagging ${ref}`);
  }

  /** Builds an image; an `errorDetail` line is a failure even though the HTTP stream succeeded. */
  async buildImage(spec: BuildSpec): Promise<string> {
    return this.guard(this.buildImageUnguarded(spec), `building image ${spec.tag}`);
  }

  private async buildImageUnguarded(spec: BuildSpec): Promise<string> {
    assertNoSigningSecret(
      { env: spec.buildArgs, inputs: Buffer.isBuffer(spec.context) ? [{ dir: 'the build context', tar: spec.context }] : [] },
      `building image ${spec.tag}`,
    );
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
          image: spec.tag,
          logTail: log.slice(-40),
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
    await this.guard(
      (async () => {
        const stream = await this.docker.loadImage(archive as unknown as NodeJS.ReadableStream, { quiet: true });
        await readJsonLines(stream, (msg) => {
          if (msg.errorDetail || msg.error) {
            throw new OsforgeError('IMAGE_BUILD', `docker load: ${String(msg.errorDetail?.message ?? msg.error)}`);
          }
        });
      })(),
      'loading an image',
    );
  }

  async saveImage(ref: string): Promise<Readable> {
    return this.guard(this.docker.getImage(ref).get(), `saving image ${ref}`) as Promise<Readable>;
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

  /**
   * Runs one command in a fresh container, always removing it afterwards.
   * The container carries the owner's labels and runs under STEP_WRAPPER
   * with osforge holding its stdin, so it cannot outlive this process.
   */
  async run(spec: RunSpec): Promise<RunResult> {
    return (await this.prepare(spec)).go([], spec.onStart);
  }

  /**
   * Creates and starts a step's container with `spec.inputs` in, holding the
   * command until go(): the container start, the slowest part of a step's
   * launch, happens before its late inputs (dependency outputs) exist.
   */
  async prepare(spec: RunSpec): Promise<PreparedStep> {
    const what = `running ${spec.labels[LABEL_STAGE] ?? 'a step'}${spec.labels['osforge.arch'] ? ` (${spec.labels['osforge.arch']})` : ''}`;
    if (this.closed) throw new OsforgeError('INTERRUPTED', 'interrupted: not starting another container');
    // The one place containers are made: no bind mounts exist in a spec, and no key may come in by env or input.
    assertNoSigningSecret(spec, what);
    const container = await this.guard(
      this.docker.createContainer({
        Image: spec.image,
        Entrypoint: ['/bin/sh', '-c', STEP_WRAPPER, 'osforge-step'],
        Cmd: spec.cmd,
        Env: Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`),
        Labels: { ...spec.labels, ...ownerLabels(this.owner) },
        WorkingDir: spec.workdir,
        Tty: false,
        OpenStdin: true,
        StdinOnce: true,
        AttachStdin: true,
        AttachStdout: true,
        AttachStderr: true,
        HostConfig: { NetworkMode: spec.network, AutoRemove: false, ...(spec.cpus ? { NanoCpus: Math.round(spec.cpus * 1e9) } : {}) },
        ...(spec.platform ? { platform: `linux/${spec.platform}` } : {}),
      } as Docker.ContainerCreateOptions),
      what,
    );
    const log: string[] = [];
    let pending = '';
    let attach: (NodeJS.ReadWriteStream & { destroy?: () => void }) | undefined;
    const cleanup = async () => {
      attach?.destroy?.();
      await withTimeout(container.remove({ force: true, v: true }), PING_TIMEOUT_MS, 'timeout').catch(() => undefined);
    };
    const putInputs = async (inputs: RunSpec['inputs']) => {
      for (const input of inputs ?? []) {
        const tar = Buffer.isBuffer(input.tar) ? input.tar : input.tar();
        await this.guard(container.putArchive(tar as unknown as NodeJS.ReadableStream, { path: input.dir }), what);
      }
    };
    try {
      // Created while a shutdown was listing containers: it must not survive either.
      if (this.closed) throw new OsforgeError('INTERRUPTED', 'interrupted: not starting another container');
      await putInputs(spec.inputs);
      // stdin stays open for as long as the step runs: one line releases the command, its EOF is the kill switch.
      attach = (await this.guard(container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true }), what)) as typeof attach;
      const lines = new PassThrough();
      container.modem.demuxStream(attach!, lines, lines);
      lines.on('data', (chunk: Buffer) => {
        pending += chunk.toString('utf8');
        const parts = pending.split('\n');
        pending = parts.pop() ?? '';
        for (const l of parts) {
          log.push(l);
          spec.onLog?.(l);
        }
        // Only a tail is kept: a kernel build prints more than memory should hold.
        if (log.length > LOG_TAIL * 2) log.splice(0, log.length - LOG_TAIL);
      });
      await this.guard(container.start(), what);
    } catch (err) {
      await cleanup();
      throw err;
    }
    let used = false;
    return {
      go: async (late, onStart) => {
        if (used) throw new Error('internal: a prepared step runs once');
        used = true;
        try {
          if (this.closed) throw new OsforgeError('INTERRUPTED', 'interrupted: not starting another step');
          await putInputs(late);
          attach!.write('go\n');
          onStart?.();
          const { StatusCode } = (await this.guard(container.wait(), what)) as { StatusCode: number };
          await new Promise((r) => setImmediate(r));
          if (pending) {
            log.push(pending);
            spec.onLog?.(pending);
          }
          // A dockerd shutting down kills its containers first, and still answers
          // while it does: a step killed by a signal (exit > 128) waits to see
          // whether the engine goes away before it counts as the step's failure.
          if (StatusCode !== 0 && !(await this.answers(StatusCode > 128 ? 20_000 : 1000))) throw this.engineGone(what);
          const outputs = new Map<string, Buffer>();
          if (StatusCode === 0) {
            for (const path of spec.outputs ?? []) outputs.set(path, await this.guard(container.getArchive({ path }).then(readStream), what));
            for (const o of spec.outputFiles ?? []) {
              await this.guard(
                container.getArchive({ path: o.path }).then((s) => pipeline(s, createWriteStream(o.file))),
                what,
              );
            }
          }
          return { exitCode: StatusCode, log, outputs };
        } finally {
          await cleanup();
        }
      },
      discard: async () => {
        used = true;
        await cleanup();
      },
    };
  }

  /** Whether the engine still answers throughout `graceMs` after a failure (a stopping dockerd soon no longer does). */
  private async answers(graceMs: number): Promise<boolean> {
    const end = Date.now() + graceMs;
    do {
      await new Promise((r) => setTimeout(r, Math.min(1000, graceMs)));
      if (this.goneReason) return false;
      if (
        !(await withTimeout(this.docker.ping(), 3000, 'timeout').then(
          () => true,
          () => false,
        ))
      )
        return false;
    } while (Date.now() < end);
    return !this.goneReason;
  }

  async removeImage(ref: string): Promise<void> {
    await this.docker
      .getImage(ref)
      .remove({ force: true })
      .catch(() => undefined);
  }

  /** Reads `path` out of an image as a tar, without starting anything (works for FROM scratch images). */
  async exportPath(image: string, path: string): Promise<Buffer> {
    const container = await this.guard(
      this.docker.createContainer({
        Image: image,
        Cmd: ['/nonexistent'],
        Labels: { [LABEL_STAGE]: 'export', ...ownerLabels(this.owner) },
      }),
      `exporting ${path} from ${image}`,
    );
    try {
      return await this.guard(container.getArchive({ path }).then(readStream), `exporting ${path} from ${image}`);
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
    const list = await withTimeout(
      this.docker.listContainers({ all: true, filters: { label: [label] } }),
      PING_TIMEOUT_MS,
      `listing containers at ${this.where} timed out`,
    );
    await Promise.all(
      list.map((c) =>
        this.docker
          .getContainer(c.Id)
          .remove({ force: true, v: true })
          .catch(() => undefined),
      ),
    );
    return list.length;
  }

  /**
   * Removes what runs whose owner is gone left behind: their containers
   * (owner not alive on this boot, or labelled on another boot) and the
   * dangling images of their interrupted builds. Containers of live runs,
   * from any state dir, and containers without owner labels are left alone.
   */
  async reapOrphans(alive: (o: Owner) => boolean = ownerAlive): Promise<Reaped> {
    const list = await withTimeout(this.docker.listContainers({ all: true, filters: { label: [LABEL_RUN] } }), PING_TIMEOUT_MS, 'listing containers timed out');
    const exported = await withTimeout(
      this.docker.listContainers({ all: true, filters: { label: [`${LABEL_STAGE}=export`] } }),
      PING_TIMEOUT_MS,
      'listing containers timed out',
    );
    const dead = [...list, ...exported].filter((c) => {
      const o = ownerFromLabels(c.Labels ?? {});
      return o !== null && !alive(o);
    });
    await Promise.all(
      dead.map((c) =>
        this.docker
          .getContainer(c.Id)
          .remove({ force: true, v: true })
          .catch(() => undefined),
      ),
    );
    // A running build (a container from an osforge image with no run label) may be about to use a dangling image.
    const building = (await this.docker.listContainers({ filters: { label: [LABEL_ROOTFS] } })).filter((c) => !c.Labels?.[LABEL_RUN]);
    let images = 0;
    if (building.length === 0) {
      const dangling = await this.docker.listImages({ filters: { dangling: ['true'], label: [LABEL_ROOTFS] } });
      for (const img of dangling) {
        // Without force: an image some container still uses stays.
        if (
          await this.docker
            .getImage(img.Id)
            .remove()
            .then(
              () => true,
              () => false,
            )
        )
          images++;
      }
    }
    return { containers: new Set(dead.map((c) => c.Id)).size, images };
  }
}

function isConnectionError(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return (
    ['ECONNRESET', 'ECONNREFUSED', 'ENOENT', 'EPIPE', 'ECONNABORTED', 'ETIMEDOUT'].includes(code ?? '') ||
    /socket hang up|aborted/.test((e as Error)?.message ?? '')
  );
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
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
