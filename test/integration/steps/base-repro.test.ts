// A base image must not depend on where the state dir lives: apt's sandbox
// user could once reach one chroot and not another (a 0700 parent), which
// changed the owner of apt's partial/ dirs and so the image ID.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mmdebstrap } from '../../../pipeline/steps/base.ts';
import { sha256File } from '../../../pipeline/util/hash.ts';
import { plan } from '../fixtures.ts';

const t = suite('base image independent of the state dir (real mmdebstrap)');

t('a state dir under a 0700 parent and one under a 0755 parent give the same bytes', async () => {
  const root = mkdtempSync(join(tmpdir(), 'osforge-base-repro-'));
  try {
    const dirs = ['open', 'closed'].map((name) => join(root, name));
    for (const d of dirs) mkdirSync(join(d, 'tmp'), { recursive: true });
    chmodSync(root, 0o755);
    chmodSync(dirs[0]!, 0o755);
    chmodSync(dirs[1]!, 0o700);
    await Promise.all(dirs.map((d) => mmdebstrap(plan.base, 'amd64', join(d, 'out.tar'), () => undefined, false, join(d, 'tmp'))));
    const [a, b] = await Promise.all(dirs.map((d) => sha256File(join(d, 'out.tar'))));
    assert.is(a, b);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

t.run();
