// make bench: the same rebuild on one engine and on two. Both runs start
// from the machine's stage store (hard-linked; see test/support/dist-run.ts)
// minus every package, stage1, stage3 and rootfs entry of both arches except
// busybox, so each rebuilds those packages and what follows from them. The
// two-engine run places arm64 on a second dockerd of its own over mutual TLS
// (the builders test's), amd64 stays local. On one machine the two engines
// share its cores, so this measures placement overhead (shipping the builder
// image, the TLS transport) rather than a speed-up; with a second machine the
// arm64 half would leave this one. Needs a finished `make dist`.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTlsEngine } from '../integration/engine/tls-engine.ts';
import { linkedState, machineHasBuild, runDistCli, type DistRun } from '../support/dist-run.ts';

if (!machineHasBuild()) {
  console.log('builders bench: skipped (no finished make dist in the stage store)');
  process.exit(0);
}
const work = mkdtempSync(join(tmpdir(), 'osforge-builders-bench-'));
const drop = (m: { kind?: string; name?: string }) => ['stage1', 'stage3', 'rootfs'].includes(m.kind ?? '') || (m.kind === 'package' && m.name !== 'busybox');
const e2 = await startTlsEngine();
try {
  const dockerConfig = join(work, 'docker-config');
  mkdirSync(dockerConfig);
  execFileSync(
    'docker',
    ['context', 'create', 'bench-arm64', '--docker', `host=tcp://127.0.0.1:${e2.port},ca=${e2.certs.ca},cert=${e2.certs.cert},key=${e2.certs.key}`],
    { env: { ...process.env, DOCKER_CONFIG: dockerConfig }, stdio: 'ignore' },
  );
  const run = async (label: string, args: string[]): Promise<DistRun> => {
    const r = await runDistCli({
      state: linkedState(join(work, `state-${label}`), drop),
      out: join(work, `dist-${label}`),
      args,
      env: { DOCKER_CONFIG: dockerConfig },
    });
    if (r.code !== 0) throw new Error(`${label} dist failed:\n${r.stderr.slice(-2000)}`);
    return r;
  };
  const one = await run('one', []);
  const two = await run('two', ['--builders', 'linux/amd64=local,linux/arm64=bench-arm64;jobs=2']);
  const rebuilt = (r: DistRun) => r.events.filter((e) => e.event === 'end' && e.hit === false && /^stage[123]\//.test(e.stage)).length;
  const remote = two.events.filter((e) => e.event === 'end' && e.engine?.startsWith('bench-arm64')).length;
  const same = readFileSync(join(work, 'dist-one', 'SHA256SUMS'), 'utf8') === readFileSync(join(work, 'dist-two', 'SHA256SUMS'), 'utf8');
  console.log(`\nbuilders bench (${cpus().length} cores; both engines on this machine):`);
  console.log('  | build | wall (s) | stages rebuilt | on the second engine |');
  console.log('  |---|---:|---:|---:|');
  console.log(`  | one engine | ${one.seconds.toFixed(1)} | ${rebuilt(one)} | 0 |`);
  console.log(`  | two engines (arm64 over TLS) | ${two.seconds.toFixed(1)} | ${rebuilt(two)} | ${remote} |`);
  console.log(`  two / one: ${(two.seconds / one.seconds).toFixed(2)}x; dist/ identical: ${same ? 'yes' : 'NO'}`);
  if (!same) {
    const lines = (f: string) => new Set(readFileSync(f, 'utf8').split('\n'));
    const a = lines(join(work, 'dist-one', 'SHA256SUMS'));
    const b = lines(join(work, 'dist-two', 'SHA256SUMS'));
    console.log(
      `  differing: ${[...a]
        .filter((l) => !b.has(l))
        .map((l) => l.split(/\s+/)[1])
        .join(', ')}`,
    );
    process.exitCode = 1;
  }
} finally {
  await e2.stop();
  if (process.env.BENCH_KEEP) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
