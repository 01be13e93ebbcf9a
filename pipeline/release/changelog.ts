// CHANGELOG.md and dist/RELEASE_NOTES.md from git history, via
// conventional-changelog with the conventionalcommits preset. Deterministic:
// the only date in the output is the committer date of the newest commit
// included (the writer would otherwise stamp today's date), and no repository
// URL is read, so a fork or a different remote gives the same bytes.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ConventionalChangelog } from 'conventional-changelog';
import { OsforgeError } from '../errors.ts';

const run = promisify(execFile);

export interface ChangelogOptions {
  /** A directory inside the git work tree. */
  cwd: string;
  /** Version to title the newest (untagged) section with. */
  version: string;
  /** Newest commit to include (default HEAD). */
  to?: string;
  /** 1 = only the newest release (release notes); 0 = every release (CHANGELOG.md). */
  releaseCount: number;
}

async function git(cwd: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run('git', args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    return stdout.trim();
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? '').trim();
    throw new OsforgeError(
      'CONFIG_INVALID',
      `git ${args.join(' ')} failed in ${cwd}: ${stderr || (err as Error).message}`,
      {
        hint: 'the changelog is generated from git history; run inside a git checkout with the release commit',
      },
      { cause: err },
    );
  }
}

export async function generateChangelog(opts: ChangelogOptions): Promise<string> {
  const to = opts.to ?? 'HEAD';
  // Validates `to` and gives the one date we allow in the output.
  const committed = await git(opts.cwd, ['log', '-1', '--format=%cI', to, '--']);
  const date = new Date(committed).toISOString().slice(0, 10); // UTC, as the writer formats tagged releases

  const generator = new ConventionalChangelog(opts.cwd)
    .loadPreset('conventionalcommits')
    .package({ name: 'osforge', version: opts.version })
    .options({ releaseCount: opts.releaseCount, outputUnreleased: true })
    .context({ version: opts.version, date, linkCompare: false, linkReferences: false })
    .commits({ to });
  let out = '';
  for await (const chunk of generator.write()) out += chunk;
  return out.trim() === '' ? `## ${opts.version} (${date})\n\nNo notable changes.\n` : out.replace(/\n{3,}/g, '\n\n').trimEnd() + '\n';
}
