// The one table that knows everything about an architecture (apko's
// `Architecture`, mkosi's `architecture.py`): names in every vocabulary,
// kernel and boot facts, QEMU and firmware. Adding an arch is one entry here;
// code asks `archInfo(arch)` and never spells `arch === 'amd64' ? … : …`,
// which would silently treat a third arch as arm64.
import type { Arch } from '../engine/docker-archive.ts';

export interface ArchInfo {
  /** Debian's name, also the OCI `architecture`. */
  debian: Arch;
  /** OCI platform variant, when the arch has one. */
  ociVariant?: string;
  /** `uname -m` inside the target. */
  uname: string;
  gnuTriple: string;
  muslTriple: string;
  /** What `file` prints for its ELF binaries. */
  elfMachine: string;
  /** The kernel's ARCH= and the image it boots from. */
  kernelArch: string;
  kernelImage: { make: string; path: string; describe: string };
  /** Cloud Hypervisor boots this kernel format directly: an ELF vmlinux (PVH) or the plain image. */
  directBootFormat: 'vmlinux' | 'kernel';
  /** The serial console of QEMU's and Cloud Hypervisor's machine, and the kernel's console= arguments (serial last, so it is /dev/console). */
  serialConsole: string;
  consoleArgs: string[];
  efi: { bootFile: string; grubPlatform: string; firmware: string[]; firmwarePackage: string; firmwareVar: string };
  /** GRUB's BIOS platform when the arch boots from a PC BIOS too. */
  biosGrubPlatform?: string;
  qemu: { system: string; machine?: string; cpu?: string; user: string };
  /** GPT partition type of the root filesystem (Discoverable Partitions Specification). */
  gptRootType: string;
}

export const ARCH_TABLE: Readonly<Record<Arch, ArchInfo>> = {
  amd64: {
    debian: 'amd64', uname: 'x86_64', gnuTriple: 'x86_64-linux-gnu', muslTriple: 'x86_64-linux-musl', elfMachine: 'x86-64',
    kernelArch: 'x86_64', kernelImage: { make: 'bzImage', path: 'arch/x86/boot/bzImage', describe: 'bzImage' }, directBootFormat: 'vmlinux',
    serialConsole: 'ttyS0', consoleArgs: ['console=tty0', 'console=ttyS0,115200n8'],
    efi: {
      bootFile: 'BOOTX64.EFI', grubPlatform: 'x86_64-efi', firmwarePackage: 'ovmf', firmwareVar: 'OVMF_FD',
      firmware: ['/usr/share/ovmf/OVMF.fd', '/usr/share/OVMF/OVMF.fd', '/usr/share/qemu/OVMF.fd', '/usr/share/edk2/ovmf/OVMF.fd'],
    },
    biosGrubPlatform: 'i386-pc',
    qemu: { system: 'qemu-system-x86_64', user: 'qemu-x86_64' },
    gptRootType: '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709',
  },
  arm64: {
    debian: 'arm64', ociVariant: 'v8', uname: 'aarch64', gnuTriple: 'aarch64-linux-gnu', muslTriple: 'aarch64-linux-musl', elfMachine: 'AArch64',
    kernelArch: 'arm64', kernelImage: { make: 'Image', path: 'arch/arm64/boot/Image', describe: 'arm64 Image' }, directBootFormat: 'kernel',
    serialConsole: 'ttyAMA0', consoleArgs: ['console=ttyAMA0'],
    efi: {
      bootFile: 'BOOTAA64.EFI', grubPlatform: 'arm64-efi', firmwarePackage: 'qemu-efi-aarch64', firmwareVar: 'AAVMF_FD',
      firmware: ['/usr/share/qemu-efi-aarch64/QEMU_EFI.fd', '/usr/share/AAVMF/QEMU_EFI.fd', '/usr/share/edk2/aarch64/QEMU_EFI.fd'],
    },
    qemu: { system: 'qemu-system-aarch64', machine: 'virt', cpu: 'cortex-a57', user: 'qemu-aarch64' },
    gptRootType: 'B921B045-1DF0-41C3-AF44-4C6F280D3FAE',
  },
};

/** Facts about `arch`; an arch the table lacks fails loudly, naming the table. */
export function archInfo(arch: string): ArchInfo {
  // Own keys only: "constructor" is not an arch.
  const info = Object.hasOwn(ARCH_TABLE, arch) ? (ARCH_TABLE as Record<string, ArchInfo>)[arch] : undefined;
  if (!info) throw new Error(`unknown arch ${JSON.stringify(arch)}: pipeline/plan/arch.ts knows ${Object.keys(ARCH_TABLE).join(', ')}`);
  return info;
}
