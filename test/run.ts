// Runs the uvu suites under tsx. `tsx test/run.ts [unit|integration|<dir or file under test/>]`,
// e.g. `tsx test/run.ts integration/binpkg` or `tsx test/run.ts integration/binpkg/tamper.test.ts`.
// uvu has no multi-file API for ESM+TypeScript, so this mirrors its CLI:
// defer every suite, import the files, then execute them together.
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = resolve(import.meta.dirname);
const only = process.argv[2];
const dirs = only ? [only] : ['unit', 'integration'];

function collect(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...collect(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const g = globalThis as { UVU_DEFER?: number; UVU_QUEUE?: unknown[][]; UVU_INDEX?: number };
g.UVU_DEFER = 1;
g.UVU_QUEUE = [];
const files = dirs.flatMap((d) => (d.endsWith('.test.ts') ? [join(root, d)] : collect(join(root, d))));
for (const [i, file] of files.entries()) {
  g.UVU_INDEX = i;
  g.UVU_QUEUE.push([file.slice(root.length + 1)]);
  await import(pathToFileURL(file).href);
}
const { exec } = await import('uvu');
await exec();
