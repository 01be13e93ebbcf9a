// The one format table: every artifact kind once, the views derived from it
// (tarballs, boot artifacts, bootable disks, the SBOM's contents) agree with
// what dist/ has always held, so replacing the five lists changed nothing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bootFormats, contentsOf, diskDrive, diskFormats, formats, outputFormats } from '../../../pipeline/outputs/formats.ts';

test('one entry per artifact kind; the views partition the table', () => {
  const kinds = Object.values(formats).map((f) => f.kind);
  assert.is(new Set(kinds).size, kinds.length);
  assert.equal([...Object.keys(outputFormats), ...Object.keys(bootFormats)].sort(), Object.keys(formats).sort());
  assert.equal(Object.keys(outputFormats), ['rootfs-tar', 'toolchain-tar'], 'the dist key names these formats in this order');
  assert.equal(Object.keys(bootFormats), ['kernel', 'vmlinux', 'initramfs', 'iso', 'raw', 'qcow2'], 'boot artifacts keep their order');
});

test('the bootable disks and their QEMU drives come from the table', () => {
  assert.equal(diskFormats, ['iso', 'raw', 'qcow2']);
  assert.equal(diskFormats.map(diskDrive), ['cdrom', 'raw', 'qcow2']);
});

test('what each kind ships is what the SBOM has always said (CONTAINS)', () => {
  const all = { kernel: true, grub: true, libc: true, packages: true };
  assert.equal(contentsOf('rootfs'), { libc: true, packages: true });
  assert.equal(contentsOf('toolchain'), { libc: true });
  assert.equal(contentsOf('kernel'), { kernel: true });
  assert.equal(contentsOf('kernel-elf'), { kernel: true });
  assert.equal(contentsOf('initramfs'), { libc: true, packages: true });
  for (const k of ['iso', 'raw', 'qcow2']) assert.equal(contentsOf(k), all);
  for (const k of ['oss-source', 'kernel-config', 'kernel-system-map', 'boot-script', 'nope']) assert.is(contentsOf(k), undefined);
});

test('file names', () => {
  assert.is(formats.iso.fileName('buckos', '1.0', 'arm64'), 'buckos-1.0-arm64.iso');
  assert.is(formats['rootfs-tar'].fileName('buckos', '1.0', 'amd64'), 'buckos-1.0-amd64-rootfs.tar.gz');
  assert.equal(formats.vmlinux.arches, ['amd64']);
});

test.run();
