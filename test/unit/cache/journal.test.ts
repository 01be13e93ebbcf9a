import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal, diffInputs, explain, formatExplanation } from '../../../pipeline/cache/journal.ts';
import { node } from '../../../pipeline/graph/keys.ts';

test('diffInputs reports changed, added and removed inputs', () => {
  assert.equal(
    diffInputs(
      [
        ['a', '1'],
        ['b', '2'],
      ],
      [
        ['a', '1'],
        ['b', '3'],
        ['c', '4'],
      ],
    ),
    [
      { name: 'b', old: '2', new: '3' },
      { name: 'c', old: null, new: '4' },
    ],
  );
  assert.equal(diffInputs([['gone', 'x']], []), [{ name: 'gone', old: 'x', new: null }]);
});

test('explain: no previous entry, then the exact input that changed', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'osforge-j-'));
  const journal = new Journal(dir);
  const v1 = node('stage2/amd64/zlib', [
    ['file:build.sh', 'aaa'],
    ['arch', 'amd64'],
  ]);
  assert.is(explain(v1, false, journal).reason, 'no previous entry');
  await journal.record(v1);
  assert.is(explain(v1, true, journal).status, 'hit');
  assert.match(explain(v1, false, journal).reason, /evicted/);
  const v2 = node('stage2/amd64/zlib', [
    ['file:build.sh', 'bbb'],
    ['arch', 'amd64'],
  ]);
  const e = explain(v2, false, journal);
  assert.equal(e.changes, [{ name: 'file:build.sh', old: 'aaa', new: 'bbb' }]);
  assert.is(formatExplanation(e), 'miss  stage2/amd64/zlib: 1 input(s) changed\n        file:build.sh: aaa -> bbb');
  await rm(dir, { recursive: true });
});

test.run();
