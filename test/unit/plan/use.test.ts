// USE flags: precedence (defaults < global < package.use < --use), unknown
// flags, REQUIRED_USE, use_deps and use_configure, and what a changed flag
// rebuilds (the package and its dependents only, with a named "use" input)
// and its seed-000 config hash.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  effectiveUse,
  parsePackageUse,
  parseRequiredUse,
  parseUseArg,
  unmetRequiredUse,
  useConfigure,
  useDeps,
  type UseInputs,
  type UseSpec,
} from '../../../pipeline/plan/use.ts';
import { loadPlan } from '../../../pipeline/plan/load.ts';
import { stageGraph, type GraphOptions } from '../../../pipeline/graph/keys.ts';
import { configHash } from '../../../pipeline/binpkg/config-hash.ts';
import { copyImages, editJson, repoImages } from './images-copy.ts';

const spec: UseSpec = {
  iuse: ['ssl', 'gnutls', 'ipv6', 'static'],
  defaults: ['ipv6'],
  deps: { ssl: ['openssl'] },
  configure: { ssl: ['--with-ssl'], '-ssl': ['--without-ssl'], ipv6: ['--enable-ipv6'], '-ipv6': ['--disable-ipv6'] },
  requiredUse: '?? ( ssl gnutls )',
};
const none: UseInputs = { global: [], perPackage: new Map() };
const inputs = (global: string[], pkgUse = '', cli: string[] = []): UseInputs => {
  const per = new Map<string, { tokens: { flag: string; on: boolean }[]; from: string }[]>();
  for (const m of [parsePackageUse(pkgUse, 'package.use'), ...cli.map(parseUseArg)]) for (const [k, v] of m) per.set(k, [...(per.get(k) ?? []), v]);
  return { global: global.map((g) => ({ flag: g.replace(/^[+-]/, ''), on: !g.startsWith('-') })), perPackage: per };
};

test('precedence: recipe defaults < global USE < package.use < --use', () => {
  assert.equal(effectiveUse('curl', spec, none), ['ipv6']);
  assert.equal(effectiveUse('curl', spec, inputs(['ssl', '-ipv6', 'X11'])), ['ssl'], 'global flags the package lacks are ignored');
  assert.equal(effectiveUse('curl', spec, inputs(['ssl'], 'curl -ssl static\n# comment\nother foo')), ['ipv6', 'static']);
  assert.equal(effectiveUse('curl', spec, inputs(['ssl'], 'curl -ssl', ['curl:+ssl,-ipv6'])), ['ssl']);
});

test('a flag the package lacks, named for it, is an error naming the package, the flag and the file', () => {
  assert.throws(
    () => effectiveUse('curl', spec, inputs([], 'curl +http3')),
    /package\.use:1: package "curl" has no USE flag "http3" \(its iuse: ssl, gnutls, ipv6, static\)/,
  );
  assert.throws(() => effectiveUse('curl', spec, inputs([], '', ['curl:+http3'])), /--use: package "curl" has no USE flag "http3"/);
  assert.throws(() => parseUseArg('curl'), /--use "curl": expected <package>:<flags>/);
  assert.throws(() => parseUseArg('curl:+Bad!'), /is not a USE flag/);
});

test('REQUIRED_USE: ^^, ||, ??, conditionals and negation, with an error naming the package, flags and constraint', () => {
  const check = (expr: string, on: string[]) => unmetRequiredUse(parseRequiredUse(expr), new Set(on));
  assert.is(check('^^ ( ssl gnutls )', ['ssl']), undefined);
  assert.match(check('^^ ( ssl gnutls )', [])!.needs, /exactly one of ssl, gnutls must hold/);
  assert.match(check('^^ ( ssl gnutls )', ['ssl', 'gnutls'])!.needs, /exactly one/);
  assert.is(check('|| ( ssl gnutls )', ['gnutls']), undefined);
  assert.match(check('|| ( ssl gnutls )', [])!.needs, /at least one of ssl, gnutls/);
  assert.is(check('static? ( !ssl )', ['ssl']), undefined);
  assert.match(check('static? ( !ssl )', ['ssl', 'static'])!.needs, /with static on: ssl must be off/);
  assert.is(check('!ipv6? ( static ) ssl', ['ipv6', 'ssl']), undefined);
  assert.match(check('!ipv6? ( static ) ssl', ['ipv6'])!.constraint, /^ssl$/);
  assert.throws(
    () => effectiveUse('curl', spec, inputs([], '', ['curl:+ssl,+gnutls'])),
    /package "curl": USE flags \[gnutls ipv6 ssl\] violate required_use "\?\? \( ssl gnutls \)": at most one of ssl, gnutls may hold/,
  );
  assert.throws(() => parseRequiredUse('|| ( a b'), /unclosed "\("/);
  assert.throws(() => parseRequiredUse('ssl? a'), /expected "\(" after/);
});

test('use_deps and use_configure follow the effective flags', () => {
  assert.equal(useDeps(spec, ['ssl']), ['openssl']);
  assert.equal(useDeps(spec, []), []);
  assert.equal(useConfigure(spec, ['ssl', 'ipv6']), ['--with-ssl', '--enable-ipv6']);
  assert.equal(useConfigure(spec, []), ['--without-ssl', '--disable-ipv6']);
});

// ---- the real tree: util-linux declares USE fdisk -------------------------------

const opts: GraphOptions = { buck2Sha256: null, sourceDateEpoch: 1, formats: [], pipelineHash: 'p' };
const keysOf = (use: string[] = []) => {
  const g = stageGraph(loadPlan(repoImages, { use }), opts);
  return new Map(g.nodes.map((n) => [n.id, n]));
};

test('the tree: util-linux has USE fdisk on by default, and its configure arguments follow it', () => {
  const ul = loadPlan(repoImages).packages.find((p) => p.name === 'util-linux')!;
  assert.equal(ul.use, { iuse: ['fdisk'], enabled: ['fdisk'], configure: ['--enable-fdisks=check'] });
  const off = loadPlan(repoImages, { use: ['util-linux:-fdisk'] }).packages.find((p) => p.name === 'util-linux')!;
  assert.equal(off.use, { iuse: ['fdisk'], enabled: [], configure: ['--disable-fdisks'] });
});

test('turning a flag off rebuilds that package and its dependents only, with the "use" input named', () => {
  const before = keysOf();
  const after = keysOf(['util-linux:-fdisk']);
  const changed = [...after]
    .filter(([id, n]) => before.get(id)!.key !== n.key)
    .map(([id]) => id)
    .sort();
  const expected = ['dist', ...['amd64', 'arm64'].flatMap((a) => [`stage2/${a}/util-linux`, `stage2/${a}/e2fsprogs`, `stage3/${a}`])].sort();
  assert.equal(changed, expected);
  const ul = after.get('stage2/amd64/util-linux')!.inputs;
  assert.equal(
    ul.find(([n]) => n === 'use'),
    ['use', '(none)'],
  );
  assert.equal(
    before.get('stage2/amd64/util-linux')!.inputs.find(([n]) => n === 'use'),
    ['use', 'fdisk'],
  );
  assert.not.ok(
    before.get('stage2/amd64/zlib')!.inputs.some(([n]) => n === 'use'),
    'a recipe without flags has no "use" input (its key is unchanged)',
  );
});

test('two USE configurations have two seed-000 config hashes', () => {
  const h = (useFlags: string[]) => configHash({ arch: 'amd64', compiler: 'gcc 12', useFlags, depGraphHash: 'k' });
  assert.is.not(h(['fdisk']), h([]));
});

test('package.use and buckos.json "use" in a tree: unknown packages and flags are refused', () => {
  const c = copyImages();
  try {
    writeFileSync(join(c.images, 'package.use'), '# local\nutil-linux -fdisk\n');
    assert.equal(loadPlan(c.images).packages.find((p) => p.name === 'util-linux')!.use!.enabled, []);
    writeFileSync(join(c.images, 'package.use'), 'no-such-pkg foo\n');
    assert.throws(() => loadPlan(c.images), /package\.use:1: USE flags for "no-such-pkg", which is not in the plan/);
    rmSync(join(c.images, 'package.use'));
    editJson(c.images, 'buckos.json', (j) => {
      j.use = ['-fdisk'];
    });
    assert.equal(loadPlan(c.images).packages.find((p) => p.name === 'util-linux')!.use!.enabled, []);
    assert.equal(loadPlan(c.images, { use: ['util-linux:+fdisk'] }).packages.find((p) => p.name === 'util-linux')!.use!.enabled, ['fdisk']);
    editJson(c.images, 'packages/util-linux/recipe.json', (j) => {
      j.use_defaults = ['nls'];
    });
    assert.throws(() => loadPlan(c.images), /recipe\.json: use_defaults\[0\]: expected a flag listed in iuse \(fdisk\), found "nls"/);
  } finally {
    c.remove();
  }
});

test.run();
