// Build-failure hints (the seed's "Intelligent Error Detection"): a failed
// step's log is matched against one table of known causes, and the error
// names the cause, the log line that shows it, and a fix specific to it.
// The first entry that matches wins, so specific causes come before general
// ones (a missing header before a bare `configure: error`). Each pattern has
// a unit test fed with a real log excerpt (test/unit/stages/failure-hints.test.ts).

export interface Diagnosis {
  /** Table id, stable for tests and scripts. */
  id: string;
  cause: string;
  fix: string;
  /** The log line the cause was read from. */
  line: string;
}

interface Hint {
  id: string;
  pattern: RegExp;
  /** Only when the step exited with one of these codes (e.g. 137: SIGKILL). */
  exitCodes?: number[];
  cause(m: RegExpMatchArray): string;
  fix(m: RegExpMatchArray): string;
}

const q = (s: string | undefined) => JSON.stringify(s ?? '');

export const FAILURE_HINTS: readonly Hint[] = [
  {
    // plan/patches.ts's script names the patch and the package; its rejected hunks follow in the log.
    id: 'patch-rejected',
    pattern: /osforge: patch (\S+) does not apply to (\S+)/,
    cause: (m) => `patch ${m[1]} does not apply to package ${m[2]} (its rejected hunks are in the log above)`,
    fix: (m) => `refresh ${m[1]} against this version of ${m[2]} (or drop it if upstream already has the change)`,
  },
  {
    id: 'oom-kill',
    pattern: /(Killed signal terminated program (\S+)|virtual memory exhausted|out of memory allocating|Cannot allocate memory)/,
    cause: (m) => `the compiler was killed for lack of memory (${m[2] ?? m[1]})`,
    fix: () => 'run with fewer parallel jobs (`osforge dist --jobs 1`) or give the Docker engine more memory',
  },
  {
    id: 'oom-kill',
    pattern: /^(?:.*\s)?Killed\s*$/,
    exitCodes: [137],
    cause: () => "the step was killed (SIGKILL, exit 137): most often the kernel's out-of-memory killer",
    fix: () => 'run with fewer parallel jobs (`osforge dist --jobs 1`) or give the Docker engine more memory; `dmesg | grep -i oom` confirms it',
  },
  {
    id: 'patch-rejected',
    pattern: /(\d+) out of (\d+) hunks? FAILED -- saving rejects to file (\S+)/,
    cause: (m) => `a patch does not apply: ${m[1]} of ${m[2]} hunk(s) rejected (${m[3]})`,
    fix: (m) => `refresh the patch against this source version (the rejected hunk is in ${m[3]}), or drop it if upstream already has the change`,
  },
  {
    id: 'patch-rejected',
    pattern: /patch: \*\*\*\* (malformed patch at line \d+|Only garbage was found in the patch input)/,
    cause: (m) => `a patch file is broken: ${m[1]}`,
    fix: () => 'regenerate the patch with `diff -u` or `git format-patch`; a copy-paste may have mangled its whitespace',
  },
  {
    id: 'network-sandboxed',
    pattern:
      /(Could not resolve host:? \S+|Temporary failure in name resolution|Name or service not known|getaddrinfo (?:ENOTFOUND|EAI_AGAIN)\s*\S*|bad address '[^']+'|Network is unreachable|unable to access '[^']+')/,
    cause: (m) => `the step tried to reach the network (${m[1]}); build steps run with --network=none`,
    fix: () =>
      "pin what it downloads in images/sources.json (file, sha256, urls) and list it in the recipe's sources, so the fetch stage provides it; disable the build's own downloads (e.g. a configure option)",
  },
  {
    id: 'pkg-config-missing',
    pattern: /(?:Package '([^']+)',? required by '[^']+', not found|No package '([^']+)' found|Package ([\w.+-]+) was not found in the pkg-config search path)/,
    cause: (m) => `pkg-config module ${q(m[1] ?? m[2] ?? m[3])} is missing`,
    fix: (m) => `add the package that installs ${m[1] ?? m[2] ?? m[3]}.pc to the recipe's "deps" (or turn off the feature that needs it)`,
  },
  {
    id: 'meson-boolean',
    pattern:
      /ERROR: Value "?([^"\s]+)"? (?:\(of type "[^"]+"\) )?for (?:boolean )?option "?([\w.-]+)"? is not (?:a boolean|one of the choices\. Possible choices are \(as string\): "true", "false")/,
    cause: (m) => `meson option ${q(m[2])} is a boolean and got ${q(m[1])}`,
    fix: (m) => `write -D${m[2]}=true or -D${m[2]}=false (meson booleans are true/false, not yes/no/on/off)`,
  },
  {
    id: 'meson-option',
    pattern:
      /ERROR: (Unknown options?: "?([^"\n]+)"?|Value "?[^"\s]+"? (?:\(of type "[^"]+"\) )?for (?:combo )?option "?([\w.-]+)"? is not one of the choices.*)/,
    cause: (m) => `meson rejected an option: ${m[1]}`,
    fix: (m) => `check the recipe's -D options against this version's meson_options.txt / meson.options${m[2] ? ` (${m[2]} is not one of them)` : ''}`,
  },
  {
    id: 'meson-dependency',
    pattern: /(?:ERROR: )?Dependency "([^"]+)" not found, tried/,
    cause: (m) => `meson could not find dependency ${q(m[1])}`,
    fix: (m) => `add the package that provides ${m[1]} to the recipe's "deps", or disable the feature that needs it`,
  },
  {
    id: 'cmake-package',
    pattern: /(?:Could NOT find (\w+)|Could not find a package configuration file provided by "([^"]+)")/,
    cause: (m) => `CMake could not find package ${q(m[1] ?? m[2])}`,
    fix: (m) => `add the package that provides ${m[1] ?? m[2]} to the recipe's "deps", or turn the option that needs it off (-D…=OFF)`,
  },
  {
    id: 'cmake-error',
    pattern: /CMake Error(?: at ([^\s:]+):(\d+) \((\w+)\))?:/,
    cause: (m) => (m[1] ? `CMake stopped at ${m[1]}:${m[2]} (${m[3]})` : 'CMake reported an error'),
    fix: () =>
      'read the lines after "CMake Error" in the log: usually a -D option the project does not accept, or a value of the wrong type (ON/OFF for options)',
  },
  {
    id: 'missing-header',
    pattern: /fatal error: ([\w./+-]+\.h(?:pp)?): No such file or directory/,
    cause: (m) => `header ${q(m[1])} is missing`,
    fix: (m) => `add the package that installs ${m[1]} to the recipe's "deps" (headers of dependencies are merged into the build root)`,
  },
  {
    id: 'missing-library',
    pattern: /(?:ld(?:\.\S+)?: cannot find -l([\w+.-]+)|ld(?:\.\S+)?: cannot find (\S+\.(?:a|so)))/,
    cause: (m) => `the linker cannot find library ${q(m[1] ? `-l${m[1]}` : m[2])}`,
    fix: (m) =>
      `add the package that builds ${m[1] ? `lib${m[1]}` : m[2]} to the recipe's "deps"; every program links statically against musl, so a static .a is needed`,
  },
  {
    id: 'configure-error',
    pattern: /configure: error: (.+)/,
    cause: (m) => `configure stopped: ${m[1]}`,
    fix: () =>
      'see config.log in the step\'s build directory for the failed test; usually a missing dependency (add it to "deps") or an option this version does not know',
  },
];

/**
 * The first known cause in a failed step's log (the lines kept in memory:
 * the last few hundred). Later lines are read first: the error that stopped
 * the build is near the end, and earlier matches are often warnings.
 */
export function diagnose(lines: readonly string[], exitCode?: number): Diagnosis | undefined {
  for (const hint of FAILURE_HINTS) {
    if (hint.exitCodes && (exitCode === undefined || !hint.exitCodes.includes(exitCode))) continue;
    for (let i = lines.length - 1; i >= 0; i--) {
      const m = lines[i]!.match(hint.pattern);
      if (m) return { id: hint.id, cause: hint.cause(m), fix: hint.fix(m), line: lines[i]!.trim() };
    }
  }
  return undefined;
}
