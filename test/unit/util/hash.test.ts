import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { keyOf, sha256 } from '../../../pipeline/util/hash.ts';

test('keyOf separates parts so concatenations do not collide', () => {
  assert.is.not(keyOf(['ab', 'c']), keyOf(['a', 'bc']));
  assert.is(keyOf(['a', 'b']), keyOf(['a', 'b']));
  assert.is(keyOf([]), sha256(''));
});

test('keyOf rejects NUL inside a part', () => {
  assert.throws(() => keyOf(['a\0b']), /NUL/);
});

test.run();
