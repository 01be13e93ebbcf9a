// The bad-input corpus: a real `osforge` process (pipeline/bin/osforge.js)
// per case, against temp copies of images/ ($OSFORGE_IMAGES) and temp
// release directories. Every case must end with the right exit code, exactly
// one error line naming the file, field, path or flag (context lines after it
// are indented), and no stack trace. Docker is pointed at a socket that does
// not exist, so a plan case that reached the engine would fail differently.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { commands } from '../../../pipeline/commands/index.ts';
import { encodePublicKey, generateKeyPair } from '../../../pipeline/crypto/keys.ts';
import { makeDist, makeRepo, TempDirs } from '../sign/fake-dist.ts';
import { copyImages, planBreaks } from '../../unit/plan/images-copy.ts';

const root = resolve(import.meta.dirname, '../../..');
const bin = join(root, 'pipeline/bin/osforge.js');
const tmp = new TempDirs();
const { repo, commit } = makeRepo(tmp.make('repo'));

interface Ctx {
  cwd: string;
  env: Record<string, string>;
  cleanup?: string;
}
interface Case {
  name: string;
  /** Arguments, built once the setup has made its files. */
  args: (ctx: Ctx) => string[];
  setup?: (ctx: Ctx) => void;
  /** Exit code; a list for commands whose internals another change owns (install, upload, ...). */
  code: 1 | 2 | (1 | 2)[];
  /** What the error line must say: the file, field, path or flag at fault. */
  error: RegExp;
}

function childEnv(cwd: string, env: Record<string, string>): NodeJS.ProcessEnv {
  const base: Record<string, string | undefined> = { ...process.env };
  for (const k of ['COSIGN_PASSWORD', 'COSIGN_KEY', 'OSFORGE_DEBUG', 'BINARY_MIRROR', 'OSFORGE_IMAGES', 'OSFORGE_DIST']) delete base[k];
  return {
    ...base,
    DOCKER_HOST: `unix://${join(cwd, 'no-docker.sock')}`,
    OSFORGE_STATE_DIR: join(cwd, 'state'),
    OSFORGE_TOOLS_CACHE: join(cwd, 'tools-cache'),
    ...env,
  };
}

interface Result {
  status: number | null;
  out: string;
  err: string;
}

function run(args: string[], cwd: string, env: Record<string, string>): Result {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', input: '', timeout: 60_000, env: childEnv(cwd, env) });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

/** The same, without blocking: the corpus runs a few processes at a time (most of each is node start-up). */
function runAsync(args: string[], cwd: string, env: Record<string, string>): Promise<Result> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, env: childEnv(cwd, env), timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    child.on('close', (status) => done({ status, out, err }));
  });
}

/** The one error line: the only stderr line not indented. */
function checkOutput(stderr: string, error: RegExp): void {
  const lines = stderr.split('\n').filter((l) => l.trim() !== '');
  const heads = lines.filter((l) => !/^\s/.test(l));
  assert.is(heads.length, 1, `exactly one error line in:\n${stderr}`);
  assert.is(lines[0], heads[0], 'the error line comes first');
  assert.match(heads[0]!, /^error( \[[A-Z0-9_]+\])?: \S/);
  assert.match(heads[0]!, error);
  for (const l of lines.slice(1)) assert.match(l, /^ {2}\S/, `context lines are indented: ${l}`);
  assert.not.match(stderr, /^\s+at .*(:\d+:\d+\)?|node:internal)/m, `no stack trace:\n${stderr}`);
  assert.not.match(stderr, /node:internal|\.ts:\d+:\d+/);
}

const keyPair = generateKeyPair();
/** A consistent dist/ (not signed) in the case's directory. */
const dist = (ctx: Ctx) => {
  const d = join(ctx.cwd, 'dist');
  mkdirSync(d);
  makeDist(commit, d);
  return d;
};
const keyFiles = (ctx: Ctx) => {
  writeFileSync(join(ctx.cwd, 'cosign.pub'), encodePublicKey(keyPair.publicKey));
};

const cases: Case[] = [];

// The plan: every way of breaking images/ fails before any engine work, through each command that reads it.
const planCommands = ['dist', 'explain', 'lock'] as const;
planBreaks.forEach((b, i) => {
  const command = planCommands[i % planCommands.length]!;
  cases.push({
    name: `${command}: plan ${b.name}`,
    setup: (ctx) => {
      const c = copyImages();
      ctx.env.OSFORGE_IMAGES = c.images;
      ctx.cleanup = c.root;
      b.break(c.images);
    },
    args: () => [command],
    code: 1,
    error: b.error,
  });
});

cases.push(
  { name: 'no such command', args: () => ['bogus'], code: 2, error: /unknown command "bogus"/ },
  { name: 'option given as a command', args: () => ['--verbose'], code: 2, error: /unknown command "--verbose"/ },
  { name: 'dist: unknown option', args: () => ['dist', '--bogus'], code: 2, error: /osforge dist: Unknown option '--bogus'/ },
  {
    name: 'dist: value for a boolean flag',
    args: () => ['dist', '--verbose=yes'],
    code: 2,
    error: /osforge dist: Option '-v, --verbose' does not take an argument/,
  },
  { name: 'dist: --jobs 0', args: () => ['dist', '--jobs', '0'], code: 2, error: /--jobs 0 is not a whole number from 1 to 1024/ },
  { name: 'dist: --jobs not a number', args: () => ['dist', '-j', 'two', '--json'], code: 2, error: /--jobs two is not a whole number/ },
  {
    name: 'dist: OSFORGE_IMAGES points nowhere',
    setup: (ctx) => {
      ctx.env.OSFORGE_IMAGES = join(ctx.cwd, 'nope');
    },
    args: () => ['dist'],
    code: 1,
    error: /nope\/buckos\.json: file not found/,
  },
  { name: 'explain: positional argument', args: () => ['explain', 'now'], code: 2, error: /osforge explain: Unexpected argument 'now'/ },
  {
    name: 'explain: OSFORGE_IMAGES is a file',
    setup: (ctx) => {
      writeFileSync(join(ctx.cwd, 'f'), '');
      ctx.env.OSFORGE_IMAGES = join(ctx.cwd, 'f');
    },
    args: () => ['explain'],
    code: 1,
    error: /f\/buckos\.json: cannot read \(ENOTDIR\)/,
  },
  { name: 'query: no action', args: () => ['query'], code: 2, error: /expected "query deps <package>" or "query rdeps <package>", got ""/ },
  { name: 'query: unknown package', args: () => ['query', 'deps', 'nope'], code: 2, error: /no package "nope" in the plan/ },
  {
    name: 'query: --use names a flag the package lacks',
    args: () => ['query', 'rdeps', 'zlib', '--use', 'zlib:+ssl'],
    code: 1,
    error: /--use: package "zlib" has no USE flag "ssl" \(its iuse: none\)/,
  },
  { name: 'dist: --use without a package', args: () => ['dist', '--use', '+fdisk'], code: 2, error: /--use "\+fdisk": expected <package>:<flags>/ },
  {
    name: 'dist: --profile names no profile',
    args: () => ['dist', '--profile', 'minimal,nope'],
    code: 1,
    error: /profile "nope": no images\/profiles\/nope\/profile\.json/,
  },
  {
    name: 'query: --profile with a path',
    args: () => ['query', 'deps', 'busybox', '--profile', '../x'],
    code: 2,
    error: /--profile "\.\.\/x": not a profile name/,
  },
  {
    name: 'dist: --builders without a platform',
    args: () => ['dist', '--builders', 'arm64=box'],
    code: 2,
    error: /--builders: "arm64=box" is not linux\/<arch>=<endpoint>/,
  },
  {
    name: 'dist: --builders plain tcp',
    args: () => ['dist', '--builders', 'linux/arm64=tcp://127.0.0.1:1'],
    code: 2,
    error: /tcp:\/\/127\.0\.0\.1:1 is plain tcp without TLS/,
  },
  { name: 'cache: no action', args: () => ['cache'], code: 2, error: /unknown cache action ""/ },
  { name: 'cache: unknown action', args: () => ['cache', 'prune'], code: 2, error: /unknown cache action "prune"/ },
  { name: 'cache: bad size', args: () => ['cache', 'gc', '--max-size', 'lots'], code: 2, error: /--max-size "lots" is not a size/ },
  { name: 'cache: missing size', args: () => ['cache', 'gc', '--max-size'], code: 2, error: /Option '--max-size <value>' argument missing/ },
  { name: 'lock: unknown option', args: () => ['lock', '--all'], code: 2, error: /osforge lock: Unknown option '--all'/ },
  {
    name: 'clean-tools-cache: positional argument',
    args: () => ['clean-tools-cache', 'all'],
    code: 2,
    error: /osforge clean-tools-cache: Unexpected argument 'all'/,
  },
  {
    name: 'clean-tools-cache: $OSFORGE_TOOLS_CACHE is the current directory',
    setup: (ctx) => {
      ctx.env.OSFORGE_TOOLS_CACHE = '.';
      writeFileSync(join(ctx.cwd, 'keep'), '');
    },
    args: () => ['clean-tools-cache'],
    code: 2,
    error: /refusing to delete \S+: it is or contains the current directory/,
  },
  {
    name: 'clean-tools-cache: $OSFORGE_TOOLS_CACHE is /',
    setup: (ctx) => {
      ctx.env.OSFORGE_TOOLS_CACHE = '/';
    },
    args: () => ['clean-tools-cache'],
    code: 2,
    error: /refusing to delete \/: it is or contains/,
  },
  {
    name: 'dist: $OSFORGE_TOOLS_CACHE_PUBKEY names no file',
    setup: (ctx) => {
      ctx.env.OSFORGE_TOOLS_CACHE_PUBKEY = join(ctx.cwd, 'none.pub');
    },
    args: () => ['dist', '--plain'],
    code: 1,
    error: /OSFORGE_TOOLS_CACHE_PUBKEY: cannot read public key \S+none\.pub: ENOENT/,
  },
  { name: 'sign-tools-cache: no key', args: () => ['sign-tools-cache'], code: 2, error: /sign-tools-cache: no signing key/ },
  {
    name: 'sign-tools-cache: a cache this machine did not write (a restored or forged one) is not signed',
    setup: (ctx) => {
      mkdirSync(join(ctx.cwd, 'tools-cache', 'toolchain', 'root'), { recursive: true });
      writeFileSync(
        join(ctx.cwd, 'tools-cache', 'toolchain', 'index.json'),
        JSON.stringify({ key: 'k'.repeat(64), files: [{ path: 'x', type: 'directory' }] }),
      );
      mkdirSync(join(ctx.cwd, 'tools-cache', 'toolchain', 'root', 'x'));
      ctx.env.COSIGN_PASSWORD = 'hello';
    },
    args: () => ['sign-tools-cache', '--key', join(root, 'test/fixtures/cosign/cosign-label-n32768.key')],
    code: 1,
    error: /not signing \S+toolchain: \S+index\.json is not trusted: it was not written by this machine/,
  },
  { name: 'package: --upload without --mirror-url', args: () => ['package', '--upload'], code: [1, 2], error: /--mirror-url/ },
  {
    name: 'package: manifest missing',
    args: (ctx) => ['package', '--manifest', join(ctx.cwd, 'none', 'manifest.json')],
    code: [1, 2],
    error: /none\/manifest\.json/,
  },
  { name: 'package: missing value', args: () => ['package', '--output-dir'], code: 2, error: /--output-dir/ },
  { name: 'upload: no --source', args: () => ['upload'], code: [1, 2], error: /--source/ },
  { name: 'upload: source missing', args: (ctx) => ['upload', '--source', join(ctx.cwd, 'nosrc'), '--generate-index-only'], code: [1, 2], error: /nosrc/ },
  {
    name: 'upload: conflicting flags',
    args: (ctx) => ['upload', '--source', ctx.cwd, '--mirror', join(ctx.cwd, 'm'), '--generate-index-only'],
    code: [1, 2],
    error: /--generate-index-only|--mirror/,
  },
  { name: 'install: no package', args: () => ['install'], code: [1, 2], error: /package/ },
  { name: 'install: missing --prefix value', args: () => ['install', 'zlib', '--prefix'], code: 2, error: /--prefix/ },
  { name: 'install: package name with ../', args: (ctx) => ['install', '../x', '--mirror-url', join(ctx.cwd, 'mirror')], code: [1, 2], error: /\.\.\/x/ },
  { name: 'uninstall: no package', args: () => ['uninstall'], code: [1, 2], error: /package/ },
  {
    name: 'config-update: --merge with --discard',
    args: (ctx) => ['config-update', '--prefix', ctx.cwd, '--merge', 'etc/a', '--discard', 'etc/a'],
    code: 2,
    error: /--merge and --discard cannot be combined/,
  },
  {
    name: 'config-update: a prefix that does not exist',
    args: (ctx) => ['config-update', '--prefix', join(ctx.cwd, 'no-such-prefix')],
    code: 2,
    error: /no-such-prefix does not exist/,
  },
  {
    name: 'config-update: a path with ..',
    args: (ctx) => ['config-update', '--prefix', ctx.cwd, '--merge', '../../etc/passwd'],
    code: 2,
    error: /has no "\.\." in its path/,
  },
  {
    name: 'config-update: nothing pending for the file',
    args: (ctx) => ['config-update', '--prefix', ctx.cwd, '--discard', 'etc/hosts'],
    code: 2,
    error: /no pending config update for \/etc\/hosts/,
  },
  { name: 'config-update: unknown option', args: () => ['config-update', '--bogus'], code: 2, error: /--bogus/ },
  { name: 'uninstall: package name with /', args: (ctx) => ['uninstall', 'a/b', '--prefix', ctx.cwd], code: [1, 2], error: /a\/b/ },
  { name: 'uninstall: unknown option', args: () => ['uninstall', 'zlib', '--purge'], code: 2, error: /--purge/ },
  {
    name: 'keygen: missing directory',
    args: (ctx) => ['keygen', '--output-key-prefix', join(ctx.cwd, 'no', 'such', 'k')],
    code: 2,
    error: /key directory \S+\/no\/such does not exist/,
  },
  {
    name: 'keygen: directory is a file',
    setup: (ctx) => writeFileSync(join(ctx.cwd, 'f'), ''),
    args: (ctx) => ['keygen', '--output-key-prefix', join(ctx.cwd, 'f', 'k')],
    code: 2,
    error: /key directory \S+\/f is not a directory/,
  },
  { name: 'keygen: no password, no terminal', args: () => ['keygen'], code: 1, error: /COSIGN_PASSWORD/ },
  {
    name: 'keygen: empty password',
    setup: (ctx) => {
      ctx.env.COSIGN_PASSWORD = '';
    },
    args: () => ['keygen'],
    code: 2,
    error: /refusing to write \S+cosign\.key with an empty password/,
  },
  {
    name: 'keygen: key exists',
    setup: (ctx) => {
      writeFileSync(join(ctx.cwd, 'cosign.key'), 'x');
      ctx.env.COSIGN_PASSWORD = 'pw';
    },
    args: () => ['keygen'],
    code: 2,
    error: /cosign\.key already exists/,
  },
  { name: 'keygen: missing prefix value', args: () => ['keygen', '--output-key-prefix'], code: 2, error: /--output-key-prefix/ },
  { name: 'sign: missing dist', args: (ctx) => ['sign', join(ctx.cwd, 'nodist')], code: 1, error: /release directory \S+\/nodist does not exist/ },
  { name: 'sign: two dists', args: () => ['sign', 'a', 'b'], code: 2, error: /sign takes one release directory, got 2/ },
  { name: 'sign: missing --key value', args: () => ['sign', '--key'], code: 2, error: /Option '--key <value>' argument missing/ },
  {
    name: 'sign: stray file in dist',
    setup: (ctx) => {
      writeFileSync(join(dist(ctx), 'stray.txt'), 'x');
      ctx.env.COSIGN_PASSWORD = 'hello';
    },
    args: (ctx) => ['sign', join(ctx.cwd, 'dist'), '--key', join(root, 'test/fixtures/cosign/cosign-label-n32768.key'), '--repo', repo],
    code: 1,
    error: /refusing to sign \S+dist: 1 file\(s\) not listed in manifest\.json: stray\.txt/,
  },
  {
    name: 'sign: stray .sig in dist',
    setup: (ctx) => {
      writeFileSync(join(dist(ctx), 'install-me.sh.sig'), 'x');
      ctx.env.COSIGN_PASSWORD = 'hello';
    },
    args: (ctx) => ['sign', join(ctx.cwd, 'dist'), '--key', join(root, 'test/fixtures/cosign/cosign-label-n32768.key'), '--repo', repo],
    code: 1,
    error: /not listed in manifest\.json: install-me\.sh\.sig/,
  },
  {
    name: 'sign: key file missing',
    setup: (ctx) => {
      dist(ctx);
      ctx.env.COSIGN_PASSWORD = 'pw';
    },
    args: (ctx) => ['sign', join(ctx.cwd, 'dist'), '--key', join(ctx.cwd, 'none.key')],
    code: 1,
    error: /cannot read private key \S+none\.key/,
  },
  {
    name: 'sign: stray file, no key configured (not "skipped")',
    setup: (ctx) => {
      writeFileSync(join(dist(ctx), 'evil.sh'), 'x');
    },
    args: (ctx) => ['sign', join(ctx.cwd, 'dist')],
    code: 1,
    error: /refusing to sign \S+dist: 1 file\(s\) not listed in manifest\.json: evil\.sh/,
  },
  {
    name: 'sign: --require-key without a key',
    setup: dist,
    args: (ctx) => ['sign', join(ctx.cwd, 'dist'), '--require-key'],
    code: 1,
    error: /cannot sign \S+dist: no key configured/,
  },
  {
    name: 'sign: manifest.json not JSON',
    setup: (ctx) => {
      writeFileSync(join(dist(ctx), 'manifest.json'), '{');
      ctx.env.COSIGN_PASSWORD = 'hello';
    },
    args: (ctx) => ['sign', join(ctx.cwd, 'dist'), '--key', join(root, 'test/fixtures/cosign/cosign-label-n32768.key')],
    code: 1,
    error: /dist\/manifest\.json is not valid JSON/,
  },
  {
    name: 'sign: manifest.json with a null package',
    setup: (ctx) => {
      const p = join(dist(ctx), 'manifest.json');
      const m = JSON.parse(readFileSync(p, 'utf8'));
      m.packages[1] = null;
      writeFileSync(p, JSON.stringify(m));
      ctx.env.COSIGN_PASSWORD = 'hello';
    },
    args: (ctx) => ['sign', join(ctx.cwd, 'dist'), '--key', join(root, 'test/fixtures/cosign/cosign-label-n32768.key')],
    code: 1,
    error: /dist\/manifest\.json: packages\[1\]: expected an object, found null/,
  },
  {
    name: 'sign: manifest.json artifact size a string',
    setup: (ctx) => {
      const p = join(dist(ctx), 'manifest.json');
      const m = JSON.parse(readFileSync(p, 'utf8'));
      m.artifacts[0].size = '12';
      writeFileSync(p, JSON.stringify(m));
    },
    args: (ctx) => ['sign', join(ctx.cwd, 'dist')],
    code: 1,
    error: /dist\/manifest\.json: artifacts\[0\]\.size: expected a number, found "12"/,
  },
  {
    name: 'sign: dist without manifest.json',
    setup: (ctx) => {
      mkdirSync(join(ctx.cwd, 'dist'));
      ctx.env.COSIGN_PASSWORD = 'hello';
    },
    args: (ctx) => ['sign', join(ctx.cwd, 'dist'), '--key', join(root, 'test/fixtures/cosign/cosign-label-n32768.key')],
    code: 1,
    error: /cannot read \S+dist\/manifest\.json: ENOENT/,
  },
  {
    name: 'sign: --repo missing',
    setup: (ctx) => {
      dist(ctx);
      ctx.env.COSIGN_PASSWORD = 'hello';
    },
    args: (ctx) => ['sign', join(ctx.cwd, 'dist'), '--key', join(root, 'test/fixtures/cosign/cosign-label-n32768.key'), '--repo', join(ctx.cwd, 'norepo')],
    code: 2,
    error: /--repo \S+\/norepo: no such directory/,
  },
  {
    name: 'verify: missing dist',
    setup: keyFiles,
    args: (ctx) => ['verify', join(ctx.cwd, 'nodist')],
    code: 1,
    error: /release directory \S+\/nodist does not exist/,
  },
  {
    name: 'verify: dist is a file',
    setup: (ctx) => writeFileSync(join(ctx.cwd, 'd'), ''),
    args: (ctx) => ['verify', join(ctx.cwd, 'd')],
    code: 1,
    error: /release directory \S+\/d is not a directory/,
  },
  {
    name: 'verify: public key missing',
    setup: dist,
    args: (ctx) => ['verify', join(ctx.cwd, 'dist'), '--key', join(ctx.cwd, 'none.pub')],
    code: 1,
    error: /cannot read public key \S+none\.pub/,
  },
  {
    name: 'verify: public key garbage',
    setup: (ctx) => {
      dist(ctx);
      writeFileSync(join(ctx.cwd, 'bad.pub'), 'not a key');
    },
    args: (ctx) => ['verify', join(ctx.cwd, 'dist'), '--key', join(ctx.cwd, 'bad.pub')],
    code: 1,
    error: /cannot load public key \S+bad\.pub/,
  },
  { name: 'verify: two dists', args: () => ['verify', 'a', 'b'], code: 2, error: /verify takes one release directory, got 2/ },
  {
    name: 'changelog: repo missing',
    args: (ctx) => ['changelog', '--repo', join(ctx.cwd, 'norepo'), '--output', '-'],
    code: 2,
    error: /--repo \S+\/norepo: no such directory/,
  },
  {
    name: 'changelog: output below a file',
    setup: (ctx) => writeFileSync(join(ctx.cwd, 'f'), ''),
    args: (ctx) => ['changelog', '--repo', repo, '--output', join(ctx.cwd, 'f', 'CHANGELOG.md')],
    code: 2,
    error: /--output \S+\/f\/CHANGELOG\.md: \S+\/f is not a directory/,
  },
  {
    name: 'keygen: empty prefix (would write next to the cwd)',
    args: () => ['keygen', '--output-key-prefix='],
    code: 2,
    error: /osforge keygen: option '--output-key-prefix' is empty/,
  },
  {
    name: 'sign: empty --key',
    setup: dist,
    args: (ctx) => ['sign', join(ctx.cwd, 'dist'), '--key', ''],
    code: 2,
    error: /osforge sign: option '--key' is empty/,
  },
  { name: 'verify: empty dist argument', args: () => ['verify', ''], code: 2, error: /osforge verify: an argument is empty/ },
  { name: 'install: empty --prefix (would install into the cwd)', args: () => ['install', 'zlib', '--prefix', ''], code: 2, error: /--prefix/ },
  { name: 'changelog: empty --output', args: () => ['changelog', '--output='], code: 2, error: /osforge changelog: option '--output' is empty/ },
  { name: 'changelog: missing value', args: () => ['changelog', '--release-version'], code: 2, error: /--release-version/ },
);

// CORPUS_FILTER=sign runs only the cases whose name contains "sign" (for quick iteration).
const selected = cases.filter((x) => x.name.includes(process.env.CORPUS_FILTER ?? ''));
const results = new Map<Case, { ctx: Ctx; r: Result }>();
{
  const queue = [...selected];
  const worker = async () => {
    for (let c = queue.shift(); c; c = queue.shift()) {
      const ctx: Ctx = { cwd: tmp.make('case'), env: {} };
      c.setup?.(ctx);
      if (ctx.cleanup) tmp.adopt(ctx.cleanup);
      results.set(c, { ctx, r: await runAsync(c.args(ctx), ctx.cwd, ctx.env) });
    }
  };
  await Promise.all(Array.from({ length: 3 }, worker));
}

for (const c of selected) {
  test(c.name, () => {
    const { ctx, r } = results.get(c)!;
    const codes = Array.isArray(c.code) ? c.code : [c.code];
    assert.ok(codes.includes(r.status as 1 | 2), `exit ${r.status}, expected ${codes.join(' or ')}\n${r.err}`);
    checkOutput(r.err, c.error);
    assert.not.match(r.err, /ENGINE_UNAVAILABLE|no-docker\.sock/, 'failed before any engine work');
    assert.ok(existsSync(ctx.cwd), 'the working directory survives');
  });
}

test('the corpus covers every command `osforge --help` lists, and has at least 40 cases', () => {
  const help = run(['--help'], root, {}).out;
  const listed = [...help.matchAll(/^ {2}([a-z-]+) {2,}/gm)].map((m) => m[1]!);
  assert.equal(
    listed,
    commands.map((c) => c.name),
  );
  for (const name of listed) {
    assert.ok(
      cases.some((c) => c.args({ cwd: '/x', env: {} })[0] === name),
      `a bad-input case for ${name}`,
    );
  }
  assert.ok(cases.length >= 40, `${cases.length} cases`);
});

test('OSFORGE_DEBUG=1 adds the stack trace (and only then)', () => {
  const cwd = tmp.make('debug');
  const args = ['verify', join(cwd, 'nodist')];
  const plain = run(args, cwd, {});
  assert.not.match(plain.err, /^\s+at /m);
  const debug = run(args, cwd, { OSFORGE_DEBUG: '1' });
  assert.is(debug.status, 1);
  assert.match(debug.err.split('\n')[0]!, /^error \[CONFIG_INVALID\]: release directory .* does not exist$/);
  assert.match(debug.err, /^ {4}at .*dist-files\.ts:\d+:\d+/m);
});

test('verify: an extra install-me.sh.sig in a signed dist fails, named, exit 1', () => {
  const cwd = tmp.make('extra-sig');
  const d = join(cwd, 'dist');
  mkdirSync(d);
  makeDist(commit, d);
  const key = join(root, 'test/fixtures/cosign/cosign-label-n32768.key');
  const signed = run(['sign', d, '--key', key, '--repo', repo], cwd, { COSIGN_PASSWORD: 'hello' });
  assert.is(signed.status, 0, signed.err);
  // The public key of the fixture, derived the way cli.test.ts does.
  const derive = spawnSync(
    join(root, 'node_modules/.bin/tsx'),
    [
      '-e',
      `
    import(${JSON.stringify(join(root, 'pipeline/crypto/keys.ts'))}).then(async (k) => {
      const fs = await import('node:fs');
      const kp = await k.decodePrivateKey(fs.readFileSync(${JSON.stringify(key)}, 'utf8'), 'hello');
      fs.writeFileSync('cosign.pub', k.encodePublicKey(kp.publicKey));
    });`,
    ],
    { cwd, encoding: 'utf8' },
  );
  assert.is(derive.status, 0, derive.stderr);
  const ok = run(['verify', d], cwd, {});
  assert.is(ok.status, 0, ok.out);
  writeFileSync(join(d, 'install-me.sh.sig'), readFileSync(join(d, 'SHA256SUMS.sig')));
  const bad = run(['verify', d], cwd, {});
  assert.is(bad.status, 1);
  assert.match(bad.out, /^FAIL {2}install-me\.sh\.sig\n {8}coverage: a signature file, but install-me\.sh is not a signed file of this release$/m);
  assert.match(bad.out, /: 9 of 10 files passed/);
});

test.after(() => tmp.removeAll());

test.run();
