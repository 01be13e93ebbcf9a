import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertJsonDepth, parseJsonBounded } from '../../../pipeline/util/json-bounded.ts';
import { printable } from '../../../pipeline/util/printable.ts';
import { readRegularFile } from '../../../pipeline/util/regular-file.ts';

test('JSON nested past the limit is refused before parsing; strings do not count', () => {
  assert.throws(() => assertJsonDepth('['.repeat(65) + ']'.repeat(65), 'index.json'), /nests deeper than 64/);
  assertJsonDepth('['.repeat(64) + ']'.repeat(64), 'index.json');
  assert.equal(parseJsonBounded(JSON.stringify({ a: '[[[[[[\\"['.repeat(100) }), 'x', 3), { a: '[[[[[[\\"['.repeat(100) });
  assert.throws(() => parseJsonBounded('{"a":', 'meta.json'), /meta.json is not valid JSON/);
});

test('control characters are escaped, not passed to the terminal', () => {
  assert.is(printable('Not Found\u001b[2J\r\n'), 'Not Found\\x1b[2J\\x0d\\x0a');
  assert.is(printable('ok \u202e'), 'ok \\u202e');
});

test('only regular files are read: a symlink, a FIFO, a device and an oversize file are refused', async () => {
  const d = mkdtempSync(join(tmpdir(), 'osforge-regular-'));
  writeFileSync(join(d, 'f'), 'hello');
  symlinkSync('/dev/zero', join(d, 'zero'));
  execFileSync('mkfifo', [join(d, 'fifo')]);
  assert.is((await readRegularFile(join(d, 'f'), 'SHA256SUMS entry', 100)).toString(), 'hello');
  for (const [p, re] of [
    [join(d, 'zero'), /is a symlink/],
    [join(d, 'fifo'), /not a regular file/],
    ['/dev/zero', /not a regular file/],
    [join(d, 'f'), /over the 4-byte limit/],
  ] as const) {
    let err: unknown;
    try {
      await readRegularFile(p, 'SHA256SUMS entry', p === join(d, 'f') ? 4 : 100);
    } catch (e) {
      err = e;
    }
    assert.match(String((err as Error)?.message), re);
  }
});

test.run();
