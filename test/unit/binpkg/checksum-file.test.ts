import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { formatChecksumFile, parseChecksumFile, type ChecksumFile } from '../../../pipeline/binpkg/checksum-file.ts';

const test = suite('binpkg/checksum-file');
const c: ChecksumFile = {
  sha256: 'ab'.repeat(32),
  filename: 'bash-5.3-a1b2c3d4-bin.tar.gz',
  configHash: 'a1b2c3d4',
  contentHash: 'abababab',
  name: 'bash',
  version: '5.3',
  arch: 'amd64',
};

test('writes the seed format: sha256sum line, then the five metadata lines', () => {
  assert.is(
    formatChecksumFile(c),
    [
      `${'ab'.repeat(32)}  bash-5.3-a1b2c3d4-bin.tar.gz`,
      '# Config Hash: a1b2c3d4',
      '# Content Hash: abababab',
      '# Package: bash',
      '# Version: 5.3',
      '# Target: //stage2/amd64:bash',
      '',
    ].join('\n'),
  );
});

test('round-trips and ignores unknown metadata lines', () => {
  assert.equal(parseChecksumFile(formatChecksumFile(c), 'x'), c);
  assert.equal(parseChecksumFile(formatChecksumFile(c) + '# Built-By: ci\n', 'x'), c);
});

test('refuses malformed files', () => {
  const good = formatChecksumFile(c);
  const cases: [string, RegExp][] = [
    [good.replace(/^ab/, 'zz'), /line 1/],
    [good.replace('# Version: 5.3\n', ''), /missing "# Version:"/],
    [good.replace('//stage2/amd64:bash', 'amd64'), /Target/],
    [good.replace('//stage2/amd64:bash', '//stage2/amd64:zsh'), /Target names package/],
    [good.replace('# Config Hash: a1b2c3d4', '# Config Hash: xyz'), /Config Hash/],
    [good + '# Version: 5.4\n', /duplicate/],
    [good + 'garbage\n', /unexpected line/],
    [good.replace('# Package: bash', '# Package: ../bash').replace(':bash', ':../bash'), /invalid package name/],
  ];
  for (const [text, re] of cases) assert.throws(() => parseChecksumFile(text, 'x'), re, text);
});

test.run();
