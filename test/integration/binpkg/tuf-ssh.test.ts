// A signed upload to a remote mirror through a real sshd (the engine tests'
// sshd.ts), over scp and over rsync: the TUF metadata arrives beside
// index.json and verifies, a second identical upload changes nothing, the
// next one raises the versions, and --refresh-timestamp re-signs
// timestamp.json alone over ssh.
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { installBinary } from '../../../pipeline/binpkg/installer.ts';
import { upload, type UploadOptions } from '../../../pipeline/binpkg/publish.ts';
import { startSshd, type Sshd } from '../engine/sshd.ts';
import { packageBytes, snapshot, tempDir, writeMirror } from '../../fixtures/binpkg/helpers.ts';

const test = suite('binpkg/tuf-ssh');
const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
let sshd: Sshd;
let root = '';
let savedConfig: string | undefined;

test.before(async () => {
  sshd = await startSshd();
  root = await tempDir('tuf-ssh');
  savedConfig = process.env.OSFORGE_SSH_CONFIG;
  process.env.OSFORGE_SSH_CONFIG = sshd.config;
});
test.after(async () => {
  if (savedConfig === undefined) delete process.env.OSFORGE_SSH_CONFIG;
  else process.env.OSFORGE_SSH_CONFIG = savedConfig;
  await sshd?.stop();
  await rm(root, { recursive: true, force: true });
});

for (const useRsync of [false, true]) {
  const how = useRsync ? 'rsync' : 'scp';
  test(`signed upload over ${how}: TUF metadata on the remote mirror, idempotent, versions rise, --refresh-timestamp`, async () => {
    const mirror = join(root, `mirror-${how}`);
    const src = async (label: string, version: string) => {
      const dir = join(root, `src-${how}-${label}`);
      await writeMirror(dir, [{ name: 'hello', version, data: await packageBytes({ 'bin/hello': `hello ${version}\n` }) }], {
        index: false,
        signWith: key.privateKey,
      });
      return dir;
    };
    const logs: string[] = [];
    const o = (source: string, over: Partial<UploadOptions> = {}): UploadOptions => ({
      source,
      mirror: `root@127.0.0.1:${mirror}`,
      useRsync,
      generateIndexOnly: false,
      dryRun: false,
      signKey: key.privateKey,
      stagingDir: join(root, 'staging'),
      log: (m) => logs.push(m),
      ...over,
    });
    const v1 = await src('v1', '1.0');
    await upload(o(v1));
    assert.equal(readdirSync(mirror).sort(), [
      '1.root.json',
      '1.snapshot.json',
      '1.targets.json',
      'h',
      'index.json',
      'index.json.sig',
      'root.json',
      'timestamp.json',
    ]);
    const pinned = join(mirror, 'root.json');
    const prefix = join(root, `p-${how}`);
    assert.is(
      (
        await installBinary({
          name: 'hello',
          arch: 'amd64',
          mirrorUrl: `file://${mirror}`,
          prefix,
          cacheDir: join(root, `c-${how}`),
          downloadOnly: false,
          tufRoot: pinned,
          log: () => {},
        })
      ).action,
      'installed',
    );

    const before = snapshot(mirror);
    logs.length = 0;
    await upload(o(v1));
    assert.equal(snapshot(mirror), before, 'a second identical upload changed the mirror');
    assert.match(logs.join('\n'), /is up to date/);

    await upload(o(await src('v2', '2.0')));
    assert.ok(readdirSync(mirror).includes('2.targets.json'));
    assert.is(JSON.parse(readFileSync(join(mirror, 'timestamp.json'), 'utf8')).signed.version, 2);
    const r = await installBinary({
      name: 'hello',
      arch: 'amd64',
      mirrorUrl: `file://${mirror}`,
      prefix,
      cacheDir: join(root, `c-${how}`),
      downloadOnly: false,
      tufRoot: pinned,
      log: () => {},
    });
    assert.is(r.entry.version, '2.0');

    const mid = snapshot(mirror);
    await upload(o('', { refreshTimestamp: true }));
    const after = snapshot(mirror);
    assert.equal(
      Object.keys(after).filter((p) => after[p] !== mid[p]),
      ['timestamp.json'],
    );
    assert.is(JSON.parse(readFileSync(join(mirror, 'timestamp.json'), 'utf8')).signed.version, 3);
  });
}

test.run();
