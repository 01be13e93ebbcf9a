#!/usr/bin/env node
// The `osforge` command (npx osforge, node_modules/.bin/osforge): runs the
// compiled JavaScript that pipeline/bin/build.mjs made (npm ci, make setup)
// when its stamp matches the sources in this checkout, else the TypeScript
// sources through tsx's loader. A stale build can never run: an edit changes
// the hash, and the sources run until the next build. OSFORGE_NO_BUILD=1
// always runs the sources.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BUILD_DIR, sourceHash } from './source-hash.mjs';

const root = resolve(import.meta.dirname, '../..');
const stampFile = join(root, BUILD_DIR, 'stamp');
const built = join(root, BUILD_DIR, 'pipeline/cli.js');
const fresh = process.env.OSFORGE_NO_BUILD !== '1' && existsSync(stampFile) && existsSync(built) && readFileSync(stampFile, 'utf8').trim() === sourceHash(root);
if (fresh) {
  // OSFORGE_DEBUG=1 prints stack traces: through the build's source maps they name the .ts sources, as under tsx.
  if (process.env.OSFORGE_DEBUG === '1') process.setSourceMapsEnabled(true);
  await import(pathToFileURL(built).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli.ts');
}
