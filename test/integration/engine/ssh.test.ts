// ssh, against an sshd of the test's own (sshd.ts):
//  5. a builder endpoint ssh://root@127.0.0.1:<port> reaches the local engine
//     through it (dockerode's ssh transport runs `docker system dial-stdio`
//     there) and runs a container; a host key not in known_hosts is refused;
//  6. `osforge upload` to root@127.0.0.1:<dir> works over scp and, with
//     --use-rsync, over rsync, and a second upload changes nothing.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Docker from 'dockerode';
import { startSshd, type Sshd } from './sshd.ts';
import { parseBuilders, resolveEndpoint } from '../../../pipeline/engine/builders.ts';
import { DockerEngine } from '../../../pipeline/engine/docker.ts';
import { LABEL_RUN } from '../../../pipeline/engine/engine.ts';
import { sha256 } from '../../../pipeline/util/hash.ts';
import { configHash } from '../../../pipeline/binpkg/config-hash.ts';
import { packageBytes, runCli, snapshot, tempDir } from '../../fixtures/binpkg/helpers.ts';
import { base, runId } from '../fixtures.ts';

const t = suite('ssh: a builder endpoint and uploads through a real sshd');
let sshd: Sshd;
let root = '';

t.before(async () => {
  sshd = await startSshd();
  root = await tempDir('ssh');
});
t.after(async () => {
  await sshd?.stop();
  await rm(root, { recursive: true, force: true });
});

function withEnv<T>(env: Record<string, string>, fn: () => T): T {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return fn();
  } finally {
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  }
}

t('an ssh:// builder reaches the local engine through sshd and runs a container there; an unknown host key is refused', async () => {
  const image = (await base('amd64')).ref;
  const spec = parseBuilders(`linux/arm64=ssh://root@127.0.0.1:${sshd.port}`, '--builders')[0]!;
  const r = withEnv({ OSFORGE_SSH_KEY: sshd.key, OSFORGE_SSH_KNOWN_HOSTS: sshd.knownHosts }, () => resolveEndpoint(spec));
  const engine = new DockerEngine(new Docker(r.options as Docker.DockerOptions), undefined, r.name);
  await engine.ping(20_000);
  const res = await engine.run({ image, cmd: ['/bin/sh', '-c', 'echo via-ssh-$((6*7))'], network: 'none', labels: { [LABEL_RUN]: runId } });
  assert.is(res.exitCode, 0);
  assert.ok(res.log.includes('via-ssh-42'), res.log.join('\n'));
  // Same sshd, but known_hosts lists another key for it: the connection is refused before any request.
  const wrong = join(root, 'known_hosts_wrong');
  writeFileSync(wrong, `[127.0.0.1]:${sshd.port} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n`);
  const bad = withEnv({ OSFORGE_SSH_KEY: sshd.key, OSFORGE_SSH_KNOWN_HOSTS: wrong }, () => resolveEndpoint(spec));
  try {
    await new DockerEngine(new Docker(bad.options as Docker.DockerOptions), undefined, bad.name).ping(20_000);
    assert.unreachable('a host key that known_hosts does not list was accepted');
  } catch (err) {
    assert.match(String((err as Error).cause ?? err), /verification failed|Host denied/i);
  }
});

// ---- upload over scp and rsync ---------------------------------------------------------

const COMPILER = 'gcc 12.2.0 / musl 1.2.3';
const pkgs: { name: string; version: string; arch: string; key: string; files: Record<string, string> }[] = [
  { name: 'busybox', version: '1.36.1', arch: 'amd64', key: 'a'.repeat(64), files: { 'bin/busybox': 'busybox amd64\n' } },
  { name: 'zlib', version: '1.3.1', arch: 'amd64', key: 'c'.repeat(64), files: { 'lib/libz.a': 'zlib\n' } },
];

/** Packages as `osforge package` writes them, from stage entries and a manifest. */
async function packaged(): Promise<string> {
  const state = join(root, 'state');
  const manifest: unknown[] = [];
  for (const p of pkgs) {
    const dir = join(state, 'stages', p.key);
    await mkdir(dir, { recursive: true });
    const data = await packageBytes(p.files);
    await writeFile(join(dir, 'output.tar.gz'), data);
    await writeFile(
      join(dir, 'meta.json'),
      JSON.stringify({ name: p.name, version: p.version, arch: p.arch, key: p.key, deps: [], outputSha256: sha256(data), compiler: COMPILER, useFlags: [] }),
    );
    manifest.push({ name: p.name, version: p.version, arch: p.arch, key: p.key, deps: [], sources: [], outputSha256: sha256(data) });
  }
  await writeFile(join(root, 'manifest.json'), JSON.stringify({ name: 'buckos', version: '0.1.0', packages: manifest, toolchains: {} }));
  const out = join(root, 'out');
  const r = await runCli(['package', '--manifest', join(root, 'manifest.json'), '--output-dir', out], { env: { OSFORGE_STATE_DIR: state } });
  assert.is(r.code, 0, r.stderr);
  return out;
}

for (const [how, flags] of [
  ['scp', []],
  ['rsync', ['--use-rsync']],
] as const) {
  t(`upload to root@127.0.0.1 over ${how}: first-letter layout and index.json; a second upload changes nothing`, async () => {
    const out = await packaged();
    const mirror = join(root, `mirror-${how}`);
    const env = { OSFORGE_SSH_CONFIG: sshd.config };
    const args = ['upload', '--source', out, '--mirror', `root@127.0.0.1:${mirror}`, ...flags, '--staging-dir', join(root, 'staging')];
    const first = await runCli(args, { env });
    assert.is(first.code, 0, first.stderr);
    assert.equal(readdirSync(mirror).sort(), ['b', 'index.json', 'z']);
    const file = (p: (typeof pkgs)[number]) =>
      `${p.name}-${p.version}-${configHash({ arch: p.arch, compiler: COMPILER, useFlags: [], depGraphHash: p.key })}-bin.tar.gz`;
    for (const p of pkgs) assert.ok(readFileSync(join(mirror, p.name[0]!, file(p))).equals(readFileSync(join(out, file(p)))), `${p.name} arrived intact`);
    const index = JSON.parse(readFileSync(join(mirror, 'index.json'), 'utf8'));
    assert.equal(index.packages.map((e: { filename: string }) => e.filename).sort(), pkgs.map(file).sort());
    const before = snapshot(mirror);
    const mtime = statSync(join(mirror, 'index.json')).mtimeMs;
    const again = await runCli(args, { env });
    assert.is(again.code, 0, again.stderr);
    assert.equal(snapshot(mirror), before);
    assert.is(statSync(join(mirror, 'index.json')).mtimeMs, mtime, 'index.json was rewritten');
  });
}

t.run();
