// `osforge dist`: parses its flags, takes the run's locks, removes what dead
// runs left, hands the build to app/dist.ts, handles ^C and prints the summary.
import { profileList } from '../plan/profiles.ts';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Command } from './types.ts';
import { paths, stateDir } from '../paths.ts';
import { formatExplanation } from '../cache/journal.ts';
import { acquireLocks } from '../cache/run-lock.ts';
import { removeLitter } from '../cache/litter.ts';
import { diskFullError, fsyncStats } from '../util/durable.ts';
import { OsforgeError } from '../errors.ts';
import { distTmpRoot } from '../outputs/dist-writer.ts';
import { openDistRun } from '../app/dist.ts';
import { settings } from '../settings.ts';

/** Where the lock of a dir that is replaced or removed wholesale lives: beside it, in .osforge-tmp/. */
function besideLock(dir: string): string {
  return join(dirname(dir), '.osforge-tmp', `${basename(dir)}.lock`);
}

export const distCommand: Command = {
  name: 'dist',
  summary: 'build BuckOS for every architecture and write dist/',
  help: `usage: osforge dist [--verbose] [--plain | --json] [--jobs N] [--explain] [--no-wait] [--use PKG:FLAGS]...
                   [--profile NAME[,NAME]...] [--builders linux/ARCH=ENDPOINT,...]
                   [--shared-cache DIR|URL]

Compiles the plan (images/) into a graph of stages: base, buildenv and
kernel build images, sources, the tools image (or tools-cache/), the builder
image, per architecture stage1/stage2/stage3, the kernel and GRUB (from
source; arm64 cross-compiled), the root filesystem, the tarballs and boot
image steps, and dist/. Each stage runs once its dependencies are done, in an isolated
container, as many at once as the job budget allows (most count as one job;
the toolchain, kernel and GRUB compiles take all). dist/ is written atomically.

options:
  -v, --verbose   stream container logs (always written to the log dir)
      --plain     plain progress lines instead of the task tree
                  (automatic without a TTY or with CI=true)
      --json      one JSON object per line on stdout for every stage start,
                  end and skip (stage, key, status, hit, durationMs, bytes,
                  waitedMs); the summary goes to stderr
  -j, --jobs N    job budget (default: the number of cores)
      --explain   print, for every stage, hit or miss and on a miss which
                  input changed (old -> new) or "no previous entry"
      --no-wait   fail at once (exit 1) when another run holds the state
                  dir, tools-cache/ or dist/, instead of waiting for it
      --use PKG:FLAGS
                  USE flags for one package, over the recipe's defaults, the
                  global "use" of buckos.json and images/package.use:
                  --use 'zlib:+static,-shared'; repeatable, several packages
                  separated by spaces; a flag the package lacks is an error
      --profile NAME[,NAME]...
                  build these profiles' image sets (images/profiles/NAME/)
                  instead of what buckos.json selects; each set's artifacts
                  are named <name>-NAME-<version>-<arch>-...; packages the
                  sets build alike are built once; repeatable
      --builders linux/ARCH=ENDPOINT[;jobs=N][;ca=F;cert=F;key=F][;insecure],...
                  run each arch's stage1/stage2/stage3 on that Docker engine
                  (also $OSFORGE_BUILDERS, or .buckconfig [buckos] builders):
                  ENDPOINT is local, a docker
                  context name, unix://PATH, ssh://USER@HOST or
                  tcp://HOST:PORT with ca/cert/key (mutual TLS, verified;
                  plain tcp only with ;insecure, warned every run); jobs=N
                  stages at once there (default 1). An arch without a builder
                  runs locally (binfmt). The builder image is shipped as a
                  docker-archive when the engine lacks it; a builder that
                  dies mid-step is dropped and its stage reruns locally
      --shared-cache DIR|URL
                  pull stage entries from this shared cache before building
                  them, and push what it lacks (also $OSFORGE_SHARED_CACHE);
                  entries must be signed: see OSFORGE_SHARED_CACHE_PUBKEY

A run locks its state dir, tools-cache/ and dist/; a second run on the same
ones waits and names the holder. On start it removes the containers and
dangling build images of runs whose process is gone, and their temp dirs.

When nothing changed since the last dist/ (same stage keys, same commit, and
dist/ files unchanged) it only checks, starts no container and rewrites nothing.

environment:
  SKIP_TOOLS_CACHE=1         rebuild the tools image from source (never a no-op)
  TOOLS_CACHE_HIT=true       CI restored tools-cache/; used only if it validates
  OSFORGE_TOOLS_CACHE_PUBKEY=<file>  cosign public key a tools-cache/ this
                             machine did not write must be signed by
                             (index.json.sig); else it is rebuilt
  OSFORGE_TOOLS_CACHE_KEY=<file>  cosign private key to sign the tools-cache/
                             this run writes (password: COSIGN_PASSWORD)
  BINARY_MIRROR=<url>        look stage2 packages up in this binary mirror
                             before building them (also [buckos] binary_mirror
                             with prefer_binaries = true in .buckconfig); used
                             only with a key, else ignored (one log line)
  BINARY_MIRROR_KEY=<file>   cosign public key the mirror's packages, metadata
                             and index must be signed by (also [buckos]
                             binary_mirror_key); origins go to report.json
  BUCK2_BINARY=<path>        provision Buck2 from this file (sha256-checked)
  BUCK2_SHA256=<sha256>      override the pinned Buck2 sha256
  OSFORGE_DEBIAN_MIRROR=<url> Debian archive (default: the host's apt config)
  OSFORGE_IMAGES=<dir>       the plan: buckos.json, recipes, pins (default ./images)
  OSFORGE_BUILDERS=<spec>    as --builders
  OSFORGE_SHARED_CACHE_PUBKEY=<file>  cosign public key shared-cache entries
                             must verify with (required with a shared cache);
                             an unsigned or wrongly signed entry is ignored
  OSFORGE_SHARED_CACHE_KEY=<file>  cosign private key to sign pushed entries
                             with (password: COSIGN_PASSWORD); without it,
                             nothing is pushed
  OSFORGE_SSH_KEY=<file>     private key for ssh:// builders (else $SSH_AUTH_SOCK)
  OSFORGE_SSH_KNOWN_HOSTS=<file>  known_hosts an ssh:// builder's host key must
                             be in (default ~/.ssh/known_hosts)
  OSFORGE_PATCHES=<dir>      your patches, <dir>/<package>/*.patch, applied after
                             the package's own (default images/patches)
  BUCKOS_VERIFY_SIGNATURES=0 skip the upstream signature checks of sources that
                             pin one (manifest.json records that they were skipped)
  OSFORGE_STATE_DIR=<dir>    sources, stage cache and logs (default ~/.cache/osforge)
  OSFORGE_DIST=<dir>         output directory (default ./dist)
  SOURCE_DATE_EPOCH=<secs>   override the time used for artifacts (default: the
                             last commit that touched a build input)
  DOCKER_HOST                engine to use (default: local socket)`,
  options: {
    verbose: { type: 'boolean', short: 'v' },
    plain: { type: 'boolean' },
    json: { type: 'boolean' },
    jobs: { type: 'string', short: 'j' },
    explain: { type: 'boolean' },
    'no-wait': { type: 'boolean' },
    use: { type: 'string', multiple: true },
    profile: { type: 'string', multiple: true },
    builders: { type: 'string' },
    'shared-cache': { type: 'string' },
  },
  async run(values) {
    // No silent success: if the event loop empties before the run settled
    // (an engine call that can never answer), this is a failure, not exit 0.
    let settled = false;
    const exitGuard = () => {
      if (settled) return;
      settled = true;
      process.stderr.write(
        'error [ENGINE_UNAVAILABLE]: osforge dist stopped before its work finished: pending Docker engine calls can no longer complete\n  fix: check the engine (`docker info`), then run osforge dist again: finished stages are cached\n',
      );
      process.exitCode = 1;
    };
    process.on('beforeExit', exitGuard);
    try {
      return await runLocked(values);
    } finally {
      settled = true;
      process.removeListener('beforeExit', exitGuard);
    }
  },
};

type Values = Parameters<Command['run']>[0];

/** --jobs N: a positive whole number, checked before anything is locked or built. */
function parseJobs(raw: unknown): number | undefined {
  if (raw === undefined) return undefined;
  const jobs = Number(raw);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 1024)
    throw new OsforgeError('USAGE', `--jobs ${String(raw)} is not a whole number from 1 to 1024`, { hint: 'e.g. --jobs 2 (default: the number of cores)' });
  return jobs;
}

async function runLocked(values: Values): Promise<void> {
  parseJobs(values.jobs);
  const runId = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  // With --json, stdout carries only the events.
  const say = (l: string) => (values.json ? process.stderr : process.stdout).write(`dist: ${l}\n`);
  const distDir = paths.dist();
  const toolsCache = paths.toolsCache();
  const locks = await acquireLocks([join(stateDir(), 'lock'), besideLock(toolsCache), besideLock(distDir)], {
    wait: !values['no-wait'],
    runId,
    log: say,
  });
  try {
    // Boot images used to be cached apart from the stage store; they are image-step entries now.
    const oldImages = join(stateDir(), 'images');
    if (existsSync(oldImages)) {
      rmSync(oldImages, { recursive: true, force: true });
      say('removed the old boot image cache (boot images are stage store entries now)');
    }
    const litter = removeLitter({
      stateDir: stateDir(),
      caches: [paths.stages(), paths.sources()],
      toolsCache,
      distDir,
      distTmpRoot: distTmpRoot(distDir),
    });
    if (litter.length) say(`removed ${litter.length} temp dir(s) left by dead runs`);
    return await build(values, runId);
  } catch (err) {
    throw diskFullError(err, (err as { path?: string }).path ?? stateDir());
  } finally {
    await locks.release();
  }
}

async function build(values: Values, runId: string): Promise<void> {
  const run = await openDistRun({
    use: values.use as string[] | undefined,
    profiles: profileList(values.profile),
    builders: values.builders as string | undefined,
    sharedCache: values['shared-cache'] as string | undefined,
    runId,
    setupLog: (l) => (values.json ? process.stderr : process.stdout).write(`${l}\n`),
    note: (l) => process.stderr.write(`dist: ${l}\n`),
  });
  const { plan, graph } = run;
  const mode = values.json ? 'json' : values.plain || !process.stdout.isTTY || settings().ci ? 'plain' : 'tree';
  const jobs = parseJobs(values.jobs);
  // With --json, stdout carries only events.
  const say = (l: string) => (mode === 'json' ? process.stderr : process.stdout).write(`${l}\n`);
  // Ctrl-C / SIGTERM: remove this run's containers by label, then die of the
  // signal as usual. Repeats (a second ^C, or tsx relaying the first) must
  // not cut the cleanup short.
  let stopping = false;
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    // No stage starts after this; the running ones lose their containers below.
    stop.abort();
    process.stderr.write(`\n${signal}: removing this run's containers...\n`);
    run.shutdown().then((n) => {
      process.stderr.write(`removed ${n} container(s)\n`);
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      process.kill(process.pid, signal);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await run.build({ mode, jobs, verbose: Boolean(values.verbose), signal: stop.signal });
    if (values.explain) for (const e of result.explanations) say(formatExplanation(e));
    if (result.upToDate || !result.manifest) {
      say(`dist: tools cache hit (${graph.tools.key.slice(0, 12)}, validated); nothing compiled`);
      if (result.refreshed) say(`dist: ${paths.dist()} is up to date (dist key ${graph.dist.key.slice(0, 12)}); no container started; ${result.refreshed}`);
      else say(`dist: ${paths.dist()} is up to date (dist key ${graph.dist.key.slice(0, 12)}); no container started, nothing rewritten`);
      return;
    }
    const m = result.manifest;
    say(`dist: ${m.artifacts.length} artifacts for ${plan.arches.join(', ')} in ${paths.dist()}`);
    say(`dist: fsync: ${fsyncStats.calls} calls, ${(fsyncStats.ms / 1000).toFixed(2)} s`);
    say(`dist: tools cache ${result.toolsHit ? 'hit' : 'miss'}; logs and report.json in ${result.logDir}`);
  } catch (err) {
    // Interrupted: the containers' deaths surface here as step failures;
    // the signal handler is already cleaning up and will end the process.
    if (stopping) await new Promise(() => undefined);
    throw err;
  } finally {
    if (!stopping) {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    }
  }
}
