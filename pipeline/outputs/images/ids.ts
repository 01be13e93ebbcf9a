// Fixed identifiers for one image, derived from a hash of name, version, arch
// and format (never random), so two builds of the same release are identical
// and two different images never share a root id.
import type { Arch } from '../../model/arch.ts';
import { keyOf } from '../../util/hash.ts';

export interface ImageIds {
  /** 16 hex digits in /etc/buckos-image-id; the initramfs mounts the root carrying it (buckos.root=<id>). */
  imageId: string;
  /** GRUB's early config searches for /boot/grub/<bootTag> to find its boot filesystem. */
  bootTag: string;
  /** ISO 9660 volume label (A-Z, 0-9, _ only, at most 32 characters). */
  volumeLabel: string;
  /** FAT volume id (8 hex digits) for the EFI system partition / El Torito EFI image. */
  fatId: string;
  /** ext4 filesystem UUID, also its directory hash seed. */
  fsUuid: string;
  diskGuid: string;
  espGuid: string;
  rootGuid: string;
}

/** An RFC 4122-shaped UUID (version 8, "custom") from the first 16 bytes of a sha256. */
export function hashUuid(parts: readonly string[]): string {
  const b = Buffer.from(keyOf(parts).slice(0, 32), 'hex');
  b[6] = (b[6]! & 0x0f) | 0x80;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function imageIds(name: string, version: string, arch: Arch, format: string): ImageIds {
  const base = ['image-id/v1', name, version, arch, format];
  const imageId = keyOf(base).slice(0, 16);
  return {
    imageId,
    bootTag: `${name}-${imageId}`,
    volumeLabel: `${name}_${version}_${arch}`
      .toUpperCase()
      .replace(/[^A-Z0-9_]/g, '_')
      .slice(0, 32),
    fatId: keyOf([...base, 'fat']).slice(0, 8),
    fsUuid: hashUuid([...base, 'ext4']),
    diskGuid: hashUuid([...base, 'gpt-disk']),
    espGuid: hashUuid([...base, 'gpt-esp']),
    rootGuid: hashUuid([...base, 'gpt-root']),
  };
}
