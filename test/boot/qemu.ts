// The QEMU command lines the boot test uses: exactly what someone would type
// by hand (firmware, memory, CPUs, the image as a CD-ROM or disk), TCG only,
// plus, for test boots, the SMBIOS OEM string that selects GRUB's test entry.
// Every boot has a virtio-net NIC on QEMU's user-mode network (DHCP from
// QEMU itself; nothing leaves the machine), as the dist/ run scripts do.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Arch } from '../../pipeline/plan/types.ts';
import { TEST_OEM_STRING } from '../../pipeline/outputs/images/kernel-args.ts';
import { archInfo } from '../../pipeline/model/arch.ts';

export interface BootCase {
  name: string;
  arch: Arch;
  image: string;
  argv: string[];
  /** The in-guest smoke checks that apply (rcS's smoke script). */ smoke: string[];
}

/** The smoke checks an image must pass, from the packages its set holds (a minimal profile has no util-linux, e2fsprogs or sshd). */
export function smokeChecks(packages: readonly string[], ext4: boolean): string[] {
  const has = (p: string) => packages.includes(p);
  return [
    'kernel',
    'network',
    ...(has('util-linux') ? ['util-linux'] : []),
    ...(ext4 && has('e2fsprogs') ? ['e2fsck'] : []),
    ...(has('dropbear') ? ['sshd'] : []),
  ];
}

/** The first UEFI firmware file of the arch's table entry that exists here. */
export function firmware(arch: Arch): string {
  const { efi } = archInfo(arch);
  const found = efi.firmware.find((f) => existsSync(f));
  if (!found) throw new Error(`no UEFI firmware for ${arch} (${efi.firmware.join(', ')}); install ${efi.firmwarePackage} (make setup)`);
  return found;
}

/** `packages`: the package names of the image set whose images `name` names (manifest imageSets). */
export function bootCases(
  dist: string,
  name: string,
  version: string,
  opts: { test: boolean; memory?: number; cpus?: number },
  packages: readonly string[],
  label = '',
): BootCase[] {
  const SMOKE_ALL = smokeChecks(packages, false);
  const SMOKE_EXT4 = smokeChecks(packages, true);
  const img = (arch: Arch, ext: string) => join(dist, `${name}-${version}-${arch}.${ext}`);
  const common = [
    '-m',
    String(opts.memory ?? 1024),
    '-smp',
    String(opts.cpus ?? 2),
    '-nographic',
    '-no-reboot',
    '-accel',
    'tcg',
    '-nic',
    'user,model=virtio-net-pci',
    ...(opts.test ? ['-smbios', `type=11,value=${TEST_OEM_STRING}`] : []),
  ];
  const x86 = ['qemu-system-x86_64', ...common];
  const arm = ['qemu-system-aarch64', '-machine', 'virt', '-cpu', 'cortex-a57', ...common];
  const disk = (f: string) => ['-drive', `if=virtio,format=raw,file=${f}`, '-snapshot'];
  const cases: BootCase[] = [
    { name: 'amd64 ISO, BIOS (SeaBIOS)', arch: 'amd64', image: img('amd64', 'iso'), smoke: SMOKE_ALL, argv: [...x86, '-cdrom', img('amd64', 'iso')] },
    {
      name: 'amd64 ISO, UEFI (OVMF)',
      arch: 'amd64',
      image: img('amd64', 'iso'),
      smoke: SMOKE_ALL,
      argv: [...x86, '-bios', firmware('amd64'), '-cdrom', img('amd64', 'iso')],
    },
    {
      name: 'amd64 raw, UEFI (OVMF)',
      arch: 'amd64',
      image: img('amd64', 'raw'),
      smoke: SMOKE_EXT4,
      argv: [...x86, '-bios', firmware('amd64'), ...disk(img('amd64', 'raw'))],
    },
    {
      name: 'arm64 ISO, UEFI (AAVMF)',
      arch: 'arm64',
      image: img('arm64', 'iso'),
      smoke: SMOKE_ALL,
      argv: [
        ...arm,
        '-bios',
        firmware('arm64'),
        '-device',
        'virtio-scsi-pci',
        '-drive',
        `if=none,id=cd0,media=cdrom,readonly=on,format=raw,file=${img('arm64', 'iso')}`,
        '-device',
        'scsi-cd,drive=cd0',
      ],
    },
    {
      name: 'arm64 raw, UEFI (AAVMF)',
      arch: 'arm64',
      image: img('arm64', 'raw'),
      smoke: SMOKE_EXT4,
      argv: [...arm, '-bios', firmware('arm64'), ...disk(img('arm64', 'raw'))],
    },
  ];
  return cases.map((c) => ({ ...c, name: `${label}${c.name}` }));
}
