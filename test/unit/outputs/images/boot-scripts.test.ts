import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cloudHypervisorScript, qemuScript } from '../../../../pipeline/outputs/images/boot-scripts.ts';
import { nonZeroBytes } from '../../../../pipeline/outputs/images/steps.ts';

const syntaxOk = (s: string) => execFileSync('sh', ['-n'], { input: s });

test('every QEMU script is valid sh, honours MEMORY/CPUS and finds its image next to itself', () => {
  for (const arch of ['amd64', 'arm64'] as const) {
    for (const format of ['iso', 'raw', 'qcow2'] as const) {
      const s = qemuScript(arch, format, `buckos-0.1.0-${arch}.${format}`);
      syntaxOk(s);
      assert.match(s, /MEMORY=\$\{MEMORY:-1024\}/);
      assert.match(s, /CPUS=\$\{CPUS:-2\}/);
      assert.match(s, /-m "\$MEMORY" -smp "\$CPUS"/);
      assert.match(s, new RegExp(`"\\$here/buckos-0\\.1\\.0-${arch}\\.${format}"`));
      assert.match(s, /-accel kvm -machine/);
      assert.match(s, /QEMU_ACCEL=tcg/);
    }
  }
  assert.match(qemuScript('amd64', 'iso', 'x.iso'), /FIRMWARE=\$\{FIRMWARE:-bios\}/);
  const arm = qemuScript('arm64', 'raw', 'x.raw');
  assert.match(arm, /fw="-bios \$AAVMF_FD"/);
  assert.match(arm, /-nographic \$fw /);
  assert.match(qemuScript('amd64', 'qcow2', 'x.qcow2'), /format=qcow2/);
});

test('the Cloud Hypervisor script boots kernel + initramfs with the raw disk and the root id', () => {
  const s = cloudHypervisorScript('amd64', { kernel: 'k', initramfs: 'i.cpio.gz', raw: 'd.raw' }, 'feedfacefeedface');
  syntaxOk(s);
  assert.match(s, /--kernel "\$here\/k"/);
  assert.match(s, /--initramfs "\$here\/i.cpio.gz"/);
  assert.match(s, /console=ttyS0,115200n8 buckos.root=feedfacefeedface rw/);
  assert.not.match(s, /tty0 /);
  assert.match(s, /--memory size="\$\{MEMORY\}M" --cpus boot="\$CPUS"/);
  assert.match(cloudHypervisorScript('arm64', { kernel: 'k', initramfs: 'i', raw: 'd' }, 'x'), /console=ttyAMA0 buckos.root=x rw/);
});

test('nonZeroBytes counts whole 4 KiB blocks with data, across read chunks', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nonzero-'));
  const b = Buffer.alloc(4096 * 300 + 100);
  b[5000] = 1;
  b[4096 * 3 + 1] = 1;
  b[4096 * 64] = 1; // the first block of the second 256 KiB read
  b[4096 * 300 + 50] = 1; // the short last block
  writeFileSync(join(dir, 'a'), b);
  writeFileSync(join(dir, 'b'), Buffer.alloc(100));
  assert.is(await nonZeroBytes(join(dir, 'a')), 4096 * 3 + 100);
  assert.is(await nonZeroBytes(join(dir, 'b')), 0);
  rmSync(dir, { recursive: true });
});

test.run();
