// The GRUB stage's key and platforms, from the real plan: no engine.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { loadPlan } from '../../../pipeline/plan/load.ts';
import { grubInputs } from '../../../pipeline/graph/keys.ts';
import { grubKey, grubPlatforms } from '../../../pipeline/steps/grub.ts';

const plan = loadPlan(join(import.meta.dirname, '../../../images'));

test('platforms follow the arch table: amd64 boots EFI and BIOS, arm64 EFI only', () => {
  assert.equal(grubPlatforms('amd64'), ['x86_64-efi', 'i386-pc']);
  assert.equal(grubPlatforms('arm64'), ['arm64-efi']);
});

test('the key changes with the source pin, the script, the build image, the epoch and the arch', () => {
  const base = grubInputs(plan, 'amd64');
  const k = grubKey(base);
  const variants = [
    { ...base, source: { ...base.source, sha256: 'f'.repeat(64) } },
    { ...base, script: Buffer.concat([base.script, Buffer.from('#\n')]) },
    { ...base, imageKey: 'other' },
    { ...base, sourceDateEpoch: base.sourceDateEpoch + 1 },
    { ...base, arch: 'arm64' as const },
  ];
  const keys = variants.map(grubKey);
  for (const v of keys) assert.is.not(v, k);
  assert.is(new Set(keys).size, keys.length);
  assert.is(grubKey({ ...base }), k, 'a copy of the same inputs has the same key');
});

test('the plan pins GRUB 2.12 from source', () => {
  const g = grubInputs(plan, 'arm64');
  assert.is(g.source.version, '2.12');
  assert.match(g.source.sha256, /^[0-9a-f]{64}$/);
  assert.ok(g.script.includes('grub-mkimage'));
});

test.run();
