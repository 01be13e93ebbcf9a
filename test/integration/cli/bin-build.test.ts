// The `osforge` bin runs its compiled build only while that build's stamp
// matches the sources: real node processes over a temp checkout with its own
// pipeline/, a build dir and tsx linked in. An edited source, a missing stamp
// or OSFORGE_NO_BUILD=1 must run the sources; a stale build must never run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BUILD_DIR, sourceHash } from '../../../pipeline/bin/source-hash.mjs';

const repo = resolve(import.meta.dirname, '../../..');
const dir = mkdtempSync(join(tmpdir(), 'osforge-bin-'));

function checkout(): void {
  mkdirSync(join(dir, 'pipeline/bin'), { recursive: true });
  for (const f of ['osforge.js', 'source-hash.mjs']) copyFileSync(join(repo, 'pipeline/bin', f), join(dir, 'pipeline/bin', f));
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(join(dir, 'tsconfig.json'), '{}\n');
  writeFileSync(join(dir, 'pipeline/cli.ts'), "const from: string = 'sources';\nconsole.log(from);\n");
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  symlinkSync(join(repo, 'node_modules/tsx'), join(dir, 'node_modules/tsx'));
  mkdirSync(join(dir, BUILD_DIR, 'pipeline'), { recursive: true });
  writeFileSync(join(dir, BUILD_DIR, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(join(dir, BUILD_DIR, 'pipeline/cli.js'), "console.log('build');\n");
}

const run = (env: Record<string, string> = {}) => {
  const r = spawnSync(process.execPath, [join(dir, 'pipeline/bin/osforge.js')], { encoding: 'utf8', env: { ...process.env, ...env } });
  assert.is(r.status, 0, r.stderr);
  return r.stdout.trim();
};
const stamp = (hash: string) => writeFileSync(join(dir, BUILD_DIR, 'stamp'), `${hash}\n`);

test.before(checkout);
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('a build whose stamp matches the sources runs; OSFORGE_NO_BUILD=1 runs the sources', () => {
  stamp(sourceHash(dir));
  assert.is(run(), 'build');
  assert.is(run({ OSFORGE_NO_BUILD: '1' }), 'sources');
});

test('an edit after the build makes it stale: the sources run, not the build', () => {
  stamp(sourceHash(dir));
  writeFileSync(join(dir, 'pipeline/cli.ts'), "const from: string = 'sources';\nconsole.log(from); // edited\n");
  assert.is(run(), 'sources');
  // A new file counts as an edit too.
  stamp(sourceHash(dir));
  assert.is(run(), 'build');
  writeFileSync(join(dir, 'pipeline/new.ts'), 'export {};\n');
  assert.is(run(), 'sources');
});

test('no stamp (an interrupted build) or a changed tsconfig.json: the sources run', () => {
  rmSync(join(dir, BUILD_DIR, 'stamp'));
  assert.is(run(), 'sources');
  stamp(sourceHash(dir));
  writeFileSync(join(dir, 'tsconfig.json'), '{ "compilerOptions": {} }\n');
  assert.is(run(), 'sources');
});

// The real build of this checkout: made if stale, then its paths.js must find this checkout (not the build dir) as the repo.
test("the compiled build resolves the repo root to the checkout, and its --help matches the sources'", () => {
  const b = spawnSync(process.execPath, [join(repo, 'pipeline/bin/build.mjs'), '--if-stale'], { encoding: 'utf8' });
  assert.is(b.status, 0, b.stderr);
  const paths = join(repo, BUILD_DIR, 'pipeline/paths.js');
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `import(${JSON.stringify(paths)}).then((m) => console.log(m.repoRoot))`], {
    encoding: 'utf8',
  });
  assert.is(r.stdout.trim(), repo);
  const compiled = spawnSync(process.execPath, [join(repo, 'pipeline/bin/osforge.js'), 'dist', '--help'], { encoding: 'utf8' });
  const sources = spawnSync(process.execPath, [join(repo, 'pipeline/bin/osforge.js'), 'dist', '--help'], {
    encoding: 'utf8',
    env: { ...process.env, OSFORGE_NO_BUILD: '1' },
  });
  assert.is(compiled.status, 0);
  assert.is(compiled.stdout, sources.stdout);
});

test.run();
