import { profileList } from '../plan/profiles.ts';
import type { Command } from './types.ts';
import { cpus } from 'node:os';
import { paths } from '../paths.ts';
import { DockerEngine } from '../engine/docker.ts';
import { StageStore } from '../cache/stage-store.ts';
import { Journal, explain, formatExplanation } from '../cache/journal.ts';
import { compile } from '../graph/compile.ts';
import { imagerFiles } from '../steps/imager.ts';
import type { PresenceEnv } from '../graph/stage.ts';
import { distSetup, stateRoot } from '../app/dist-setup.ts';

export const explainCommand: Command = {
  name: 'explain',
  summary: 'say, for every stage, whether `dist` would hit its cache, and why not',
  help: `usage: osforge explain [--use PKG:FLAGS]... [--profile NAME]...

Computes every stage's cache key from the plan (nothing is built or run) and
prints "hit" or "miss" for each; for a miss it names each input that changed
since the stage was last built (old -> new), or says "no previous entry".
These are the stages \`dist\` runs, boot image steps and dist/ included.
Image stages are looked up in the Docker engine when one answers.
The plan is read from images/ (or $OSFORGE_IMAGES) and validated first.
--use takes the same USE overrides as \`osforge dist --use\`, so a changed
flag shows as the changed "use" input of that package and its dependents;
--profile explains a build of those profiles (as \`osforge dist --profile\`).`,
  options: { use: { type: 'string', multiple: true }, profile: { type: 'string', multiple: true } },
  async run(values) {
    const { plan, graph, identity } = await distSetup(() => undefined, { use: values.use as string[] | undefined, profiles: profileList(values.profile) });
    const roots = stateRoot();
    const journal = new Journal(roots.journal);
    const engine = new DockerEngine();
    const engineUp = await engine.ping().then(() => true, () => false);
    const presence: PresenceEnv = {
      plan, identity, store: new StageStore(roots.stages), distDir: paths.dist(), toolsCacheRoot: paths.toolsCache(), stateRoot: roots,
      imageExists: async (ref) => engineUp && (await engine.inspectImage(ref)) !== null,
    };
    // The same stages `dist` would run, each asked whether its output exists: nothing is built or started.
    const { stages } = compile(plan, graph, cpus().length, imagerFiles());
    let misses = 0;
    for (const s of stages) {
      const e = explain(s, await s.present(presence), journal);
      if (e.status === 'miss') misses++;
      process.stdout.write(formatExplanation(e) + '\n');
    }
    if (!engineUp) process.stdout.write('(no Docker engine answered: image stages are reported as misses)\n');
    process.stdout.write(`${stages.length - misses} hit, ${misses} miss\n`);
  },
};
