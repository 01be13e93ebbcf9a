// The digest a compiled build is stamped with: every file under pipeline/
// (by path and content) plus the compiler settings. The bin recomputes it on
// every start, so an edited source can never run as its stale build; reading
// ~0.6 MB and hashing it costs a few milliseconds, far below tsx's start.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

export const BUILD_DIR = 'node_modules/.cache/osforge-build';

/** sha256 over pipeline/** and tsconfig.json of the checkout at `root`. */
export function sourceHash(root) {
  const h = createHash('sha256');
  const files = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) files.push(p);
    }
  };
  walk(join(root, 'pipeline'));
  files.push(join(root, 'tsconfig.json'));
  files.sort();
  for (const f of files)
    h.update(`${relative(root, f)}\0`)
      .update(readFileSync(f))
      .update('\0');
  return h.digest('hex');
}
