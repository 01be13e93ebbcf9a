// Kernel command lines and QEMU invocations shared by GRUB menus, the dist/
// boot scripts and the boot test, so all three agree on consoles and devices.
import type { Arch } from '../../model/arch.ts';
import { ARCH_TABLE, archInfo } from '../../model/arch.ts';

/** The serial console each arch's QEMU/Cloud Hypervisor machine exposes. */
export const SERIAL_CONSOLE = Object.fromEntries(Object.values(ARCH_TABLE).map((a) => [a.debian, a.serialConsole])) as Record<Arch, string>;

/** Console arguments: the serial console comes last so it becomes /dev/console. */
export function consoleArgs(arch: Arch): string[] {
  return [...archInfo(arch).consoleArgs];
}

export function kernelCmdline(arch: Arch, imageId: string, opts: { test?: boolean } = {}): string {
  return [...consoleArgs(arch), `buckos.root=${imageId}`, 'rw', ...(opts.test ? ['osforge.test=1'] : [])].join(' ');
}

/** The SMBIOS OEM string (type 11) that makes GRUB pick the test entry. */
export const TEST_OEM_STRING = 'osforge.test=1';
