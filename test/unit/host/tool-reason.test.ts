import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { toolReason } from '../../../pipeline/host/run.ts';

test('the first E: line is the reason (later ones only say it failed)', () => {
  const tail = ['I: automatically chose mode: root', 'E: install arch-test for foreign architecture support', 'E: mmdebstrap failed to run'];
  assert.is(toolReason(tail), ': E: install arch-test for foreign architecture support');
});

test('without an E: line the last line is shown', () => {
  assert.is(toolReason(['I: one', 'something broke']), ': something broke');
  assert.is(toolReason([]), '');
});

test.run();
