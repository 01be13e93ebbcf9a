import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { loadPlan } from '../../../pipeline/plan/load.ts';
import { node, stageGraph, type GraphOptions } from '../../../pipeline/graph/keys.ts';
import { baseInputHash } from '../../../pipeline/steps/base.ts';
import type { Plan } from '../../../pipeline/plan/types.ts';
import { diffInputs } from '../../../pipeline/cache/journal.ts';

const plan = loadPlan(join(import.meta.dirname, '../../../images'));
const opts: GraphOptions = { buck2Sha256: null, sourceDateEpoch: 1, formats: ['rootfs-tar'], pipelineHash: 'p' };

function touch(p: Plan, pkg: string): Plan {
  return {
    ...p,
    packages: p.packages.map((r) =>
      r.name === pkg ? { ...r, files: { ...r.files, 'build.sh': Buffer.concat([r.files['build.sh']!, Buffer.from('#\n')]) } } : r,
    ),
  };
}

const keys = (g: ReturnType<typeof stageGraph>) => new Map(g.nodes.map((n) => [n.id, n.key]));

test('keys are a pure function of the plan', () => {
  assert.equal(keys(stageGraph(plan, opts)), keys(stageGraph(plan, { ...opts })));
});

test('changing zlib changes zlib, its dependents and dist, nothing else', () => {
  const a = keys(stageGraph(plan, opts));
  const b = keys(stageGraph(touch(plan, 'zlib'), opts));
  const changed = [...a]
    .filter(([id, k]) => b.get(id) !== k)
    .map(([id]) => id)
    .sort();
  assert.equal(changed, ['dist', 'stage2/amd64/zlib', 'stage2/arm64/zlib', 'stage3/amd64', 'stage3/arm64']);
});

test('changing busybox also changes baselayout, which depends on it', () => {
  const a = keys(stageGraph(plan, opts));
  const b = keys(stageGraph(touch(plan, 'busybox'), opts));
  assert.is.not(a.get('stage2/amd64/baselayout'), b.get('stage2/amd64/baselayout'));
  assert.is(a.get('stage2/amd64/zlib'), b.get('stage2/amd64/zlib'));
});

test('a new SOURCE_DATE_EPOCH changes only the dist node (the commit is not a key input); buck2 changes the builder and everything built with it', () => {
  const a = keys(stageGraph(plan, opts));
  const c = keys(stageGraph(plan, { ...opts, sourceDateEpoch: 2 }));
  assert.equal(
    [...a].filter(([id, k]) => c.get(id) !== k).map(([id]) => id),
    ['dist'],
  );
  const d = keys(stageGraph(plan, { ...opts, buck2Sha256: 'f'.repeat(64) }));
  assert.is(a.get('tools'), d.get('tools'));
  assert.is.not(a.get('builder'), d.get('builder'));
  assert.is.not(a.get('stage2/arm64/busybox'), d.get('stage2/arm64/busybox'));
});

// Explain diffs named inputs: the kernel, GRUB and kernel build image name what they are made of, not one opaque hash.
test("a changed kernel fragment or GRUB script is named among the kernel's and GRUB's inputs", () => {
  const [frag] = Object.keys(plan.imageFiles.kernelConfig).filter((f) => !/arm64|amd64/.test(f));
  assert.ok(frag, 'a fragment shared by both arches');
  const edited: Plan = {
    ...plan,
    imageFiles: {
      ...plan.imageFiles,
      kernelConfig: { ...plan.imageFiles.kernelConfig, [frag!]: Buffer.from(`${plan.imageFiles.kernelConfig[frag!]!}\n# edited\n`) },
    },
  };
  const a = stageGraph(plan, opts);
  const b = stageGraph(edited, opts);
  const names = diffInputs(a.arches.get('amd64')!.kernel.inputs, b.arches.get('amd64')!.kernel.inputs).map((c) => c.name);
  assert.equal(names, ['kernel', `fragment:${frag}`]);
  const grubEdited: Plan = {
    ...plan,
    imageFiles: { ...plan.imageFiles, grub: { ...plan.imageFiles.grub, 'build.sh': Buffer.from(`${plan.imageFiles.grub['build.sh']!}\n#\n`) } },
  };
  const g = stageGraph(grubEdited, opts);
  assert.equal(
    diffInputs(a.arches.get('arm64')!.grub.inputs, g.arches.get('arm64')!.grub.inputs).map((c) => c.name),
    ['grub', 'script:images/grub/build.sh'],
  );
});

test('a changed package pin of the kernel build image is named by package', () => {
  const kb = plan.kernelBuild!;
  const pins = kb.pins.amd64 ?? kb.include;
  const first = pins[0]!;
  const bumped = { ...kb, pins: { ...kb.pins, amd64: [`${first}+1`, ...pins.slice(1)] } };
  const a = stageGraph(plan, opts);
  const b = stageGraph({ ...plan, kernelBuild: bumped }, opts);
  assert.equal(
    diffInputs(a.kernelBuild.inputs, b.kernelBuild.inputs).map((c) => c.name),
    ['rootfs-input', `include:${first.split('=')[0]}`],
  );
});

test('a changed package pin of the base or buildenv image is named by package, and their keys stay over the one image input hash', () => {
  const a = stageGraph(plan, opts);
  for (const which of ['base', 'buildenv'] as const) {
    const spec = plan[which];
    const pins = spec.pins.amd64 ?? spec.include;
    const first = pins[0]!;
    const bumped = { ...spec, pins: { ...spec.pins, amd64: [`${first}+1`, ...pins.slice(1)] } };
    const b = stageGraph({ ...plan, [which]: bumped }, opts);
    assert.equal(
      diffInputs(a[which].inputs, b[which].inputs).map((c) => c.name),
      ['rootfs-input', `include:${first.split('=')[0]}`],
      which,
    );
    // The key is what it always was: over the image input hash alone (the tools, builder and imager keys build on it).
    assert.is(a[which].key, node(`${which}/amd64`, [['rootfs-input', baseInputHash(spec, 'amd64')]]).key, which);
    assert.is.not(b[which].key, a[which].key, which);
  }
});

test.run();
