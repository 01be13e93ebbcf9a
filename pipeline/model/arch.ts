// The one table that knows everything about an architecture (apko's
// `Architecture`, mkosi's `architecture.py`): names in every vocabulary,
// kernel and boot facts, QEMU and firmware. Adding an arch is one entry here;
// code asks `archInfo(arch)` and never spells `arch === 'amd64' ? … : …`,
// which would silently treat a third arch as arm64. A leaf (model/): every
// layer may read it, it imports nothing of osforge's.

/** The arches the table below knows; adding one is an entry there (the union follows). */
export type Arch = 'amd64' | 'arm64';

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
    debian: 'amd64',
    uname: 'x86_64',
    gnuTriple: 'x86_64-linux-gnu',
    muslTriple: 'x86_64-linux-musl',
    elfMachine: 'x86-64',
    kernelArch: 'x86_64',
    kernelImage: { make: 'bzImage', path: 'arch/x86/boot/bzImage', describe: 'bzImage' },
    directBootFormat: 'vmlinux',
    serialConsole: 'ttyS0',
    consoleArgs: ['console=tty0', 'console=ttyS0,115200n8'],
    efi: {
      bootFile: 'BOOTX64.EFI',
      grubPlatform: 'x86_64-efi',
      firmwarePackage: 'ovmf',
      firmwareVar: 'OVMF_FD',
      firmware: ['/usr/share/ovmf/OVMF.fd', '/usr/share/OVMF/OVMF.fd', '/usr/share/qemu/OVMF.fd', '/usr/share/edk2/ovmf/OVMF.fd'],
    },
    biosGrubPlatform: 'i386-pc',
    qemu: { system: 'qemu-system-x86_64', user: 'qemu-x86_64' },
    gptRootType: '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709',
  },
  arm64: {
    debian: 'arm64',
    ociVariant: 'v8',
    uname: 'aarch64',
    gnuTriple: 'aarch64-linux-gnu',
    muslTriple: 'aarch64-linux-musl',
    elfMachine: 'AArch64',
    kernelArch: 'arm64',
    kernelImage: { make: 'Image', path: 'arch/arm64/boot/Image', describe: 'arm64 Image' },
    directBootFormat: 'kernel',
    serialConsole: 'ttyAMA0',
    consoleArgs: ['console=ttyAMA0'],
    efi: {
      bootFile: 'BOOTAA64.EFI',
      grubPlatform: 'arm64-efi',
      firmwarePackage: 'qemu-efi-aarch64',
      firmwareVar: 'AAVMF_FD',
      firmware: ['/usr/share/qemu-efi-aarch64/QEMU_EFI.fd', '/usr/share/AAVMF/QEMU_EFI.fd', '/usr/share/edk2/aarch64/QEMU_EFI.fd'],
    },
    qemu: { system: 'qemu-system-aarch64', machine: 'virt', cpu: 'cortex-a57', user: 'qemu-aarch64' },
    gptRootType: 'B921B045-1DF0-41C3-AF44-4C6F280D3FAE',
  },
};

/** Every arch the table knows, in table order (the only list). */
export const ARCHES = Object.keys(ARCH_TABLE) as readonly Arch[];

/** Facts about `arch`; an arch the table lacks fails loudly, naming the table. */
export function archInfo(arch: string): ArchInfo {
  const info = Object.hasOwn(ARCH_TABLE, arch) ? ARCH_TABLE[arch as Arch] : undefined;
  if (!info) throw new Error(`unknown arch ${JSON.stringify(arch)}: pipeline/model/arch.ts knows ${ARCHES.join(', ')}`);
  return info;
}

/** Node's `process.arch` names → the table's (mkosi's `Architecture.native()`); an unknown one fails loudly. */
const NODE_ARCH: Readonly<Record<string, Arch>> = { x64: 'amd64', arm64: 'arm64' };

/** The arch this host (and its local engine) runs natively: the host and build arch. */
export function hostArch(nodeArch: string = process.arch): Arch {
  const arch = Object.hasOwn(NODE_ARCH, nodeArch) ? NODE_ARCH[nodeArch] : undefined;
  if (!arch) throw new Error(`unknown host arch ${JSON.stringify(nodeArch)}: pipeline/model/arch.ts maps ${Object.keys(NODE_ARCH).join(', ')}`);
  return arch;
}

/** The arches the seed toolchain targets (stage1): every arch of the plan, checked against the table. */
export function toolchainArches(arches: readonly string[]): Arch[] {
  return arches.map((a) => archInfo(a).debian);
}

/** The QEMU system emulator that boots `arch` (mkosi's `to_qemu`). */
export const toQemu = (arch: string): string => archInfo(arch).qemu.system;
/** The removable-media EFI boot file name of `arch` (mkosi's `to_efi`). */
export const toEfi = (arch: string): string => archInfo(arch).efi.bootFile;

/**
 * The per-arch variables a shell script reads instead of a `case` of its own:
 * the imager step passes them as its container's environment (steps/imager.ts).
 */
export function archEnv(arch: string): Record<string, string> {
  return Object.fromEntries(archEnvVars(arch));
}

/**
 * The same variables for a script to source (`eval "$(…)"` or a file written
 * beside it): one NAME=value per line, values single-quoted for sh.
 */
export function archShellEnv(arch: string): string {
  return archEnvVars(arch)
    .map(([k, v]) => `${k}='${v.replace(/'/g, `'\\''`)}'\n`)
    .join('');
}

function archEnvVars(arch: string): [string, string][] {
  const a = archInfo(arch);
  return [
    ['ARCH', a.debian],
    ['UNAME_M', a.uname],
    ['GNU_TRIPLE', a.gnuTriple],
    ['MUSL_TRIPLE', a.muslTriple],
    ['KERNEL_ARCH', a.kernelArch],
    ['KERNEL_IMAGE', a.kernelImage.path],
    ['EFI_BOOT_FILE', a.efi.bootFile],
    ['GRUB_EFI_PLATFORM', a.efi.grubPlatform],
    ['GRUB_BIOS_PLATFORM', a.biosGrubPlatform ?? ''],
    ['SERIAL_CONSOLE', a.serialConsole],
    ['GPT_ROOT_TYPE', a.gptRootType],
    ['QEMU_SYSTEM', a.qemu.system],
  ];
}
