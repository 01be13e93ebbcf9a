import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { provisionBuck2 } from '../../../pipeline/steps/buck2.ts';
import { sha256 } from '../../../pipeline/util/hash.ts';

const spec = { version: 'v-test', asset: 'buck2', url: '', sha256: null };

test('no local file and no URL: null, with a note saying why', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'osforge-b2-'));
  const notes: string[] = [];
  assert.is(await provisionBuck2(spec, dir, (l) => notes.push(l), {}), null);
  assert.match(notes.join('\n'), /not provisioned/);
  await rm(dir, { recursive: true });
});

test('a local file is verified against the pin; mismatch shows expected vs actual', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'osforge-b2-'));
  const file = join(dir, 'buck2');
  await writeFile(file, 'fake buck2');
  const good = await provisionBuck2(spec, dir, () => undefined, { BUCK2_SHA256: sha256('fake buck2') });
  assert.is(good!.sha256, sha256('fake buck2'));
  try {
    await provisionBuck2(spec, dir, () => undefined, { BUCK2_BINARY: file, BUCK2_SHA256: 'b'.repeat(64) });
    assert.unreachable();
  } catch (err) {
    assert.match((err as Error).message, new RegExp(`expected: ${'b'.repeat(64)}\\n  actual:   ${sha256('fake buck2')}`));
  }
  await rm(dir, { recursive: true });
});

test('an unpinned local file and a missing BUCK2_BINARY are errors that say how to fix them', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'osforge-b2-'));
  await writeFile(join(dir, 'buck2'), 'x');
  await provisionBuck2(spec, dir, () => undefined, {}).then(
    () => assert.unreachable(),
    (e: Error) => assert.match(e.message, /no pinned sha256/),
  );
  await provisionBuck2(spec, dir, () => undefined, { BUCK2_BINARY: join(dir, 'nope') }).then(
    () => assert.unreachable(),
    (e: Error) => assert.match(e.message, /BUCK2_BINARY=.*does not exist/),
  );
  await rm(dir, { recursive: true });
});

test.run();
