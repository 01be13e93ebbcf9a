import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rejects } from '../sign/helpers.ts';
import { decrypt, DecryptionError, encrypt, EncryptedFormatError, parseEncrypted, SCRYPT_LEGACY, SCRYPT_STANDARD } from '../../../pipeline/crypto/encrypted.ts';

const salt = Buffer.alloc(32, 7);
const nonce = Buffer.alloc(24, 9);

test('encrypt writes go-securesystemslib JSON: kdf, cipher, ciphertext in that order, N=65536 by default', async () => {
  const blob = await encrypt(Buffer.from('secret key bytes'), 'pw', { salt, nonce });
  const text = blob.toString();
  assert.match(
    text,
    /^\{"kdf":\{"name":"scrypt","params":\{"N":65536,"r":8,"p":1\},"salt":"BwcH[A-Za-z0-9+/]+="\},"cipher":\{"name":"nacl\/secretbox","nonce":"CQkJ[A-Za-z0-9+/]+"\},"ciphertext":"[A-Za-z0-9+/]+=*"\}$/,
  );
  const d = parseEncrypted(blob);
  assert.equal(d.kdf.params, SCRYPT_STANDARD);
  // secretbox adds a 16-byte Poly1305 tag.
  assert.is(Buffer.from(d.ciphertext, 'base64').length, 16 + 16);
  assert.is((await decrypt(blob, 'pw')).toString(), 'secret key bytes');
});

test('same inputs, same bytes; a different password gives a different ciphertext', async () => {
  const a = await encrypt(Buffer.from('x'), 'pw', { salt, nonce });
  const b = await encrypt(Buffer.from('x'), 'pw', { salt, nonce });
  const c = await encrypt(Buffer.from('x'), 'pw2', { salt, nonce });
  assert.ok(a.equals(b));
  assert.not.ok(a.equals(c));
});

test('wrong password and tampered ciphertext are DecryptionError', async () => {
  const blob = await encrypt(Buffer.from('payload'), 'right', { params: SCRYPT_LEGACY });
  await rejects(() => decrypt(blob, 'wrong'), DecryptionError);
  const d = JSON.parse(blob.toString());
  const ct = Buffer.from(d.ciphertext, 'base64');
  ct[ct.length - 1]! ^= 1;
  d.ciphertext = ct.toString('base64');
  await rejects(() => decrypt(Buffer.from(JSON.stringify(d)), 'right'), DecryptionError);
  assert.is((await decrypt(blob, 'right')).toString(), 'payload');
});

test('unknown kdf/cipher, odd scrypt parameters and garbage are EncryptedFormatError (no scrypt run)', async () => {
  const good = JSON.parse((await encrypt(Buffer.from('x'), 'pw', { salt, nonce })).toString());
  const variants = [
    { ...good, kdf: { ...good.kdf, name: 'argon2' } },
    { ...good, cipher: { ...good.cipher, name: 'aes' } },
    { ...good, kdf: { ...good.kdf, params: { N: 1 << 30, r: 8, p: 1 } } },
    { ...good, kdf: { ...good.kdf, params: { N: 65536, r: 8, p: 2 } } },
    { ...good, cipher: { ...good.cipher, nonce: Buffer.alloc(12).toString('base64') } },
    { kdf: good.kdf },
  ];
  for (const v of variants) await rejects(() => decrypt(Buffer.from(JSON.stringify(v)), 'pw'), EncryptedFormatError);
  await rejects(() => decrypt(Buffer.from('not json'), 'pw'), EncryptedFormatError);
});

test.run();
