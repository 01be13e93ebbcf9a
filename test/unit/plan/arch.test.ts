import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ARCH_TABLE, archInfo } from '../../../pipeline/plan/arch.ts';
import { qemuScript } from '../../../pipeline/outputs/images/boot-scripts.ts';
import { bootFormats } from '../../../pipeline/outputs/images/formats.ts';

test('an arch the table lacks fails loudly, naming the table', () => {
  assert.throws(() => archInfo('riscv64'), /unknown arch "riscv64": pipeline\/plan\/arch\.ts knows amd64, arm64/);
});

test('every entry is keyed by its own Debian name and has a firmware to boot', () => {
  for (const [key, a] of Object.entries(ARCH_TABLE)) {
    assert.is(a.debian, key);
    assert.ok(a.efi.firmware.length > 0 && /^BOOT[A-Z0-9]+\.EFI$/.test(a.efi.bootFile));
    assert.match(a.gptRootType, /^[0-9A-F]{8}-([0-9A-F]{4}-){3}[0-9A-F]{12}$/);
  }
});

test('boot scripts come from the table: QEMU binary, machine, firmware', () => {
  const arm = qemuScript('arm64', 'raw', 'x.raw');
  assert.match(arm, /exec qemu-system-aarch64 -machine virt -cpu "\$cpu"/);
  assert.match(arm, /install qemu-efi-aarch64 or set AAVMF_FD/);
  const pc = qemuScript('amd64', 'iso', 'x.iso');
  assert.match(pc, /FIRMWARE=\$\{FIRMWARE:-bios\}/);
  assert.match(pc, /-cdrom "\$here\/x.iso"/);
  assert.not.match(qemuScript('arm64', 'iso', 'x.iso'), /FIRMWARE=/, 'no BIOS choice without a BIOS GRUB platform');
});

test('formats follow the table: the ELF vmlinux only where direct boot wants it', () => {
  assert.equal(bootFormats.vmlinux!.arches, ['amd64']);
  assert.equal(bootFormats.kernel!.arches, ['amd64', 'arm64']);
});

test.run();
