// `make boot-test`: boots every image under QEMU TCG (never KVM) and waits for
// `BUCKOS-BOOT-OK <arch> <version>` on the serial console.
// - test boots: the plain command plus -smbios type=11,value=osforge.test=1, so
//   GRUB picks the osforge.test=1 entry; the guest runs its smoke checks
//   (kernel release, util-linux on the root device, e2fsck on an ext4 root,
//   a DHCP lease on virtio-net), prints the marker only if all pass, and
//   powers itself off;
// - plain boots: the same command without it; the default entry must reach the
//   marker and a working shell on the console, which we then power off.
// Images come from OSFORGE_BOOT_DIST, else dist/.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { paths } from '../../pipeline/paths.ts';
import { bootCases, type BootCase } from './qemu.ts';

const dist = resolve(process.env.OSFORGE_BOOT_DIST ?? paths.dist());
const manifest = JSON.parse(readFileSync(join(dist, 'manifest.json'), 'utf8')) as {
  name: string;
  version: string;
  grub?: { version: string }[];
  packages: { name: string; id?: string }[];
  imageSets?: { profile: string | null; name: string; packages: string[] }[];
};
// Every image set's images (a dist/ of `--profile minimal,server` has two); older manifests have one, with every package.
const nameOf = new Map(manifest.packages.map((p) => [p.id ?? p.name, p.name]));
const sets = manifest.imageSets ?? [{ profile: null, name: manifest.name, packages: manifest.packages.map((p) => p.name) }];
const casesFor = (opts: { test: boolean }) =>
  sets.flatMap((s) =>
    bootCases(
      dist,
      s.name,
      manifest.version,
      opts,
      s.packages.map((id) => nameOf.get(id) ?? id),
      s.profile ? `${s.profile}: ` : '',
    ),
  );
const TIMEOUT_MS = Number(process.env.BOOT_TIMEOUT_S ?? 600) * 1000;
const logDir = join(paths.logs(), `boot-test-${Date.now()}`);
mkdirSync(logDir, { recursive: true });
const timings: string[] = [];

interface BootResult {
  marker: boolean;
  exitCode: number | null;
  seconds: number;
  markerSeconds: number | null;
  shell: boolean;
  log: string;
  smoke: Map<string, string>;
  grubBanner: string | null;
}

/** The guest's "SMOKE ok|skip|FAIL <check>: detail" lines, by check. */
function smokeLines(out: string): Map<string, string> {
  return new Map([...out.replace(/\r/g, '').matchAll(/^SMOKE (ok|skip|FAIL) ([a-z0-9-]+): (.*)$/gm)].map((m) => [m[2]!, `${m[1]} ${m[3]}`]));
}

function boot(c: BootCase, mode: 'test' | 'plain'): Promise<BootResult> {
  const marker = `BUCKOS-BOOT-OK ${c.arch} ${manifest.version}`;
  const started = Date.now();
  return new Promise((done, fail) => {
    const child = spawn(c.argv[0]!, c.argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let markerAt: number | null = null;
    let shell = false;
    let typed = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    const onData = (b: Buffer) => {
      out += b.toString('latin1');
      if (markerAt === null && out.split(/\r?\n/).some((l) => l.replace(/\r/g, '').trim() === marker)) markerAt = Date.now();
      if (mode === 'plain' && markerAt !== null && !typed && /[#$] $/.test(out.replace(/\r/g, '').slice(-80))) {
        typed = true;
        child.stdin.write('echo shell-$((6*7)); poweroff -f\r');
      }
      if (out.includes('shell-42')) shell = true;
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      const file = join(logDir, `${c.name.replace(/[^A-Za-z0-9]+/g, '-')}-${mode}.log`);
      writeFileSync(file, out);
      done({
        marker: markerAt !== null,
        exitCode: code,
        seconds: (Date.now() - started) / 1000,
        markerSeconds: markerAt === null ? null : (markerAt - started) / 1000,
        shell,
        log: file,
        smoke: smokeLines(out),
        grubBanner: /GNU GRUB +version (\S+)/.exec(out)?.[1] ?? null,
      });
    });
  });
}

test.before(() => {
  for (const c of casesFor({ test: true })) {
    if (!existsSync(c.image)) throw new Error(`${c.image} is missing: run make dist first (or set OSFORGE_BOOT_DIST)`);
  }
});

const modes = (process.env.BOOT_MODES ?? 'test,plain').split(',') as ('test' | 'plain')[];
for (const mode of modes) {
  for (const c of casesFor({ test: mode === 'test' })) {
    test(`${c.name} [${mode}]`, async () => {
      process.stdout.write(`\n  booting ${c.name} [${mode}]: ${c.argv.join(' ')}\n`);
      const r = await boot(c, mode);
      const line = `${c.name} [${mode}]: marker ${r.marker ? `after ${r.markerSeconds!.toFixed(1)} s` : 'MISSING'}, exit ${r.exitCode} after ${r.seconds.toFixed(1)} s`;
      timings.push(line);
      process.stdout.write(`  ${line} (log: ${r.log})\n`);
      if (mode === 'test') {
        for (const [check, result] of r.smoke) process.stdout.write(`    smoke ${check}: ${result}\n`);
        const failed = [...r.smoke].filter(([, v]) => v.startsWith('FAIL')).map(([k, v]) => `${k} (${v.slice(5)})`);
        assert.ok(failed.length === 0, `in-guest smoke check(s) failed: ${failed.join('; ')}; serial log: ${r.log}`);
        const missing = c.smoke.filter((check) => !r.smoke.get(check)?.startsWith('ok'));
        assert.ok(missing.length === 0, `in-guest smoke check(s) did not report: ${missing.join(', ')}; serial log: ${r.log}`);
      }
      assert.ok(r.marker, `no "BUCKOS-BOOT-OK ${c.arch} ${manifest.version}" within ${TIMEOUT_MS / 1000} s; serial log: ${r.log}`);
      assert.is(r.exitCode, 0, `QEMU did not exit cleanly (guest should power off); serial log: ${r.log}`);
      if (mode === 'plain') assert.ok(r.shell, `the default entry reached the marker but no working shell on the console; serial log: ${r.log}`);
      // A plain boot shows GRUB's menu on the serial console: its banner names the GRUB that booted, which must be the one built from source.
      if (mode === 'plain' && manifest.grub?.length) {
        assert.is(
          r.grubBanner,
          manifest.grub[0]!.version,
          `the GRUB menu says version ${r.grubBanner ?? '(no banner)'}, not ${manifest.grub[0]!.version} (the GRUB stage's); serial log: ${r.log}`,
        );
      }
    });
  }
}

test.after(() => {
  process.stdout.write(`\nboot timings (TCG):\n${timings.map((t) => `  ${t}`).join('\n')}\n`);
});

test.run();
