import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, mkdirSync } from 'node:fs';
import { OsforgeError, formatError } from '../../pipeline/errors.ts';

/** The real error Node throws for `fn`, so the mapping is tested against what users will hit. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('did not throw');
}

const noDebug = {};
const stackLine = /^\s+at .*:\d+:\d+\)?$/m;

test('Node errors become one line naming the path, a fix line, and no stack', () => {
  const cases: [unknown, RegExp][] = [
    [thrown(() => readFileSync('/nonexistent/osforge/x.json')), /^error \[ENOENT\]: no such file or directory: \/nonexistent\/osforge\/x\.json$/],
    [thrown(() => readFileSync('/etc/hostname/x')), /^error \[ENOTDIR\]: a component of the path is not a directory: \/etc\/hostname\/x$/],
    [thrown(() => readFileSync(`/tmp/${'n'.repeat(300)}`)), /^error \[ENAMETOOLONG\]: file name too long: \/tmp\/n{300}$/],
    [thrown(() => readFileSync('/tmp')), /^error \[EISDIR\]: is a directory, expected a file: /],
    [thrown(() => mkdirSync('/etc/hostname/sub', { recursive: true })), /^error \[(EEXIST|ENOTDIR)\]: .*\/etc\/hostname/],
    [
      Object.assign(new Error("EACCES: permission denied, open '/root/x'"), { code: 'EACCES', syscall: 'open', path: '/root/x', errno: -13 }),
      /^error \[EACCES\]: permission denied: \/root\/x$/,
    ],
    [
      Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write', path: '/state/stages/x.tmp', errno: -28 }),
      /^error \[ENOSPC\]: no space left on device: \/state\/stages\/x\.tmp$/,
    ],
    [
      Object.assign(new Error('EXDEV: cross-device link'), { code: 'EXDEV', syscall: 'rename', path: '/a', dest: '/b', errno: -18 }),
      /^error \[EXDEV\]: EXDEV: cross-device link$/,
    ],
  ];
  for (const [err, head] of cases) {
    const [first, ...rest] = formatError(err, noDebug).split('\n');
    assert.match(first!, head);
    assert.is(rest.length, 1, String(first));
    assert.match(rest[0]!, /^ {2}fix: \S/);
    assert.not.match(formatError(err, noDebug), stackLine);
  }
  assert.match(formatError(cases[5]![0], noDebug), /fix: check the owner and mode/);
  assert.match(formatError(cases[6]![0], noDebug), /fix: free disk space \(`osforge cache gc/);
});

test('a plain Error: its message on one line, later lines indented, no stack; OSFORGE_DEBUG=1 adds the stack', () => {
  const err = new TypeError('cannot read properties of undefined\nsecond line');
  const plain = formatError(err, noDebug);
  assert.is(plain.split('\n')[0], 'error: cannot read properties of undefined');
  assert.is(plain.split('\n')[1], '  second line');
  assert.match(plain, /fix: this is unexpected; run again with OSFORGE_DEBUG=1/);
  assert.not.match(plain, stackLine);
  const debug = formatError(err, { OSFORGE_DEBUG: '1' });
  assert.match(debug, stackLine);
  assert.match(debug, /errors\.test\.ts/);
  assert.is(formatError('a string', noDebug).split('\n')[0], 'error: a string');
  const fetchFailed = new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:9') });
  assert.is(formatError(fetchFailed, noDebug).split('\n')[0], 'error: fetch failed (connect ECONNREFUSED 127.0.0.1:9)');
});

test('OsforgeError keeps its layout; a multi-line message stays one error line; debug shows the cause chain', () => {
  const cause = new Error('inner');
  const e = new OsforgeError(
    'CONFIG_INVALID',
    'images/buckos.json: packages: expected a list\nmore detail',
    { stage: 'plan', hint: 'edit it', logTail: ['a'] },
    { cause },
  );
  const lines = formatError(e, noDebug).split('\n');
  assert.equal(lines, [
    'error [CONFIG_INVALID]: images/buckos.json: packages: expected a list',
    '  more detail',
    '  at stage=plan',
    '  last 1 log lines:',
    '  | a',
    '  fix: edit it',
  ]);
  const debug = formatError(e, { OSFORGE_DEBUG: '1' });
  assert.match(debug, /caused by: Error: inner/);
  assert.match(debug, stackLine);
});

test.run();
