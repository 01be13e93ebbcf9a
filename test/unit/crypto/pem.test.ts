import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodePem, encodePem, PemError } from '../../../pipeline/crypto/pem.ts';

test('encodePem wraps base64 at 64 columns like Go encoding/pem and round-trips', () => {
  const der = Buffer.from(Array.from({ length: 100 }, (_, i) => i));
  const pem = encodePem('PUBLIC KEY', der);
  const lines = pem.split('\n');
  assert.is(lines[0], '-----BEGIN PUBLIC KEY-----');
  assert.is(lines[1]!.length, 64);
  assert.is(lines.at(-2), '-----END PUBLIC KEY-----');
  assert.ok(pem.endsWith('\n'));
  const back = decodePem(pem);
  assert.is(back.label, 'PUBLIC KEY');
  assert.ok(back.der.equals(der));
});

test('decodePem takes the first block, tolerates CRLF and surrounding text', () => {
  const pem = 'junk\r\n-----BEGIN A B-----\r\nAAEC\r\n-----END A B-----\r\n' + encodePem('OTHER', Buffer.from([9]));
  const b = decodePem(pem);
  assert.is(b.label, 'A B');
  assert.equal([...b.der], [0, 1, 2]);
});

test('decodePem rejects missing blocks, mismatched labels, headers and bad base64', () => {
  assert.throws(
    () => decodePem('nothing here'),
    (e: unknown) => e instanceof PemError,
  );
  assert.throws(
    () => decodePem('-----BEGIN A-----\nAAAA\n-----END B-----\n'),
    (e: unknown) => e instanceof PemError,
  );
  assert.throws(() => decodePem('-----BEGIN A-----\nProc-Type: 4,ENCRYPTED\nAAAA\n-----END A-----\n'), /headers/);
  assert.throws(() => decodePem('-----BEGIN A-----\nAA!A\n-----END A-----\n'), /base64/);
});

test.run();
