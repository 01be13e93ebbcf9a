import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { ARCH_TABLE, archInfo, archShellEnv, hostArch, toEfi, toQemu, toolchainArches } from '../../../pipeline/model/arch.ts';
import { qemuScript } from '../../../pipeline/outputs/images/boot-scripts.ts';
import { bootFormats } from '../../../pipeline/outputs/formats.ts';

test('an arch the table lacks fails loudly, naming the table', () => {
  assert.throws(() => archInfo('riscv64'), /unknown arch "riscv64": pipeline\/model\/arch\.ts knows amd64, arm64/);
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

test('host arch, QEMU and EFI names come from the table and fail loudly on an arch it lacks', () => {
  assert.is(hostArch('x64'), 'amd64');
  assert.is(hostArch('arm64'), 'arm64');
  assert.throws(() => hostArch('riscv64'), /unknown host arch "riscv64": pipeline\/model\/arch\.ts maps x64, arm64/);
  assert.is(toQemu('arm64'), 'qemu-system-aarch64');
  assert.is(toEfi('amd64'), 'BOOTX64.EFI');
  assert.throws(() => toEfi('riscv64'), /unknown arch "riscv64"/);
  assert.throws(() => toQemu('__proto__'), /unknown arch "__proto__"/, 'an inherited name is not an arch');
  assert.equal(toolchainArches(['arm64', 'amd64']), ['arm64', 'amd64']);
  assert.throws(() => toolchainArches(['amd64', 'mips']), /unknown arch "mips"/);
});

test('the per-arch shell environment is what sh reads back, value for value', () => {
  for (const arch of Object.keys(ARCH_TABLE)) {
    const env = archShellEnv(arch);
    const out = execFileSync('sh', ['-c', `${env}printf '%s|%s|%s|%s' "$ARCH" "$GNU_TRIPLE" "$EFI_BOOT_FILE" "$GRUB_BIOS_PLATFORM"`], { encoding: 'utf8' });
    const a = archInfo(arch);
    assert.is(out, `${a.debian}|${a.gnuTriple}|${a.efi.bootFile}|${a.biosGrubPlatform ?? ''}`);
  }
  assert.throws(() => archShellEnv('riscv64'), /unknown arch/);
});

test.run();
