// Every environment variable osforge reads, in one typed object (README
// "Settings" lists them). Modules ask `settings()` instead of reading
// process.env, so the names are spelled once and a test can hand in its own
// environment. Read at call time, not at import: a command may set a
// variable before it calls into the pipeline, and tests do. Values are kept
// as given (empty strings included); each reader keeps its own rule for an
// empty value, as before.
export interface Settings {
  /** $OSFORGE_STATE_DIR: sources, stage cache, logs (default $XDG_CACHE_HOME/osforge). */
  stateDir?: string;
  xdgCacheHome?: string;
  /** $OSFORGE_IMAGES: the plan (default ./images). */
  images?: string;
  /** $OSFORGE_TOOLS_CACHE (default ./tools-cache). */
  toolsCache?: string;
  /** $OSFORGE_DIST (default ./dist). */
  dist?: string;
  /** $OSFORGE_PATCHES: the user's patches (default images/patches). */
  patches?: string;
  /** $OSFORGE_DEBUG=1: print stack traces with errors. */
  debug: boolean;
  /** $CI=true: plain progress lines instead of the task tree. */
  ci: boolean;
  /** $OSFORGE_DEBIAN_MIRROR (default: the host's apt configuration). */
  debianMirror?: string;
  /** $BUCKOS_VERIFY_SIGNATURES=0 skips upstream signature checks. */
  verifySignatures: boolean;
  /** $SOURCE_DATE_EPOCH (raw; util/git.ts validates it). */
  sourceDateEpoch?: string;
  buck2: { binary?: string; sha256?: string };
  builders: {
    /** $OSFORGE_BUILDERS, as --builders. */
    spec?: string;
    sshKey?: string;
    sshKnownHosts?: string;
    sshAuthSock?: string;
    user?: string;
    dockerConfig?: string;
  };
  /** $DOCKER_HOST: the engine's name in messages (dockerode reads it itself). */
  dockerHost?: string;
}

export function settings(env: NodeJS.ProcessEnv = process.env): Settings {
  return {
    stateDir: env.OSFORGE_STATE_DIR,
    xdgCacheHome: env.XDG_CACHE_HOME,
    images: env.OSFORGE_IMAGES,
    toolsCache: env.OSFORGE_TOOLS_CACHE,
    dist: env.OSFORGE_DIST,
    patches: env.OSFORGE_PATCHES,
    debug: env.OSFORGE_DEBUG === '1',
    ci: env.CI === 'true',
    debianMirror: env.OSFORGE_DEBIAN_MIRROR,
    verifySignatures: env.BUCKOS_VERIFY_SIGNATURES !== '0',
    sourceDateEpoch: env.SOURCE_DATE_EPOCH,
    buck2: { binary: env.BUCK2_BINARY, sha256: env.BUCK2_SHA256 },
    builders: {
      spec: env.OSFORGE_BUILDERS,
      sshKey: env.OSFORGE_SSH_KEY,
      sshKnownHosts: env.OSFORGE_SSH_KNOWN_HOSTS,
      sshAuthSock: env.SSH_AUTH_SOCK,
      user: env.USER,
      dockerConfig: env.DOCKER_CONFIG,
    },
    dockerHost: env.DOCKER_HOST,
  };
}
