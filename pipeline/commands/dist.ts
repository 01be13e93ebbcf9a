import { randomBytes } from 'node:crypto';
import type { Command } from './types.ts';
import { loadPlan } from '../plan/load.ts';
import { paths, repoRoot } from '../paths.ts';
import { buildIdentity } from '../util/git.ts';
import { Engine, LABEL_RUN } from '../engine/docker.ts';
import { runDist } from '../stages/pipeline.ts';

export const distCommand: Command = {
  name: 'dist',
  summary: 'build BuckOS for every architecture and write dist/',
  help: `usage: osforge dist [--verbose] [--plain]

Builds the tools image (or recreates it from tools-cache/), the builder
image, runs stage1/stage2/stage3 for every architecture in
images/buckos.json in isolated containers, and writes dist/ atomically.

options:
  -v, --verbose   stream container logs (always written to the log dir)
      --plain     plain progress lines instead of the task tree
                  (automatic without a TTY or with CI=true)

environment:
  SKIP_TOOLS_CACHE=1         rebuild the tools image from source
  TOOLS_CACHE_HIT=true       CI restored tools-cache/; used only if it validates
  BUCK2_BINARY=<path>        provision Buck2 from this file (sha256-checked)
  BUCK2_SHA256=<sha256>      override the pinned Buck2 sha256
  OSFORGE_DEBIAN_MIRROR=<url> Debian archive (default: the host's apt config)
  OSFORGE_STATE_DIR=<dir>    sources, stage cache and logs (default ~/.cache/osforge)
  OSFORGE_DIST=<dir>         output directory (default ./dist)
  SOURCE_DATE_EPOCH=<secs>   override the commit time used for artifacts
  DOCKER_HOST                engine to use (default: local socket)`,
  options: { verbose: { type: 'boolean', short: 'v' }, plain: { type: 'boolean' } },
  async run(values) {
    const plan = loadPlan(paths.images);
    const identity = buildIdentity(repoRoot);
    const runId = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
    const engine = new Engine();
    const plain = Boolean(values.plain) || !process.stdout.isTTY || process.env.CI === 'true';
    // Ctrl-C: remove this run's containers by label, then die of the signal as usual.
    const onSigint = () => {
      process.stderr.write('\ninterrupted: removing this run\'s containers...\n');
      engine.removeByLabel(`${LABEL_RUN}=${runId}`).finally(() => process.kill(process.pid, 'SIGINT'));
    };
    process.once('SIGINT', onSigint);
    try {
      const { manifest, logDir } = await runDist({
        plan, identity, runId, plain, verbose: Boolean(values.verbose), engine,
        distDir: paths.dist(), toolsCacheRoot: paths.toolsCache(),
        stateRoot: { sources: paths.sources(), stages: paths.stages(), logs: paths.logs() },
      });
      process.stdout.write(`dist: ${manifest.artifacts.length} artifacts for ${plan.arches.join(', ')} in ${paths.dist()}\n`);
      process.stdout.write(`dist: tools cache ${manifest.toolsCache.hit ? 'hit' : 'miss'}; logs in ${logDir}\n`);
    } finally {
      process.removeListener('SIGINT', onSigint);
    }
  },
};
