// Names that collide with JavaScript built-ins (constructor, __proto__,
// toString, hasOwnProperty, valueOf) in every input of the plan: recipes and
// their files, atoms, masks, sources, sets.json, profiles, package.use, USE
// flags, use_deps, use_configure, slots. Each either works like any other name
// (the ones the grammar allows: "constructor", and any file name) or is
// refused with one OsforgeError line naming it; never an internal TypeError,
// and never silently dropped (a "__proto__" key on a plain object is).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPlan, type PlanOptions } from '../../../pipeline/plan/load.ts';
import { stageGraph } from '../../../pipeline/graph/keys.ts';
import { OsforgeError } from '../../../pipeline/errors.ts';
import type { Plan } from '../../../pipeline/plan/types.ts';
import { copyImages, editJson } from './images-copy.ts';

const NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'];
const graphOpts = { buck2Sha256: null, sourceDateEpoch: 1, formats: [], pipelineHash: 'p' };

/** A package N (version 1.0) with a build.sh, in the default set. */
function addPackage(images: string, n: string, recipe: Record<string, unknown> = {}) {
  mkdirSync(join(images, 'packages', n), { recursive: true });
  writeFileSync(join(images, 'packages', n, 'recipe.json'), JSON.stringify({ name: n, version: '1.0', ...recipe }));
  writeFileSync(join(images, 'packages', n, 'build.sh'), '#!/bin/sh\n');
  editJson(images, 'buckos.json', (j) => {
    j.packages.push(n);
  });
}
const editZlib = (images: string, edit: (r: any) => void) => editJson(images, 'packages/zlib/recipe.json', edit);
const zlib = (plan: Plan) => plan.packages.find((p) => p.name === 'zlib')!;

interface Case {
  input: string;
  /** Whether the grammar allows the name there (it must then work); otherwise it must be refused. */
  allowed: (n: string) => boolean;
  setup: (images: string, n: string) => PlanOptions | void;
  /** What working means for this input. */
  check: (plan: Plan, n: string) => void;
}

const lowerName = (n: string) => /^[a-z0-9]/.test(n) && n === n.toLowerCase();

const cases: Case[] = [
  {
    input: 'a recipe (package name)',
    allowed: lowerName,
    setup: (im, n) => addPackage(im, n),
    check: (p, n) => assert.ok(p.packages.some((r) => r.name === n)),
  },
  {
    input: 'an atom in deps',
    allowed: lowerName,
    setup: (im, n) => {
      addPackage(im, n);
      editZlib(im, (r) => {
        r.deps = [`${n} >=1.0`];
      });
    },
    check: (p, n) => assert.equal(zlib(p).deps, [n]),
  },
  {
    input: 'images/package.mask',
    allowed: lowerName,
    setup: (im, n) => {
      addPackage(im, n);
      writeFileSync(join(im, 'package.mask'), `${n} >=2.0\n`);
    },
    check: (p, n) => assert.ok(p.packages.some((r) => r.name === n && r.version === '1.0')),
  },
  {
    input: 'images/sources.json (a source name, used by a recipe and as toolchain.source)',
    allowed: lowerName,
    setup: (im, n) => {
      editJson(im, 'sources.json', (j) => {
        j[n] = { ...j.musl };
      });
      editZlib(im, (r) => {
        r.sources = ['zlib', n];
      });
      editJson(im, 'buckos.json', (j) => {
        j.toolchain.source = n;
      });
    },
    check: (p, n) => {
      assert.equal(zlib(p).sources, ['zlib', n]);
      assert.is(p.toolchainSource, n);
      assert.is(p.sources[n]!.name, n);
    },
  },
  {
    input: 'a recipe source not in sources.json',
    allowed: () => false,
    setup: (im, n) =>
      editZlib(im, (r) => {
        r.sources = [n];
      }),
    check: () => undefined,
  },
  {
    input: 'images/sets.json (a set name, referenced as @name)',
    allowed: lowerName,
    setup: (im, n) => {
      editJson(im, 'sets.json', (j) => {
        j[n] = ['zlib'];
      });
      editJson(im, 'buckos.json', (j) => {
        j.packages = j.packages.filter((x: string) => x !== 'zlib').concat(`@${n}`);
      });
    },
    check: (p) => assert.ok(zlib(p)),
  },
  {
    input: 'an unknown @set',
    allowed: () => false,
    setup: (im, n) =>
      editJson(im, 'buckos.json', (j) => {
        j.packages.push(`@${n}`);
      }),
    check: () => undefined,
  },
  {
    input: 'a profile name (--profile and inherits)',
    allowed: lowerName,
    setup: (im, n) => {
      mkdirSync(join(im, 'profiles', n), { recursive: true });
      writeFileSync(join(im, 'profiles', n, 'profile.json'), JSON.stringify({ packages: ['zlib'] }));
      mkdirSync(join(im, 'profiles', 'child'), { recursive: true });
      writeFileSync(join(im, 'profiles', 'child', 'profile.json'), JSON.stringify({ inherits: [n], packages: ['@system'] }));
      return { profiles: [n, 'child'] };
    },
    check: (p, n) => {
      assert.equal(
        p.imageSets.map((s) => s.profile),
        [n, 'child'],
      );
      assert.ok(p.imageSets[1]!.packages.includes('zlib'));
    },
  },
  {
    input: "a profile's packages (@set) and remove",
    allowed: lowerName,
    setup: (im, n) => {
      addPackage(im, n);
      editJson(im, 'sets.json', (j) => {
        j[n] = ['zlib', n];
      });
      writeFileSync(join(im, 'profiles', 'minimal', 'profile.json'), JSON.stringify({ packages: ['@system', `@${n}`], remove: [n] }));
      return { profiles: ['minimal'] };
    },
    check: (p, n) => {
      assert.ok(p.imageSets[0]!.packages.includes('zlib'));
      assert.not.ok(p.imageSets[0]!.packages.includes(n));
    },
  },
  {
    input: 'iuse, use_defaults, use_deps and use_configure (flag on)',
    allowed: lowerName,
    setup: (im, n) =>
      editZlib(im, (r) => {
        r.iuse = [n];
        r.use_defaults = [n];
        r.use_deps = { [n]: ['busybox'] };
        r.use_configure = { [n]: [`--with-${n}`], [`-${n}`]: [`--without-${n}`] };
      }),
    check: (p, n) => {
      assert.equal(zlib(p).use!.enabled, [n]);
      assert.equal(zlib(p).use!.configure, [`--with-${n}`]);
      assert.equal(zlib(p).deps, ['busybox']);
    },
  },
  {
    input: 'a declared flag with no use_deps or use_configure entry (on, then off)',
    allowed: lowerName,
    setup: (im, n) =>
      editZlib(im, (r) => {
        r.iuse = [n, 'ssl'];
        r.use_defaults = [n];
        r.use_configure = { ssl: ['--ssl'] };
        r.use_deps = { ssl: ['busybox'] };
      }),
    check: (p, n) => {
      assert.equal(zlib(p).use!.enabled, [n]);
      assert.equal(zlib(p).use!.configure, []);
      assert.equal(zlib(p).deps, []);
    },
  },
  {
    input: 'global USE in buckos.json (flag off: only "-flag" configure applies)',
    allowed: lowerName,
    setup: (im, n) => {
      editZlib(im, (r) => {
        r.iuse = [n];
        r.use_defaults = [n];
        r.use_configure = { [`-${n}`]: ['--off'] };
      });
      editJson(im, 'buckos.json', (j) => {
        j.use = [`-${n}`];
      });
    },
    check: (p) => {
      assert.equal(zlib(p).use!.enabled, []);
      assert.equal(zlib(p).use!.configure, ['--off']);
    },
  },
  {
    input: 'images/package.use (a flag, and a package name)',
    allowed: lowerName,
    setup: (im, n) => {
      addPackage(im, n, { iuse: ['ssl'] });
      editZlib(im, (r) => {
        r.iuse = [n];
      });
      writeFileSync(join(im, 'package.use'), `zlib ${n}\n${n} +ssl\n`);
    },
    check: (p, n) => {
      assert.equal(zlib(p).use!.enabled, [n]);
      assert.equal(p.packages.find((r) => r.name === n)!.use!.enabled, ['ssl']);
    },
  },
  {
    input: 'package.use naming a flag the package lacks',
    allowed: () => false,
    setup: (im, n) => {
      writeFileSync(join(im, 'package.use'), `zlib ${n}\n`);
    },
    check: () => undefined,
  },
  {
    input: '--use',
    allowed: lowerName,
    setup: (im, n) => {
      editZlib(im, (r) => {
        r.iuse = [n];
      });
      return { use: [`zlib:+${n}`] };
    },
    check: (p, n) => assert.equal(zlib(p).use!.enabled, [n]),
  },
  {
    input: 'a slot',
    allowed: (n) => /^[A-Za-z0-9]/.test(n),
    setup: (im, n) =>
      editZlib(im, (r) => {
        r.slot = n;
      }),
    check: (p, n) => assert.ok(p.packages.some((r) => r.id === `zlib:${n}` && r.slot === n)),
  },
  {
    input: 'a file in a package directory (a cache-key input)',
    allowed: () => true,
    setup: (im, n) => writeFileSync(join(im, 'packages', 'zlib', n), `file ${n}\n`),
    check: (p, n) => {
      assert.ok(Object.keys(zlib(p).files).includes(n), 'the file is a build input');
      assert.is(zlib(p).files[n]!.toString(), `file ${n}\n`);
    },
  },
  {
    input: 'a file in images/tools (the tools key)',
    allowed: () => true,
    setup: (im, n) => writeFileSync(join(im, 'tools', n), `tool ${n}\n`),
    check: (p, n) => {
      assert.ok(Object.keys(p.imageFiles.tools).includes(n));
      assert.ok(stageGraph(p, graphOpts).tools.inputs.some(([k]) => k === `file:${n}`));
    },
  },
];

for (const c of cases) {
  for (const n of NAMES) {
    test(`${c.input}: ${JSON.stringify(n)} ${c.allowed(n) ? 'works like any other name' : 'is refused in one line naming it'}`, () => {
      const im = copyImages();
      try {
        const opts = c.setup(im.images, n) ?? {};
        let plan: Plan | undefined;
        let error: unknown;
        try {
          plan = loadPlan(im.images, opts);
          stageGraph(plan, graphOpts);
        } catch (err) {
          error = err;
        }
        if (error !== undefined && !(error instanceof OsforgeError)) assert.unreachable(`internal error: ${(error as Error).stack}`);
        if (c.allowed(n)) {
          assert.is(error, undefined, (error as Error | undefined)?.message);
          c.check(plan!, n);
        } else {
          assert.ok(error, 'refused');
          const e = error as OsforgeError;
          assert.ok(['CONFIG_INVALID', 'USAGE'].includes(e.code), e.code);
          assert.ok(e.message.includes(n) && !e.message.includes('\n'), e.message);
        }
      } finally {
        im.remove();
      }
    });
  }
}

test('the baseline plan has none of these names (the cases above are not vacuous)', () => {
  const im = copyImages();
  try {
    const plan = loadPlan(im.images);
    for (const n of NAMES) assert.not.ok(plan.packages.some((p) => p.name === n || Object.keys(p.files).includes(n) || p.sources.includes(n)));
    assert.not.ok(readFileSync(join(im.images, 'sets.json'), 'utf8').includes('constructor'));
  } finally {
    im.remove();
  }
});

test.run();
