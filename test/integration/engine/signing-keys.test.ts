// No signing key ever reaches a stage container. Real stage steps (the tools
// stage's per-arch compiles, signing tools-cache/index.json with a real key)
// run with every key variable osforge reads set; each container the engine
// creates is inspected as the daemon sees it (Env, Binds, Mounts) and every
// tar copied into it is searched for the private key, and the step itself
// looks for the key's file and directory and the password from inside.
// Then the guard is shown to bite: a step handed the password or the key is
// refused before any container exists.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type Docker from 'dockerode';
import { ensureTools, toolsCacheTrust } from '../../../pipeline/steps/tools.ts';
import { StageStore } from '../../../pipeline/cache/stage-store.ts';
import { toolchainDir } from '../../../pipeline/cache/tools-cache.ts';
import { LABEL_RUN } from '../../../pipeline/engine/engine.ts';
import { writeKeyPair } from '../../../pipeline/crypto/keyfile.ts';
import { generateKeyPair } from '../../../pipeline/crypto/keys.ts';
import { packEntries } from '../../../pipeline/util/tar.ts';
import { sha256 } from '../../../pipeline/util/hash.ts';
import { OsforgeError } from '../../../pipeline/errors.ts';
import { engine, base, plan, runId } from '../fixtures.ts';

const t = suite('signing keys never enter a container (real Docker)');
const password = `pw-${process.pid}-${Date.now()}`;
const KEY_VARS = [
  'COSIGN_KEY',
  'COSIGN_PASSWORD',
  'OSFORGE_SHARED_CACHE_KEY',
  'OSFORGE_TOOLS_CACHE_KEY',
  'OSFORGE_SSH_KEY',
  'BINARY_MIRROR_KEY',
  'OSFORGE_TOOLS_CACHE_PUBKEY',
  'OSFORGE_SHARED_CACHE_PUBKEY',
];
let work: string;
let key: { privatePath: string; publicPath: string };
let keyBody: string;
const saved = new Map<string, string | undefined>();

interface Seen {
  name: string;
  env: string[];
  binds: string[];
  mounts: string[];
  inputs: Buffer[];
}
const seen: Seen[] = [];
let realCreate: Docker['createContainer'];

t.before(async () => {
  work = await mkdtemp(join(tmpdir(), 'osforge-keys-'));
  await mkdir(join(work, 'secret-keys'));
  key = await writeKeyPair({ prefix: join(work, 'secret-keys', 'cosign'), password, force: false, keyPair: generateKeyPair() });
  keyBody = (await readFile(key.privatePath, 'latin1')).replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const values: Record<string, string> = {
    COSIGN_KEY: key.privatePath,
    COSIGN_PASSWORD: password,
    OSFORGE_SHARED_CACHE_KEY: key.privatePath,
    OSFORGE_TOOLS_CACHE_KEY: key.privatePath,
    OSFORGE_SSH_KEY: key.privatePath,
    BINARY_MIRROR_KEY: key.publicPath,
    OSFORGE_TOOLS_CACHE_PUBKEY: key.publicPath,
    OSFORGE_SHARED_CACHE_PUBKEY: key.publicPath,
  };
  for (const v of KEY_VARS) {
    saved.set(v, process.env[v]);
    process.env[v] = values[v];
  }
  // Record every container as the daemon made it, and every tar put into it.
  realCreate = engine.docker.createContainer.bind(engine.docker);
  engine.docker.createContainer = (async (opts: Docker.ContainerCreateOptions) => {
    const c = await realCreate(opts);
    const info = await c.inspect();
    const entry: Seen = {
      name: info.Name,
      env: info.Config.Env ?? [],
      binds: info.HostConfig.Binds ?? [],
      mounts: [
        ...(info.Mounts ?? []).map((m) => `${m.Source}:${m.Destination}`),
        ...((info.HostConfig as { Mounts?: { Source?: string }[] }).Mounts ?? []).map((m) => String(m.Source)),
      ],
      inputs: [],
    };
    seen.push(entry);
    const put = c.putArchive.bind(c);
    c.putArchive = (async (file: NodeJS.ReadableStream | Buffer | string, o: object) => {
      if (Buffer.isBuffer(file)) {
        entry.inputs.push(file);
        return put(file, o);
      }
      const chunks: Buffer[] = [];
      for await (const ch of file as AsyncIterable<Buffer>) chunks.push(Buffer.from(ch));
      const all = Buffer.concat(chunks);
      entry.inputs.push(all);
      return put(all, o);
    }) as typeof c.putArchive;
    return c;
  }) as typeof engine.docker.createContainer;
});

t.after(async () => {
  engine.docker.createContainer = realCreate;
  for (const [v, old] of saved) {
    if (old === undefined) delete process.env[v];
    else process.env[v] = old;
  }
  await engine.removeByLabel(`${LABEL_RUN}=${runId}`).catch(() => undefined);
  await rm(work, { recursive: true, force: true });
});

t('real stage steps run with every key configured: no container sees a key, its directory, its bytes or the password', async () => {
  const keyDir = dirname(key.privatePath);
  // The tools step's script looks for the secrets from inside, as a hostile build script would.
  const script = `#!/bin/sh
set -eu
for p in ${key.privatePath} ${keyDir}; do [ -e "$p" ] && echo "KEY-VISIBLE $p"; done
env | grep -F -e '${password}' -e '${keyDir}' >/dev/null && echo "KEY-IN-ENV"
# In two halves, so this script itself does not hold what it looks for.
a='${keyBody.slice(0, 20)}'; b='${keyBody.slice(20, 40)}'
grep -rlF "$a$b" / --exclude-dir=proc --exclude-dir=sys 2>/dev/null | sed 's/^/KEY-BYTES-IN /' || true
mkdir -p /opt/osforge/$1 && cp "$3" /opt/osforge/$1/seed && echo STEP-RAN-$1
`;
  const data = `seed ${process.pid}\n`;
  await writeFile(join(work, 'seed.txt'), data);
  const seed = { name: 'musl', file: 'seed.txt', sha256: sha256(data), path: join(work, 'seed.txt'), from: 'test' };
  const b = await base('amd64');
  const store = new StageStore(join(work, 'stages'));
  const lines: string[] = [];
  const before = seen.length;
  const r = await ensureTools({
    engine,
    plan: { ...plan, imageFiles: { ...plan.imageFiles, tools: { 'build-musl.sh': Buffer.from(script) } } },
    key: sha256(`${b.inputHash}\0${script}`),
    buildenvRef: b.ref,
    musl: seed,
    cacheRoot: join(work, 'tools-cache'),
    sourceDateEpoch: 0,
    env: { skip: true, ciRestored: false },
    log: (l) => lines.push(l),
    store,
    runId,
    logDir: join(work, 'logs'),
    trust: await toolsCacheTrust(store, { sign: true }),
  });
  const out = lines.join('\n');
  assert.is(r.hit, false);
  assert.match(out, /STEP-RAN-amd64/);
  assert.match(out, /STEP-RAN-arm64/);
  // The key was really in use on the host meanwhile: the index is signed with it.
  assert.match(await readFile(join(toolchainDir(join(work, 'tools-cache')), 'index.json.sig'), 'utf8'), /^[A-Za-z0-9+/]+=*$/);
  assert.not.match(out, /KEY-VISIBLE|KEY-IN-ENV|KEY-BYTES-IN/, out);
  const created = seen.slice(before);
  assert.ok(created.length >= 2, `the steps' containers were seen (${created.length})`);
  for (const c of created) {
    for (const v of KEY_VARS)
      assert.not.ok(
        c.env.some((e) => e.startsWith(`${v}=`)),
        `${c.name}: env has ${v}`,
      );
    assert.not.ok(
      c.env.some((e) => e.includes(password) || e.includes(keyDir)),
      `${c.name}: env carries a secret`,
    );
    assert.equal(c.binds, [], `${c.name}: binds`);
    assert.equal(
      c.mounts.filter((m) => m.includes(keyDir) || m.includes(work)),
      [],
      `${c.name}: mounts`,
    );
    for (const tar of c.inputs) assert.not.ok(tar.includes(keyBody.slice(0, 40)), `${c.name}: an input holds the private key`);
  }
});

t('the guard bites: a step given the password, the key path or the key file is refused before a container exists', async () => {
  const b = await base('amd64');
  const before = seen.length;
  const attempt = (spec: Partial<Parameters<typeof engine.run>[0]>) =>
    engine.run({ image: b.ref, cmd: ['true'], network: 'none', labels: { [LABEL_RUN]: runId }, ...spec });
  const refused = async (spec: Partial<Parameters<typeof engine.run>[0]>, why: RegExp) => {
    try {
      await attempt(spec);
    } catch (err) {
      assert.ok(err instanceof OsforgeError, String(err));
      assert.match((err as Error).message, why);
      return;
    }
    assert.unreachable('started a container with a signing secret');
  };
  await refused({ env: { COSIGN_PASSWORD: password } }, /environment sets COSIGN_PASSWORD/);
  await refused({ env: { SIGNING_PASSPHRASE: password } }, /SIGNING_PASSPHRASE carries \$COSIGN_PASSWORD/);
  await refused({ env: { KEY: key.privatePath } }, /KEY carries \$COSIGN_KEY/);
  const withKey = await packEntries([{ path: 'root/cosign.key', type: 'file', mode: 0o600, data: await readFile(key.privatePath) }], 0);
  await refused({ inputs: [{ dir: '/', tar: withKey }] }, /input for \/ holds the private key/);
  assert.is(seen.length, before, 'no container was created for a refused step');
  // And an honest step still runs.
  assert.is((await attempt({ env: { GREETING: 'hello' } })).exitCode, 0);
  assert.is(seen.length, before + 1);
});

t.run();
