#!/usr/bin/env node
// Compiles pipeline/ to JavaScript for the `osforge` bin (npm ci's
// postinstall, make setup): tsc with pipeline/bin/tsconfig.build.json into
// node_modules/.cache/osforge-build/, then a stamp of the sources it was
// built from. The hash is taken *before* compiling, so a source edited
// while tsc runs leaves a stamp that no longer matches: the bin then runs
// the sources through tsx rather than that build. `--if-stale` skips the
// compile when the stamp already matches. tsx stays for development and tests.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { BUILD_DIR, sourceHash } from './source-hash.mjs';

const root = resolve(import.meta.dirname, '../..');
const out = join(root, BUILD_DIR);
const stampFile = join(out, 'stamp');
const hash = sourceHash(root);
if (process.argv.includes('--if-stale') && existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === hash) process.exit(0);
const tsc = join(root, 'node_modules/typescript/bin/tsc');
if (!existsSync(tsc)) {
  process.stderr.write('osforge build: typescript is not installed (npm ci installs it); the bin runs the sources through tsx meanwhile\n');
  process.exit(0);
}
mkdirSync(out, { recursive: true });
try {
  execFileSync(process.execPath, [tsc, '-p', join(root, 'pipeline/bin/tsconfig.build.json')], { stdio: 'inherit', cwd: root });
} catch {
  process.stderr.write('osforge build: tsc failed (see above); the bin runs the sources through tsx until a build succeeds\n');
  process.exit(1);
}
// The ESM marker and the stamp; temp + rename so a reader never sees half a stamp.
writeFileSync(join(out, 'package.json'), '{ "type": "module" }\n');
const tmp = `${stampFile}.${process.pid}`;
writeFileSync(tmp, `${hash}\n`);
renameSync(tmp, stampFile);
mkdirSync(dirname(stampFile), { recursive: true });
