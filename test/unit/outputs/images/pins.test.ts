import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { debFileName, loadBootPins, parseBootPins } from '../../../../pipeline/outputs/images/pins.ts';
import { OsforgeError } from '../../../../pipeline/errors.ts';

const sha = 'a'.repeat(64);
const good = {
  kernel: { arm64: { package: 'linux-image-6.1.0-50-arm64', version: '6.1.176-1', release: '6.1.0-50-arm64', sha256: sha } },
  grub: { arm64: [{ package: 'grub-efi-arm64-bin', version: '2.06-13+deb12u2', platform: 'arm64-efi', sha256: sha }] },
  modules: { arm64: ['virtio_blk', 'ext4'] },
};

test('the repo pins parse for both arches, each with a kernel, GRUB and modules', () => {
  for (const arch of ['amd64', 'arm64'] as const) {
    const p = loadBootPins(arch);
    assert.match(p.kernel.package, new RegExp(`^linux-image-.*-${arch}$`));
    assert.ok(p.kernel.release.endsWith(arch));
    assert.ok(p.grub.some((g) => g.platform.endsWith('efi')));
    assert.ok(p.modules.includes('ext4') && p.modules.includes('isofs') && p.modules.includes('vfat') && p.modules.includes('virtio_blk'));
  }
  assert.ok(loadBootPins('amd64').grub.some((g) => g.platform === 'i386-pc'));
});

test('parseBootPins rejects a missing sha256, a bad package name and a missing platform', () => {
  const bad = [
    { ...good, kernel: { arm64: { ...good.kernel.arm64, sha256: 'abc' } } },
    { ...good, kernel: { arm64: { ...good.kernel.arm64, package: 'linux;rm -rf' } } },
    { ...good, grub: { arm64: [{ ...good.grub.arm64[0], platform: undefined }] } },
    { ...good, modules: { arm64: ['ext4 ; x'] } },
  ];
  for (const b of bad) {
    try { parseBootPins(b, 'arm64'); assert.unreachable('accepted a bad pin'); } catch (err) {
      assert.instance(err, OsforgeError);
      assert.is((err as OsforgeError).code, 'CONFIG_INVALID');
    }
  }
});

test('deb file names follow dpkg, with the epoch colon escaped', () => {
  assert.is(debFileName({ package: 'qemu-utils', version: '1:7.2+dfsg-7', arch: 'amd64', sha256: sha }), 'qemu-utils_1%3a7.2+dfsg-7_amd64.deb');
  assert.is(debFileName(parseBootPins(good, 'arm64').kernel), 'linux-image-6.1.0-50-arm64_6.1.176-1_arm64.deb');
});

test.run();
