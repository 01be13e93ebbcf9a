import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { OsforgeError } from '../errors.ts';
import { dirname, join, resolve } from 'node:path';
import { repoRoot } from '../paths.ts';
import type { Command } from './types.ts';
import { writeFileAtomic } from '../util/write-atomic.ts';
import { generateChangelog } from '../release/changelog.ts';

/** A --repo that is not a directory would surface as a confusing "spawn git ENOENT". */
export function assertRepoDir(repo: string, flag = '--repo'): void {
  if (!statSync(repo, { throwIfNoEntry: false })?.isDirectory()) {
    throw new OsforgeError('USAGE', `${flag} ${repo}: no such directory`, { hint: 'pass the git checkout the release was built from' });
  }
}

async function defaultVersion(repo: string): Promise<string> {
  for (const f of ['images/buckos.json', 'package.json']) {
    try {
      const v = (JSON.parse(await readFile(join(repo, f), 'utf8')) as { version?: unknown }).version;
      if (typeof v === 'string') return v;
    } catch {
      // try the next one
    }
  }
  return 'Unreleased';
}

export const changelogCommand: Command = {
  name: 'changelog',
  summary: 'regenerate CHANGELOG.md from the conventional commits in git history',
  help: `usage: osforge changelog [--output <file>] [--release-version <v>] [--repo <dir>]

Writes the whole changelog (every release, newest first) with
conventional-changelog and the conventionalcommits preset. Tags vX.Y.Z mark
releases; commits after the last tag form a section titled with
--release-version. Dates come from git commits only, so the output is
reproducible. (\`osforge sign\` writes the newest section as RELEASE_NOTES.md.)

options:
  --output <file>          where to write (default: CHANGELOG.md in the repo; "-" for stdout)
  --release-version <v>    title of the untagged section (default: version in
                           images/buckos.json, else package.json)
  --repo <dir>             git checkout to read (default: the osforge checkout)
  -h, --help               show this help`,
  options: {
    output: { type: 'string' },
    'release-version': { type: 'string' },
    repo: { type: 'string' },
  },
  async run(values) {
    const repo = values.repo ? resolve(values.repo as string) : repoRoot;
    assertRepoDir(repo);
    const version = (values['release-version'] as string | undefined) ?? (await defaultVersion(repo));
    const text = await generateChangelog({ cwd: repo, version, releaseCount: 0 });
    const output = (values.output as string | undefined) ?? join(repo, 'CHANGELOG.md');
    const outDir = dirname(resolve(output));
    if (output !== '-' && statSync(outDir, { throwIfNoEntry: false })?.isDirectory() === false) {
      throw new OsforgeError('USAGE', `--output ${output}: ${outDir} is not a directory`, { hint: 'pass a path inside a directory' });
    }
    if (output === '-') process.stdout.write(text);
    else {
      await writeFileAtomic(resolve(output), text);
      process.stdout.write(`wrote ${resolve(output)}\n`);
    }
    return 0;
  },
};
