// The layout, enforced: every import under pipeline/ (type-only ones too)
// must follow the layer rules below, and no module may reach itself through
// its imports. A layout that is not checked decays; this is the check. The
// same rules are written in README.md's "Layout" section.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import ts from 'typescript';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../../pipeline');

/**
 * Which layers each layer may import (besides itself). A layer is a folder
 * under pipeline/, or a top-level module (cli, paths, settings, errors).
 * Downward only: cli → commands → app → graph → steps → engine, with plan,
 * outputs, cache and the leaves (crypto, model, util, errors) below them.
 */
export const RULES: Readonly<Record<string, readonly string[]>> = {
  bin: ['cli'],
  cli: ['commands', 'errors', 'settings'],
  commands: ['app', 'plan', 'binpkg', 'sign', 'release', 'outputs', 'cache', 'crypto', 'model', 'util', 'errors', 'paths', 'settings'],
  app: ['graph', 'steps', 'plan', 'outputs', 'engine', 'cache', 'binpkg', 'sign', 'crypto', 'model', 'util', 'errors', 'paths', 'settings'],
  graph: ['steps', 'outputs', 'plan', 'engine', 'cache', 'binpkg', 'crypto', 'model', 'util', 'errors', 'paths', 'settings'],
  steps: ['engine', 'host', 'outputs', 'plan', 'cache', 'crypto', 'model', 'util', 'errors', 'paths', 'settings'],
  binpkg: ['sign', 'plan', 'cache', 'crypto', 'model', 'util', 'errors', 'paths', 'settings'],
  sign: ['release', 'outputs', 'plan', 'crypto', 'model', 'util', 'errors', 'paths', 'settings'],
  release: ['util', 'errors', 'paths', 'settings'],
  outputs: ['plan', 'model', 'util', 'errors', 'paths', 'settings'],
  plan: ['model', 'util', 'errors', 'paths', 'settings'],
  engine: ['host', 'model', 'util', 'errors', 'settings'],
  host: ['util', 'errors', 'settings'],
  cache: ['crypto', 'model', 'util', 'errors', 'paths', 'settings'],
  crypto: ['util', 'errors', 'settings'],
  model: ['util', 'errors'],
  util: ['errors', 'settings'],
  paths: ['settings'],
  settings: [],
  errors: ['settings'],
};

/**
 * Edges the rules do not allow yet, each with its reason (none today: the
 * signing primitives moved to crypto/, the INI parser to util/, the dist/ file
 * names to model/, and `osforge lock` got its app/ root). The test fails when
 * one of them disappears, so the list only shrinks.
 */
export const EXCEPTIONS: Readonly<Record<string, string>> = {};

const layerOf = (file: string): string => {
  const [first, ...rest] = relative(root, file).split('/');
  return rest.length ? first! : first!.replace(/\.(ts|js|mjs)$/, '');
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return /\.(ts|mjs|js)$/.test(e.name) && !e.name.endsWith('.d.mts') ? [p] : [];
  });
}

/** Every relative import of every module (ts.preProcessFile: static, dynamic and type-only ones). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sources(root)) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    graph.set(
      file,
      info.importedFiles.filter((i) => i.fileName.startsWith('.')).map((i) => resolve(dirname(file), i.fileName)),
    );
  }
  return graph;
}

/** Strongly connected components with more than one module, or a module importing itself (Tarjan). */
export function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
}

/** Edges between layers that RULES does not allow and EXCEPTIONS does not name. */
export function violations(graph: Map<string, string[]>): { bad: string[]; unusedExceptions: string[] } {
  const bad: string[] = [];
  const used = new Set<string>();
  for (const [file, targets] of graph) {
    const from = layerOf(file);
    for (const t of targets) {
      const to = layerOf(t);
      if (from === to) continue;
      const edge = `${relative(root, file)} -> ${relative(root, t)}`;
      if (!(from in RULES)) {
        bad.push(`${edge} (layer "${from}" has no rule)`);
        continue;
      }
      if (RULES[from]!.includes(to)) continue;
      if (edge in EXCEPTIONS) {
        used.add(edge);
        continue;
      }
      bad.push(`${edge} (${from} may not import ${to})`);
    }
  }
  return { bad, unusedExceptions: Object.keys(EXCEPTIONS).filter((e) => !used.has(e)) };
}

test('every import under pipeline/ follows the layer rules', () => {
  const { bad, unusedExceptions } = violations(importGraph());
  assert.equal(bad, [], `edges the rules do not allow:\n  ${bad.join('\n  ')}`);
  assert.equal(unusedExceptions, [], 'an exception that no longer happens must be removed from EXCEPTIONS');
});

test('no import circle under pipeline/', () => {
  const found = cycles(importGraph()).map((c) => c.map((f) => relative(root, f)));
  assert.equal(found, [], `import circles:\n  ${found.map((c) => c.join(' <-> ')).join('\n  ')}`);
});

/**
 * Files that still read variables themselves: only the bin, which runs before any module loads. The test fails when one stops, so the list only shrinks.
 */
export const ENV_READERS: Readonly<Record<string, string>> = {
  'bin/osforge.js': 'OSFORGE_NO_BUILD decides which code runs, before settings.ts can load',
};

test('environment variables are read in settings.ts only (named reads: process.env.X, env.X, env[...])', () => {
  const readers = sources(root)
    .map((f) => relative(root, f))
    .filter((f) => f !== 'settings.ts')
    .filter((f) => /\b(?:process\.)?env\s*\[|\b(?:process\.)?env\.[A-Z][A-Z0-9_]+/.test(readFileSync(join(root, f), 'utf8')));
  assert.equal(
    readers.filter((f) => !(f in ENV_READERS)),
    [],
    'read it through settings() (pipeline/settings.ts) instead',
  );
  assert.equal(
    Object.keys(ENV_READERS).filter((f) => !readers.includes(f)),
    [],
    'a file that no longer reads the environment must leave ENV_READERS',
  );
});

test('every layer named in a rule exists as a rule of its own (no typo that allows nothing)', () => {
  for (const [layer, deps] of Object.entries(RULES)) for (const d of deps) assert.ok(d in RULES, `${layer} names unknown layer ${d}`);
});

/**
 * Inside graph/: the stage kinds (graph/kinds/) sit below compile and the
 * runner. A kind module may import, of graph/, only other kinds and the
 * shared vocabulary (GRAPH_SHARED); outside kinds/, only compile.ts names
 * the registry, and only the kinds' type module (kinds/kind.ts) is imported
 * elsewhere (assemble-dist.ts runs their contributions). So the runner and
 * the app hold no stage-specific code, and adding a kind is one module and
 * one registry line.
 */
export const GRAPH_SHARED = ['graph/stage.ts', 'graph/keys.ts', 'graph/values.ts', 'graph/assemble-dist.ts'];
export const KIND_IMPORTERS: Readonly<Record<string, readonly string[]>> = {
  'graph/compile.ts': ['graph/kinds/kind.ts', 'graph/kinds/registry.ts'],
  'graph/assemble-dist.ts': ['graph/kinds/kind.ts'],
};

export function kindViolations(graph: Map<string, string[]>): string[] {
  const bad: string[] = [];
  for (const [file, targets] of graph) {
    const from = relative(root, file);
    for (const t of targets.map((t) => relative(root, t))) {
      const edge = `${from} -> ${t}`;
      if (from.startsWith('graph/kinds/')) {
        if (t.startsWith('graph/') && !t.startsWith('graph/kinds/') && !GRAPH_SHARED.includes(t))
          bad.push(`${edge} (a kind imports only kinds and ${GRAPH_SHARED.join(', ')})`);
      } else if (t.startsWith('graph/kinds/') && !(KIND_IMPORTERS[from] ?? []).includes(t)) {
        bad.push(`${edge} (outside graph/kinds/, only compile.ts names the registry)`);
      }
    }
  }
  return bad;
}

test('inside graph/: kinds import only kinds and the shared vocabulary; only compile.ts names the registry', () => {
  const bad = kindViolations(importGraph());
  assert.equal(bad, [], `edges the graph/kinds rules do not allow:\n  ${bad.join('\n  ')}`);
  const p = (f: string) => join(root, f);
  assert.equal(
    kindViolations(
      new Map([
        [p('graph/kinds/a.ts'), [p('graph/run.ts')]],
        [p('graph/run.ts'), [p('graph/kinds/a.ts')]],
      ]),
    ),
    [
      'graph/kinds/a.ts -> graph/run.ts (a kind imports only kinds and graph/stage.ts, graph/keys.ts, graph/values.ts, graph/assemble-dist.ts)',
      'graph/run.ts -> graph/kinds/a.ts (outside graph/kinds/, only compile.ts names the registry)',
    ],
  );
});

// The checks themselves must be able to fail: an upward edge and a circle in a made-up graph.
test('the checks catch an upward edge and a circle', () => {
  const p = (f: string) => join(root, f);
  const g = new Map([
    [p('util/a.ts'), [p('graph/b.ts')]],
    [p('graph/b.ts'), [p('util/a.ts')]],
    [p('plan/c.ts'), [p('steps/d.ts')]],
    [p('steps/d.ts'), []],
  ]);
  assert.equal(violations(g).bad, ['util/a.ts -> graph/b.ts (util may not import graph)', 'plan/c.ts -> steps/d.ts (plan may not import steps)']);
  assert.equal(
    cycles(g).map((c) => c.map((f) => relative(root, f))),
    [['graph/b.ts', 'util/a.ts']],
  );
});

test.run();
