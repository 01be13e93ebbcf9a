// tuf-js's refusals become one line naming the role, versions or dates and the fix.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { describeTufError } from '../../../../pipeline/binpkg/tuf/errors.ts';

const test = suite('binpkg/tuf/errors');
const ts = (version: number, expires: string) => Buffer.from(JSON.stringify({ signed: { _type: 'timestamp', version, expires } }));
const ctx = (seen: [string, Buffer][] = []) => ({ mirror: 'http://m', work: '/w', stateDir: '/p/var/db/pkg/.tuf/x', seen: new Map(seen) });

test('each attack is named, with versions or dates, and a fix', () => {
  const cases: [Error, Parameters<typeof ctx>[0], RegExp, RegExp][] = [
    [
      new Error('Final timestamp.json is expired'),
      [['timestamp.json', ts(4, '2026-01-01T00:00:00Z')]],
      /^freeze: timestamp\.json of http:\/\/m \(version 4\) expired at 2026-01-01T00:00:00Z/,
      /--refresh-timestamp/,
    ],
    [
      new Error('New timestamp version 1 is less than current version 2'),
      [],
      /^rollback: http:\/\/m serves timestamp version 1, older than version 2 already trusted here/,
      /old metadata/,
    ],
    [
      new Error('Unable to load snapshot metadata error Error: New version 1 of targets.json is less than current version 3'),
      [],
      /^rollback: .*targets\.json version 1, older than version 3/,
      /old metadata/,
    ],
    [
      new Error('Unable to load snapshot metadata error Error: Expected hash aa but got bb'),
      [['timestamp.json', ts(2, 'x')]],
      /^mix-and-match: the snapshot on http:\/\/m does not match what timestamp\.json version 2 states/,
      /do not belong together/,
    ],
    [
      new Error('Unable to load targets error Error: Version 3 of targets does not match snapshot version 4'),
      [],
      /^mix-and-match: targets\.json on http:\/\/m/,
      /belong together/,
    ],
    [
      new Error('timestamp was signed by 0/1 keys'),
      [],
      /^threshold not met: timestamp\.json of http:\/\/m carries 0 valid signature\(s\) .* and 1 are required/,
      /--new-root-key/,
    ],
    [
      new Error('root was signed by 1/2 keys'),
      [],
      /^threshold not met: root\.json .* 1 valid .* 2 are required/,
      /signed by the keys of the root already trusted/,
    ],
  ];
  for (const [err, seen, msg, hint] of cases) {
    const e = describeTufError(err, ctx(seen));
    assert.is(e.code, 'SIGNATURE_INVALID');
    assert.match(e.message, msg, e.message);
    assert.match(e.message, /nothing was installed$/);
    assert.match(String(e.context.hint), hint);
  }
});

test('remote text in a message is escaped', () => {
  const e = describeTufError(new Error('weird \u001b[31m thing'), ctx());
  // eslint-disable-next-line no-control-regex -- the test asserts that no control character is left
  assert.not.match(e.message, /\u001b/);
  assert.match(e.message, /\\x1b\[31m/);
});

test.run();
