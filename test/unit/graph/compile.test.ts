// compile(plan) is pure: these tests build the real plan's stage graph with
// no engine, no state dir and no network, and check its shape and keys.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { loadPlan } from '../../../pipeline/plan/load.ts';
import { stageGraph, type GraphOptions } from '../../../pipeline/graph/keys.ts';
import type { Plan } from '../../../pipeline/plan/types.ts';
import { compile } from '../../../pipeline/graph/compile.ts';
import { validateGraph } from '../../../pipeline/graph/scheduler.ts';
import { imageSteps } from '../../../pipeline/outputs/images/steps.ts';
import { bootFormats, outputFormats } from '../../../pipeline/outputs/formats.ts';
import { imagerFiles } from '../../../pipeline/steps/imager.ts';

const plan = loadPlan(join(import.meta.dirname, '../../../images'));
const imager = imagerFiles();
const opts: GraphOptions = { buck2Sha256: null, sourceDateEpoch: 1, formats: Object.keys(outputFormats), pipelineHash: 'p' };
const build = (p: Plan = plan, o: GraphOptions = opts) => compile(p, stageGraph(p, o), 2, imager);
const keys = (p: Plan = plan, o: GraphOptions = opts) => new Map(build(p, o).stages.map((s) => [s.id, s.key]));

function touch(p: Plan, pkg: string): Plan {
  return {
    ...p,
    packages: p.packages.map((r) =>
      r.name === pkg ? { ...r, files: { ...r.files, 'build.sh': Buffer.concat([r.files['build.sh']!, Buffer.from('#\n')]) } } : r,
    ),
  };
}

/** Every stage that (transitively) depends on `id`. */
function dependents(c: ReturnType<typeof build>, id: string): Set<string> {
  const out = new Set<string>();
  const visit = (x: string) => {
    for (const s of c.stages)
      if (s.deps.includes(x) && !out.has(s.id)) {
        out.add(s.id);
        visit(s.id);
      }
  };
  visit(id);
  return out;
}

test('every step is a stage: a valid graph with unique ids and keys, one dist stage that waits for all', () => {
  const c = build();
  validateGraph(c.stages);
  assert.is(new Set(c.stages.map((s) => s.key)).size, c.stages.length);
  const ids = c.stages.map((s) => s.id);
  for (const want of ['base/amd64', 'buildenv/amd64', 'sources', 'tools', 'builder', 'imager', 'oss-source', 'dist'])
    assert.ok(ids.includes(want), `missing ${want}`);
  for (const arch of plan.arches) {
    for (const id of [`stage1/${arch}`, `stage3/${arch}`, `rootfs/${arch}`, `kernel/${arch}`, `grub/${arch}`]) assert.ok(ids.includes(id), `missing ${id}`);
    for (const p of plan.packages) assert.ok(ids.includes(`stage2/${arch}/${p.name}`));
    for (const step of Object.keys(imageSteps)) assert.ok(ids.includes(`image/${arch}/${step}`));
    for (const f of Object.keys(outputFormats)) assert.ok(ids.includes(`format/${arch}/${f}`));
  }
  const dist = c.byId.get('dist')!;
  assert.equal(new Set(dist.deps), new Set(ids.filter((i) => i !== 'dist')));
});

test('stage2 dependencies are the recipe deps, so independent packages are ready together', () => {
  const c = build();
  for (const arch of plan.arches) {
    for (const r of plan.packages) {
      const deps = c.byId.get(`stage2/${arch}/${r.name}`)!.deps.filter((d) => d.startsWith('stage2/'));
      assert.equal(deps.sort(), r.deps.map((d) => `stage2/${arch}/${d}`).sort());
    }
  }
  // Packages with no package deps all wait on the same stages only, so the scheduler may start them at once.
  const roots = plan.packages.filter((r) => r.deps.length === 0);
  assert.ok(roots.length >= 2, 'the plan has independent packages');
  const depSets = roots.map((r) => JSON.stringify(c.byId.get(`stage2/amd64/${r.name}`)!.deps));
  assert.is(new Set(depSets).size, 1);
});

test('image steps follow the format table: each boot format comes from a step that exists, steps depend on their needs', () => {
  const c = build();
  for (const [format, f] of Object.entries(bootFormats)) assert.ok(imageSteps[f.step[0]], `${format} comes from unknown step ${f.step[0]}`);
  for (const arch of plan.arches) {
    for (const [step, spec] of Object.entries(imageSteps)) {
      const deps = c.byId.get(`image/${arch}/${step}`)!.deps;
      for (const n of spec.needs) assert.ok(deps.includes(`image/${arch}/${n}`));
      assert.ok(deps.includes(`rootfs/${arch}`));
    }
  }
});

test('editing one recipe changes exactly the keys of that package and what is built from it', () => {
  const pkg = plan.packages.find((r) => plan.packages.some((o) => o.deps.includes(r.name)))?.name ?? plan.packages[0]!.name;
  const a = keys();
  const b = keys(touch(plan, pkg));
  const changed = new Set([...a].filter(([id, k]) => b.get(id) !== k).map(([id]) => id));
  const c = build();
  const expected = new Set<string>();
  for (const arch of plan.arches) {
    const id = `stage2/${arch}/${pkg}`;
    expected.add(id);
    for (const d of dependents(c, id)) expected.add(d);
  }
  // oss_source.tgz ships the recipe (legal-info.ts), so it moves too.
  expected.add('oss-source');
  // rootfs-tar is keyed by the rootfs; toolchain-tar, the images of the toolchain and the sources do not move.
  assert.equal([...changed].sort(), [...expected].filter((id) => !id.includes('toolchain-tar')).sort());
  for (const id of ['base/amd64', 'buildenv/amd64', 'tools', 'builder', 'sources', 'imager']) assert.not.ok(changed.has(id), id);
});

test('a new SOURCE_DATE_EPOCH rebuilds only what embeds it, never a package', () => {
  const a = keys();
  const b = keys(plan, { ...opts, sourceDateEpoch: 2 });
  const changed = [...a].filter(([id, k]) => b.get(id) !== k).map(([id]) => id);
  assert.ok(changed.includes('dist'));
  assert.ok(changed.includes('rootfs/amd64'));
  assert.not.ok(
    changed.some((id) => /^(stage[123]|tools|builder|base|buildenv)/.test(id)),
    changed.join(', '),
  );
});

test('an unknown arch fails at plan time, naming the arch table', () => {
  const bad = { ...plan, arches: [...plan.arches, 'riscv64' as never] };
  assert.throws(() => build(bad, opts), /unknown arch "riscv64": pipeline\/model\/arch\.ts knows amd64, arm64/);
});

test('weights: the toolchain, kernel and GRUB compiles take the whole budget, other stages one core', () => {
  const c = compile(plan, stageGraph(plan, opts), 6, imager);
  const whole = ['tools', ...plan.arches.flatMap((a) => [`kernel/${a}`, `grub/${a}`])];
  for (const id of whole) assert.is(c.byId.get(id)!.weight, 6, id);
  assert.ok(c.stages.filter((s) => !whole.includes(s.id)).every((s) => s.weight === 1));
});

test('a kernel fragment change rebuilds the kernels, the image steps, oss_source.tgz (it ships the fragments) and dist, nothing else; an arch fragment only its arch', () => {
  const before = keys();
  const edit = (path: string): Plan => ({
    ...plan,
    imageFiles: {
      ...plan.imageFiles,
      kernelConfig: { ...plan.imageFiles.kernelConfig, [path]: Buffer.concat([plan.imageFiles.kernelConfig[path]!, Buffer.from('# edited\n')]) },
    },
  });
  const changed = (p: Plan) =>
    [...keys(p)]
      .filter(([id, k]) => before.get(id) !== k)
      .map(([id]) => id)
      .sort();
  const shared = changed(edit('virtio.config'));
  const expected = (arches: readonly string[]) =>
    [...arches.flatMap((a) => [`kernel/${a}`, ...Object.keys(imageSteps).map((s) => `image/${a}/${s}`)]), 'oss-source', 'dist'].sort();
  assert.equal(shared, expected(plan.arches));
  assert.equal(changed(edit('arch/arm64.config')), expected(['arm64']));
});

test('every arch has a kernel stage, and every image step of the arch depends on it', () => {
  const c = compile(plan, stageGraph(plan, opts), 2, imager);
  for (const arch of plan.arches) {
    const kernel = c.byId.get(`kernel/${arch}`)!;
    assert.equal(kernel.deps, ['kernel-build/amd64', 'sources']);
    const steps = c.stages.filter((s) => s.id.startsWith(`image/${arch}/`));
    assert.ok(steps.length >= 3);
    for (const s of steps) assert.ok(s.deps.includes(kernel.id), `${s.id} does not wait for ${kernel.id}`);
  }
});

test('turning signature checks off (BUCKOS_VERIFY_SIGNATURES=0) changes only the dist key: the manifest records it', () => {
  const before = keys();
  const after = keys(plan, { ...opts, verifySignatures: false });
  assert.equal(
    [...after].filter(([id, k]) => before.get(id) !== k).map(([id]) => id),
    ['dist'],
  );
  assert.equal(keys(plan, { ...opts, verifySignatures: true }), before);
});

test('a GRUB build script change rebuilds GRUB, the image steps, oss_source.tgz and dist, nothing else', () => {
  const before = keys();
  const edited: Plan = {
    ...plan,
    imageFiles: { ...plan.imageFiles, grub: { ...plan.imageFiles.grub, 'build.sh': Buffer.concat([plan.imageFiles.grub['build.sh']!, Buffer.from('#\n')]) } },
  };
  const changed = [...keys(edited)]
    .filter(([id, k]) => before.get(id) !== k)
    .map(([id]) => id)
    .sort();
  assert.equal(changed, [...plan.arches.flatMap((a) => [`grub/${a}`, ...Object.keys(imageSteps).map((s) => `image/${a}/${s}`)]), 'oss-source', 'dist'].sort());
});

test('every arch has a GRUB stage built in the kernel build image, and its iso and raw steps wait for it', () => {
  const c = build();
  for (const arch of plan.arches) {
    const grub = c.byId.get(`grub/${arch}`)!;
    assert.equal(grub.deps, ['kernel-build/amd64', 'sources']);
    for (const step of ['iso', 'raw'])
      assert.ok(c.byId.get(`image/${arch}/${step}`)!.deps.includes(grub.id), `image/${arch}/${step} does not wait for ${grub.id}`);
  }
  assert.ok(
    c.byId.get('sources')!.inputs.some(([n]) => n === 'source:grub'),
    'the GRUB source is fetched (and so in oss_source.tgz)',
  );
});

test.run();
