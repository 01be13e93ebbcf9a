import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { grubConfig } from '../../../../pipeline/outputs/images/grub-config.ts';
import { kernelCmdline } from '../../../../pipeline/outputs/images/kernel-args.ts';

const cfg = (arch: 'amd64' | 'arm64') => grubConfig({ name: 'buckos', version: '0.1.0', arch, imageId: '0123456789abcdef' });

test('the default entry is a normal boot; only the test entry carries osforge.test=1', () => {
  const c = cfg('amd64');
  assert.match(c, /set default=buckos\n/);
  const entries = c.split('menuentry ').slice(1);
  assert.is(entries.length, 2);
  assert.ok(entries[0]!.startsWith("'BuckOS 0.1.0 (amd64)' --id buckos {"));
  assert.not.match(entries[0]!, /osforge\.test=1/);
  assert.match(entries[1]!, /--id buckos-test/);
  assert.match(entries[1]!, /osforge\.test=1/);
});

test('the test entry is selected by the SMBIOS OEM string, with no menu wait', () => {
  assert.match(
    cfg('arm64'),
    /smbios --type 11 --get-string 4 --set osforge_oem; then\n {2}if \[ "\$osforge_oem" = "osforge.test=1" \]; then\n {4}set default=buckos-test\n {4}set timeout=0/,
  );
});

test('consoles: serial last so it is /dev/console; GRUB serial only on BIOS', () => {
  assert.is(kernelCmdline('amd64', 'ab'), 'console=tty0 console=ttyS0,115200n8 buckos.root=ab rw');
  assert.is(kernelCmdline('arm64', 'ab', { test: true }), 'console=ttyAMA0 buckos.root=ab rw osforge.test=1');
  assert.match(cfg('amd64'), /if \[ "\$grub_platform" = "pc" \]; then\n {2}serial --unit=0 --speed=115200/);
  assert.match(cfg('arm64'), /linux \/boot\/vmlinuz console=ttyAMA0 buckos.root=0123456789abcdef rw\n/);
});

test.run();
