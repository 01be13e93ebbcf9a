import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { loadPlan, orderPackages, validateSources } from '../../../pipeline/plan/load.ts';
import type { PackageRecipe } from '../../../pipeline/plan/types.ts';
import { OsforgeError } from '../../../pipeline/errors.ts';

const images = join(import.meta.dirname, '../../../images');
const recipe = (name: string, deps: string[] = []): PackageRecipe => ({ name, version: '1', sources: [], deps, files: {} });

test('the shipped plan loads with both arches and dependency order', () => {
  const plan = loadPlan(images);
  assert.equal(plan.arches, ['amd64', 'arm64']);
  const names = plan.packages.map((p) => p.name);
  assert.ok(names.indexOf('busybox') < names.indexOf('baselayout'), 'baselayout depends on busybox');
  for (const p of plan.packages) for (const s of p.sources) assert.ok(plan.sources[s], `${p.name} source ${s}`);
  assert.ok(Object.isFrozen(plan));
});

test('orderPackages puts dependencies first and rejects cycles and unknown deps', () => {
  assert.equal(orderPackages([recipe('b', ['a']), recipe('a')]).map((r) => r.name), ['a', 'b']);
  assert.throws(() => orderPackages([recipe('a', ['b']), recipe('b', ['a'])]), /cycle: a -> b -> a/);
  assert.throws(() => orderPackages([recipe('a', ['zz'])]), /unknown package "zz"/);
});

test('validateSources names the source and the field at fault', () => {
  try {
    validateSources({ musl: { version: '1', file: 'm.tgz', sha256: 'abc', urls: ['x'] } }, 'sources.json');
    assert.unreachable();
  } catch (err) {
    assert.instance(err, OsforgeError);
    assert.match((err as Error).message, /sources\.json: source "musl" has no valid "sha256"/);
  }
  assert.throws(() => validateSources({ x: { version: '1', file: '../evil', sha256: 'a'.repeat(64), urls: ['u'] } }, 's'), /plain file name/);
  assert.throws(() => validateSources({ x: { version: '1', file: 'x.tgz', sha256: 'a'.repeat(64) } }, 's'), /no fetch location/);
});

test.run();
