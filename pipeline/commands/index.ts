// Every subcommand, in the order `osforge --help` lists them: its name and
// summary here, its module loaded only when it runs. `osforge --help` thus
// loads no command (no dockerode, no listr2), which keeps it well under
// 0.3 s; test/unit/commands/index.test.ts checks each summary against its module's.
import type { Command } from './types.ts';

export interface CommandEntry {
  name: string;
  summary: string;
  load: () => Promise<Command>;
}

export const commands: readonly CommandEntry[] = [
  { name: 'dist', summary: 'build BuckOS for every architecture and write dist/', load: async () => (await import('./dist.ts')).distCommand },
  {
    name: 'explain',
    summary: 'say, for every stage, whether `dist` would hit its cache, and why not',
    load: async () => (await import('./explain.ts')).explainCommand,
  },
  { name: 'query', summary: "print a package's resolved dependencies or reverse dependencies", load: async () => (await import('./query.ts')).queryCommand },
  { name: 'cache', summary: 'manage the stage cache (cache gc --max-size 2G)', load: async () => (await import('./cache.ts')).cacheCommand },
  {
    name: 'lock',
    summary: 'refresh images/lock.json: the exact Debian package versions builds install',
    load: async () => (await import('./lock.ts')).lockCommand,
  },
  {
    name: 'clean-tools-cache',
    summary: 'delete tools-cache/ so the next dist compiles the toolchain again',
    load: async () => (await import('./clean-tools-cache.ts')).cleanToolsCacheCommand,
  },
  {
    name: 'sign-tools-cache',
    summary: 'sign tools-cache/ (index.json.sig) so other machines can trust it',
    load: async () => (await import('./sign-tools-cache.ts')).signToolsCacheCommand,
  },
  {
    name: 'package',
    summary: 'write <pkg>-<ver>-<config_hash>-bin.tar.gz + .sha256 for every stage2 package',
    load: async () => (await import('./package.ts')).packageCommand,
  },
  {
    name: 'upload',
    summary: 'publish binary packages to a mirror (local dir, scp or rsync) and rewrite index.json',
    load: async () => (await import('./upload.ts')).uploadCommand,
  },
  { name: 'install', summary: 'download, verify and install a binary package from a mirror', load: async () => (await import('./install.ts')).installCommand },
  { name: 'uninstall', summary: 'remove a binary package installed by `osforge install`', load: async () => (await import('./uninstall.ts')).uninstallCommand },
  {
    name: 'config-update',
    summary: 'list, merge or discard config files an upgrade set aside (CONFIG_PROTECT)',
    load: async () => (await import('./config-update.ts')).configUpdateCommand,
  },
  {
    name: 'keygen',
    summary: 'create a cosign-compatible signing key pair (cosign.key, cosign.pub)',
    load: async () => (await import('./keygen.ts')).keygenCommand,
  },
  { name: 'sign', summary: 'sign dist/ and write SBOM, SLSA provenance and release notes', load: async () => (await import('./sign.ts')).signCommand },
  {
    name: 'verify',
    summary: 'verify the signatures, bundles, provenance and checksums of dist/',
    load: async () => (await import('./verify.ts')).verifyCommand,
  },
  {
    name: 'changelog',
    summary: 'regenerate CHANGELOG.md from the conventional commits in git history',
    load: async () => (await import('./changelog.ts')).changelogCommand,
  },
];
