import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { debFileName, loadBootPins, parseBootPins } from '../../../../pipeline/outputs/images/pins.ts';
import { OsforgeError } from '../../../../pipeline/errors.ts';

const sha = 'a'.repeat(64);
const good = {
  grub: { arm64: [{ package: 'grub-efi-arm64-bin', version: '2.06-13+deb12u2', platform: 'arm64-efi', sha256: sha }] },
};

test('the repo pins parse for both arches, each with an EFI GRUB', () => {
  for (const arch of ['amd64', 'arm64'] as const) {
    const p = loadBootPins(arch);
    assert.ok(p.grub.some((g) => g.platform.endsWith('efi')));
  }
  assert.ok(loadBootPins('amd64').grub.some((g) => g.platform === 'i386-pc'));
});

test('parseBootPins rejects a missing sha256, a bad package name and a missing platform', () => {
  const bad = [
    { ...good, grub: { arm64: [{ ...good.grub.arm64[0], sha256: 'abc' }] } },
    { ...good, grub: { arm64: [{ ...good.grub.arm64[0], package: 'grub;rm -rf' }] } },
    { ...good, grub: { arm64: [{ ...good.grub.arm64[0], platform: undefined }] } },
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
  assert.is(debFileName(parseBootPins(good, 'arm64').grub[0]!), 'grub-efi-arm64-bin_2.06-13+deb12u2_arm64.deb');
});

test.run();
