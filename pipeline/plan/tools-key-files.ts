// Which files of the repo the tools stage's key is made from. CI caches
// tools-cache/ under a hash of exactly these files (`hashFiles(...)` in
// .github/workflows/release.yml); a unit test holds the two together, and an
// input added to the tools key without a file here fails that test.
import type { StageNode } from '../model/stage-key.ts';

/** Tools-key input name (or `prefix:`) → the repo files (or `dir/**`) it is derived from. */
const FILES_OF_INPUT: [match: RegExp, files: string[]][] = [
  // buildenv's rootfs input: base suite/variant/epoch, the builder's packages and their locked versions.
  [/^buildenv$/, ['images/buckos.json', 'images/builder/builder.json', 'images/lock.json']],
  [/^source:/, ['images/sources.json']],
  [/^file:/, ['images/tools/**']],
];

export function toolsKeyFiles(tools: StageNode): string[] {
  const files = new Set<string>();
  for (const [name] of tools.inputs) {
    const hit = FILES_OF_INPUT.find(([re]) => re.test(name));
    if (!hit) throw new Error(`tools key input ${JSON.stringify(name)} has no source file in pipeline/plan/tools-key-files.ts`);
    for (const f of hit[1]) files.add(f);
  }
  return [...files].sort();
}
