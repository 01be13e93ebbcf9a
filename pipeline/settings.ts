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
  /** The binary mirror: $BINARY_MIRROR (over .buckconfig's binary_mirror) and $BINARY_MIRROR_KEY (over binary_mirror_key). */
  binaryMirror: { url?: string; key?: string };
  /** $OSFORGE_CONFIG_PROTECT: protected directories, space-separated ("" for none; default etc). */
  configProtect?: string;
  /** $OSFORGE_SSH_CONFIG: the ssh_config file `upload` passes to ssh and rsync (ssh -F). */
  sshConfig?: string;
  /** The download and archive limits, as written (binpkg/limits.ts, the shared cache and sign/ parse them, naming the variable). */
  limits: Readonly<Record<LimitVariable, string | undefined>>;
  sharedCache: {
    /** $OSFORGE_SHARED_CACHE, as --shared-cache. */
    location?: string;
    /** $OSFORGE_SHARED_CACHE_PUBKEY: the cosign public key entries are verified with. */
    pubkey?: string;
    /** $OSFORGE_SHARED_CACHE_KEY: the cosign private key entries are signed with (push). */
    key?: string;
    /** $OSFORGE_SHARED_CACHE_MAX_SIZE, _MAX_ENTRIES, _MAX_DEPTH, as written. */
    maxSize?: string;
    maxEntries?: string;
    maxDepth?: string;
  };
  cosign: {
    /** $COSIGN_KEY: the signing key when --key is not given. */
    key?: string;
    /** $COSIGN_PASSWORD: the key's password (an empty value counts as set). */
    password?: string;
  };
  /** $OSFORGE_BUILDER_ID: provenance's builder id (default: osforge's own). */
  builderId?: string;
  toolsCacheUse: {
    /** $OSFORGE_TOOLS_CACHE_KEY: signs tools-cache/index.json (and `sign-tools-cache`'s default --key). */
    key?: string;
    /** $OSFORGE_TOOLS_CACHE_PUBKEY: a tools-cache/ is trusted only with a signature by this key. */
    pubkey?: string;
    /** $SKIP_TOOLS_CACHE=1|true: build the tools without reading or writing the cache. */
    skip: boolean;
    /** $TOOLS_CACHE_HIT=true: CI restored tools-cache/ (validated all the same). */
    ciRestored: boolean;
  };
  /** Test-only fault injection: $OSFORGE_TEST_KILL_AT, $OSFORGE_TEST_PAUSE_AT (`<phase>:<n>`). */
  testHooks: { killAt?: string; pauseAt?: string };
}

/** The variables of the download and archive limits (each one also a flag; README "Settings"). */
export type LimitVariable =
  | 'OSFORGE_MAX_DOWNLOAD_SIZE'
  | 'OSFORGE_MAX_INDEX_SIZE'
  | 'OSFORGE_MAX_UNPACKED_SIZE'
  | 'OSFORGE_IDLE_TIMEOUT'
  | 'OSFORGE_MIN_RATE'
  | 'OSFORGE_RATE_WINDOW'
  | 'OSFORGE_DOWNLOAD_DEADLINE'
  | 'OSFORGE_MAX_ENTRIES'
  | 'OSFORGE_MAX_PATH_DEPTH'
  | 'OSFORGE_MAX_ARTIFACT_SIZE'
  | 'OSFORGE_MAX_METADATA_SIZE';

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
    binaryMirror: { url: env.BINARY_MIRROR, key: env.BINARY_MIRROR_KEY },
    configProtect: env.OSFORGE_CONFIG_PROTECT,
    sshConfig: env.OSFORGE_SSH_CONFIG,
    limits: {
      OSFORGE_MAX_DOWNLOAD_SIZE: env.OSFORGE_MAX_DOWNLOAD_SIZE,
      OSFORGE_MAX_INDEX_SIZE: env.OSFORGE_MAX_INDEX_SIZE,
      OSFORGE_MAX_UNPACKED_SIZE: env.OSFORGE_MAX_UNPACKED_SIZE,
      OSFORGE_IDLE_TIMEOUT: env.OSFORGE_IDLE_TIMEOUT,
      OSFORGE_MIN_RATE: env.OSFORGE_MIN_RATE,
      OSFORGE_RATE_WINDOW: env.OSFORGE_RATE_WINDOW,
      OSFORGE_DOWNLOAD_DEADLINE: env.OSFORGE_DOWNLOAD_DEADLINE,
      OSFORGE_MAX_ENTRIES: env.OSFORGE_MAX_ENTRIES,
      OSFORGE_MAX_PATH_DEPTH: env.OSFORGE_MAX_PATH_DEPTH,
      OSFORGE_MAX_ARTIFACT_SIZE: env.OSFORGE_MAX_ARTIFACT_SIZE,
      OSFORGE_MAX_METADATA_SIZE: env.OSFORGE_MAX_METADATA_SIZE,
    },
    sharedCache: {
      location: env.OSFORGE_SHARED_CACHE,
      pubkey: env.OSFORGE_SHARED_CACHE_PUBKEY,
      key: env.OSFORGE_SHARED_CACHE_KEY,
      maxSize: env.OSFORGE_SHARED_CACHE_MAX_SIZE,
      maxEntries: env.OSFORGE_SHARED_CACHE_MAX_ENTRIES,
      maxDepth: env.OSFORGE_SHARED_CACHE_MAX_DEPTH,
    },
    cosign: { key: env.COSIGN_KEY, password: env.COSIGN_PASSWORD },
    builderId: env.OSFORGE_BUILDER_ID,
    toolsCacheUse: {
      key: env.OSFORGE_TOOLS_CACHE_KEY,
      pubkey: env.OSFORGE_TOOLS_CACHE_PUBKEY,
      skip: env.SKIP_TOOLS_CACHE === '1' || env.SKIP_TOOLS_CACHE === 'true',
      ciRestored: env.TOOLS_CACHE_HIT === 'true',
    },
    testHooks: { killAt: env.OSFORGE_TEST_KILL_AT, pauseAt: env.OSFORGE_TEST_PAUSE_AT },
  };
}
