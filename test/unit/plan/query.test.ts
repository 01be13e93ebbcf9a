// osforge query deps/rdeps on the real plan and on a diamond.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadPlan } from '../../../pipeline/plan/load.ts';
import { queryTree } from '../../../pipeline/plan/query.ts';
import type { PackageRecipe, Plan } from '../../../pipeline/plan/types.ts';
import { repoImages } from './images-copy.ts';

test('deps and rdeps of the real plan, with USE flags as resolved', () => {
  const plan = loadPlan(repoImages);
  assert.is(queryTree(plan, 'e2fsprogs', 'deps'), 'e2fsprogs 1.47.2\n└─ util-linux 2.41.5 [USE: fdisk]\n   └─ busybox 1.37.0\n');
  assert.match(
    queryTree(loadPlan(repoImages, { use: ['util-linux:-fdisk'] }), 'busybox', 'rdeps'),
    /└─ util-linux 2\.41\.5 \[USE: -fdisk\]\n {3}└─ e2fsprogs 1\.47\.2\n$/,
  );
  assert.is(queryTree(plan, 'zlib', 'deps'), 'zlib 1.3.1\n(no dependencies)\n');
  assert.throws(() => queryTree(plan, 'nope', 'deps'), /no package "nope" in the plan/);
});

test('a diamond shows a package met twice once, then "(see above)"', () => {
  const r = (name: string, deps: string[]): PackageRecipe => ({ id: name, name, version: '1', slot: '0', sources: [], deps, files: {}, patches: [] });
  const plan = { packages: [r('libc', []), r('a', ['libc']), r('b', ['libc']), r('app', ['a', 'b'])] } as unknown as Plan;
  assert.is(queryTree(plan, 'app', 'deps'), 'app 1\n├─ a 1\n│  └─ libc 1\n└─ b 1\n   └─ libc 1 (see above)\n');
  assert.is(queryTree(plan, 'libc', 'rdeps'), 'libc 1\n├─ a 1\n│  └─ app 1\n└─ b 1\n   └─ app 1 (see above)\n');
});

test.run();
