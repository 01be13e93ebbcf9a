// The package model end to end with real builds: a test tree (a copy of
// images/ plus a small "hello" package that declares USE loud and carries a
// patch directory) is loaded with loadPlan, keyed with stageGraph and built
// by stage2 in the real builder image with the real musl cross compiler;
// the static binary it stores is then run on this host. It shows that USE
// on/off changes the binary, the stage key and the seed-000 config hash; that
// a user patch changes the binary; and that a stale patch stops the build
// naming the patch, the package and the rejected hunk.
// It needs the builder image `make dist` builds: without it the suite says so
// and skips, unless OSFORGE_REQUIRE_BUILDER=1 (CI, after its cold dist).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LABEL_RUN } from '../../../pipeline/engine/engine.ts';
import { StageStore } from '../../../pipeline/cache/stage-store.ts';
import { stage2Package } from '../../../pipeline/stages/bootstrap.ts';
import { loadPlan } from '../../../pipeline/plan/load.ts';
import { stageGraph } from '../../../pipeline/plan/graph.ts';
import { configHash } from '../../../pipeline/binpkg/config-hash.ts';
import { formatError, OsforgeError } from '../../../pipeline/errors.ts';
import { copyImages, editJson } from '../../unit/plan/images-copy.ts';
import { engine, runId } from '../fixtures.ts';

const t = suite('package model: USE flags and patches in real stage2 builds');

const HELLO_C = `#include <stdio.h>
int main(void) {
#ifdef LOUD
  puts("HELLO");
#else
  puts("hello");
#endif
  return 0;
}
`;
const BUILD_SH = `#!/bin/sh
set -eu
mkdir -p /build && cp /recipe/hello.c /build/ && cd /build
"$APPLY_PATCHES" /build
$CC -static -O2 $USE_CONFIGURE -ffile-prefix-map=/build=. -o hello hello.c
mkdir -p "$OUT/usr/bin" && cp hello "$OUT/usr/bin/hello"
`;
const patchTo = (from: string, to: string) => `--- a/hello.c\n+++ b/hello.c\n@@ -4,3 +4,3 @@\n #else\n-  puts("${from}");\n+  puts("${to}");\n #endif\n`;

const c = copyImages();
const work = mkdtempSync(join(tmpdir(), 'osforge-pkgmodel-'));
const hello = join(c.images, 'packages/hello');
mkdirSync(hello, { recursive: true });
writeFileSync(join(hello, 'hello.c'), HELLO_C);
writeFileSync(join(hello, 'build.sh'), BUILD_SH);
writeFileSync(join(hello, 'recipe.json'), JSON.stringify({ name: 'hello', version: '1.0', license: 'MIT', iuse: ['loud'], use_configure: { loud: ['-DLOUD'] } }));
editJson(c.images, 'buckos.json', (j) => { j.packages.push('hello'); });
const userPatches = join(work, 'patches');

const opts = { buck2Sha256: null, sourceDateEpoch: 1700000000, formats: [], pipelineHash: 'test' };
const builderRef = `osforge/builder:${stageGraph(loadPlan(c.images), opts).builder.key.slice(0, 12)}`;
let available = false;

t.before(async () => {
  available = (await engine.inspectImage(builderRef)) !== null;
  if (!available && process.env.OSFORGE_REQUIRE_BUILDER === '1') throw new Error(`${builderRef} is missing: run make dist first`);
  if (!available) console.log(`package model: skipped (${builderRef} is not built; run make dist first, or set OSFORGE_REQUIRE_BUILDER=1 to fail)`);
});
t.after(async () => {
  await engine.removeByLabel(`${LABEL_RUN}=${runId}`);
  rmSync(work, { recursive: true, force: true });
  c.remove();
});

/** Builds hello for amd64 with these --use overrides; returns its key, config hash and what the binary prints. */
async function build(use: string[] = []) {
  const plan = loadPlan(c.images, { use, patchesDir: userPatches });
  const graph = stageGraph(plan, opts);
  const recipe = plan.packages.find((p) => p.name === 'hello')!;
  const n = graph.arches.get('amd64')!.packages.get('hello')!;
  const r = await stage2Package({
    engine, plan, arch: 'amd64', builderRef, sources: new Map(), store: new StageStore(join(work, 'stages')), runId, logDir: join(work, 'logs'), innerEpoch: 1700000000, jobs: 1,
  }, recipe, n, [], 'gcc test');
  const out = join(work, `out-${n.key.slice(0, 12)}`);
  mkdirSync(out, { recursive: true });
  execFileSync('tar', ['-xzf', r.path, '-C', out]);
  return { key: n.key, sha: r.meta.outputSha256!, hash: configHash({ arch: 'amd64', compiler: 'gcc test', useFlags: r.meta.useFlags, depGraphHash: n.key }), prints: execFileSync(join(out, 'usr/bin/hello'), { encoding: 'utf8' }).trim() };
}

t('USE on/off changes the binary, the stage key and the config hash', async () => {
  if (!available) return;
  const off = await build();
  const on = await build(['hello:+loud']);
  assert.is(off.prints, 'hello');
  assert.is(on.prints, 'HELLO');
  assert.is.not(on.key, off.key);
  assert.is.not(on.sha, off.sha);
  assert.is.not(on.hash, off.hash);
});

t('a user patch changes the binary; a stale one stops the build naming patch, package and hunk', async () => {
  if (!available) return;
  mkdirSync(join(userPatches, 'hello'), { recursive: true });
  writeFileSync(join(userPatches, 'hello', 'greet.patch'), patchTo('hello', 'hello, patched'));
  assert.is((await build()).prints, 'hello, patched');
  writeFileSync(join(userPatches, 'hello', 'greet.patch'), patchTo('good morning', 'good night'));
  try {
    await build();
    assert.unreachable('a stale patch built');
  } catch (err) {
    assert.instance(err, OsforgeError);
    const text = formatError(err, {});
    assert.match(text, /detected: patch user:hello\/greet\.patch does not apply to package hello/);
    assert.match(text, /\| -  puts\("good morning"\);/, 'the rejected hunk is in the log tail');
  } finally {
    rmSync(join(userPatches, 'hello'), { recursive: true, force: true });
  }
});

t.run();
