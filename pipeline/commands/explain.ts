// `osforge explain`: parses its flags, asks app/explain.ts, prints one line per stage.
import { profileList } from '../plan/profiles.ts';
import type { Command } from './types.ts';
import { formatExplanation } from '../cache/journal.ts';
import { explainDist } from '../app/explain.ts';

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
    const { explanations, engineUp } = await explainDist({ use: values.use as string[] | undefined, profiles: profileList(values.profile) });
    let misses = 0;
    for (const e of explanations) {
      if (e.status === 'miss') misses++;
      process.stdout.write(formatExplanation(e) + '\n');
    }
    if (!engineUp) process.stdout.write('(no Docker engine answered: image stages are reported as misses)\n');
    process.stdout.write(`${explanations.length - misses} hit, ${misses} miss\n`);
  },
};
