import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { refusal } from '../../fixtures/binpkg/helpers.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { extractFilesTo, scanPackage } from '../../../pipeline/binpkg/unpack.ts';
import { sha256 } from '../../../pipeline/util/hash.ts';
import { gzip, packEntries } from '../../../pipeline/util/tar.ts';

const test = suite('binpkg/unpack');
const MiB = 1024 * 1024;

test('headers are scanned without contents; files are streamed out with sha256, size and exact mode', async () => {
  const pkg = gzip(
    await packEntries(
      [
        { path: 'bin/tool', type: 'file', mode: 0o755, data: Buffer.from('tool\n') },
        { path: 'bin/t', type: 'symlink', mode: 0o777, linkname: 'tool' },
      ],
      0,
    ),
  );
  const entries = await scanPackage(pkg, MiB, 'pkg');
  assert.equal(
    entries.map((e) => [e.path, e.type, e.data]),
    [
      ['bin', 'directory', undefined],
      ['bin/t', 'symlink', undefined],
      ['bin/tool', 'file', undefined],
    ],
  );
  const dir = mkdtempSync(join(tmpdir(), 'osforge-unpack-'));
  try {
    mkdirSync(join(dir, 'bin'));
    let files = 0;
    const out = await extractFilesTo(
      pkg,
      MiB,
      'pkg',
      dir,
      new Map(entries.map((e) => [e.path, e])),
      async () => {
        files++;
      },
      sha256(pkg),
    );
    assert.equal([...out], [['bin/tool', { sha256: sha256('tool\n'), size: 5 }]]);
    assert.is(files, 1);
    assert.is(readFileSync(join(dir, 'bin/tool'), 'utf8'), 'tool\n');
    assert.is(statSync(join(dir, 'bin/tool')).mode & 0o777, 0o755);
    // The second pass must read what the first checked: another listing, or other bytes, are refused.
    const e1 = await refusal(extractFilesTo(pkg, MiB, 'pkg', mkdtempSync(join(dir, 'x')), new Map(), async () => {}));
    assert.match(e1.message, /refusing archive entry "bin": it was not in the checked listing of pkg/);
    const d2 = mkdtempSync(join(dir, 'y'));
    mkdirSync(join(d2, 'bin'));
    const e2 = await refusal(extractFilesTo(pkg, MiB, 'pkg', d2, new Map(entries.map((e) => [e.path, e])), async () => {}, '0'.repeat(64)));
    assert.match(e2.message, /^pkg changed on disk while it was being installed \(sha256 [0-9a-f]{64}, verified 0{64}\)$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a bomb stops at the cap; broken gzip and non-tar data are named', async () => {
  const bomb = gzip(await packEntries([{ path: 'z', type: 'file', mode: 0o644, data: Buffer.alloc(16 * MiB) }], 0));
  const b = await refusal(scanPackage(bomb, MiB, 'bomb.tar.gz'));
  assert.is(b.code, 'LIMIT_EXCEEDED');
  assert.match(b.message, new RegExp(`^bomb\\.tar\\.gz decompresses to more than the 1M limit \\(${bomb.length} bytes compressed\\)`));
  const g = await refusal(scanPackage(Buffer.from('not gzip'), MiB, 'g'));
  assert.is(g.code, 'ARCHIVE_UNSAFE');
  assert.match(g.message, /^g is not a valid gzip file/);
  const t = await refusal(scanPackage(gzip(Buffer.from('x'.repeat(600))), MiB, 't'));
  assert.match(t.message, /^t is not a valid tar archive/);
});

test.run();
