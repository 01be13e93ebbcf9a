import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { imageConfigJson } from '../../../pipeline/engine/docker-archive.ts';

test('image config carries the architecture and is deterministic', () => {
  const input = { arch: 'arm64' as const, layerDigests: ['a'.repeat(64)], createdEpoch: 1700000000 };
  const cfg = JSON.parse(imageConfigJson(input));
  assert.is(cfg.architecture, 'arm64');
  assert.is(cfg.variant, 'v8');
  assert.equal(cfg.rootfs.diff_ids, [`sha256:${'a'.repeat(64)}`]);
  assert.is(cfg.created, '2023-11-14T22:13:20.000Z');
  assert.is(imageConfigJson(input), imageConfigJson({ ...input }));
  assert.is(JSON.parse(imageConfigJson({ ...input, arch: 'amd64' })).variant, undefined);
});

test.run();
