// Key files on disk: finding the signing key, loading it with a password,
// and writing a new pair (private key 0600, never unencrypted, never
// overwritten without --force). Turns KeyLoadError into OsforgeError.
import { randomBytes, type KeyObject } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { OsforgeError } from '../errors.ts';
import { decodePrivateKey, decodePublicKey, encodePrivateKey, encodePublicKey, KeyLoadError, type KeyPair } from './keys.ts';
import { PASSWORD_ENV, readPassword } from './password.ts';
import { settings } from '../settings.ts';

export const KEY_ENV = 'COSIGN_KEY';
export const DEFAULT_PRIVATE_KEY = 'cosign.key';
export const DEFAULT_PUBLIC_KEY = 'cosign.pub';

export interface KeyLocation {
  path: string;
  /** How it was chosen, for messages. */
  from: '--key' | typeof KEY_ENV | 'default' | 'OSFORGE_SHARED_CACHE_KEY';
}

/** --key, then $COSIGN_KEY, then ./cosign.key if it exists; null when none is configured. */
export function locateSigningKey(flag: string | undefined, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): KeyLocation | null {
  if (flag) return { path: resolve(cwd, flag), from: '--key' };
  const fromEnv = settings(env).cosign.key;
  if (fromEnv) return { path: resolve(cwd, fromEnv), from: KEY_ENV };
  const dflt = resolve(cwd, DEFAULT_PRIVATE_KEY);
  return existsSync(dflt) ? { path: dflt, from: 'default' } : null;
}

async function readKeyFile(path: string, what: string, from?: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new OsforgeError(
      'CONFIG_INVALID',
      `cannot read ${what} ${path}${from ? ` (from ${from})` : ''}: ${code ?? (err as Error).message}`,
      {
        hint: code === 'ENOENT' ? `create one with \`osforge keygen\`, or point --key at an existing ${what}` : undefined,
      },
      { cause: err },
    );
  }
}

export async function loadSigningKey(loc: KeyLocation, env: NodeJS.ProcessEnv = process.env): Promise<KeyPair> {
  const pem = await readKeyFile(loc.path, 'private key', loc.from);
  const password = await readPassword({ keyPath: loc.path, confirm: false, env });
  try {
    return await decodePrivateKey(pem, password);
  } catch (err) {
    if (!(err instanceof KeyLoadError)) throw err;
    if (err.reason === 'password') {
      throw new OsforgeError(
        'CONFIG_INVALID',
        `wrong password for private key ${loc.path}`,
        {
          hint:
            settings(env).cosign.password !== undefined
              ? `${PASSWORD_ENV} is set but does not open this key; fix or unset it`
              : `check the password, or set ${PASSWORD_ENV}`,
        },
        { cause: err },
      );
    }
    throw new OsforgeError('CONFIG_INVALID', `cannot load private key ${loc.path}: ${err.message}`, {}, { cause: err });
  }
}

export async function loadVerifyKey(path: string): Promise<KeyObject> {
  const pem = await readKeyFile(path, 'public key');
  try {
    return decodePublicKey(pem);
  } catch (err) {
    if (err instanceof KeyLoadError) throw new OsforgeError('CONFIG_INVALID', `cannot load public key ${path}: ${err.message}`, {}, { cause: err });
    throw err;
  }
}

export interface WriteKeyPairOptions {
  /** Path prefix; writes `<prefix>.key` and `<prefix>.pub`. */
  prefix: string;
  password: string;
  force: boolean;
  keyPair: KeyPair;
}

/**
 * The directory a key pair goes into must already exist: creating it would
 * turn a mistyped --output-key-prefix into a private key somewhere unexpected.
 */
export function assertKeyDirectory(prefix: string): void {
  const dir = dirname(prefix);
  const st = statSync(dir, { throwIfNoEntry: false });
  if (!st)
    throw new OsforgeError('USAGE', `key directory ${dir} does not exist`, { hint: `create it first (mkdir -p ${dir}), or pass another --output-key-prefix` });
  if (!st.isDirectory())
    throw new OsforgeError('USAGE', `key directory ${dir} is not a directory`, { hint: 'pass an --output-key-prefix inside an existing directory' });
}

/** Writes both files or neither. The private key is written 0600 and only ever in encrypted form. */
export async function writeKeyPair(opts: WriteKeyPairOptions): Promise<{ privatePath: string; publicPath: string }> {
  const privatePath = `${opts.prefix}.key`;
  const publicPath = `${opts.prefix}.pub`;
  if (opts.password === '') {
    throw new OsforgeError('USAGE', `refusing to write ${privatePath} with an empty password`, {
      hint: `set ${PASSWORD_ENV} to a non-empty value, or unset it to be prompted`,
    });
  }
  assertKeyDirectory(opts.prefix);
  if (!opts.force) {
    for (const p of [privatePath, publicPath]) {
      if (existsSync(p)) throw new OsforgeError('USAGE', `${p} already exists; refusing to overwrite it`, { hint: 'pass --force to replace the key pair' });
    }
  }
  const privatePem = await encodePrivateKey(opts.keyPair.privateKey, opts.password);
  const publicPem = encodePublicKey(opts.keyPair.publicKey);
  // Temp files in the same directory, then rename: a crash never leaves half a key,
  // and `wx` + 0600 means the private key is never readable by others, not even briefly.
  const tag = randomBytes(6).toString('hex');
  const tmpPriv = join(dirname(privatePath), `.${tag}.key.tmp`);
  const tmpPub = join(dirname(publicPath), `.${tag}.pub.tmp`);
  try {
    await writeFile(tmpPriv, privatePem, { mode: 0o600, flag: 'wx' });
    await writeFile(tmpPub, publicPem, { mode: 0o644, flag: 'wx' });
    await rename(tmpPriv, privatePath);
    await rename(tmpPub, publicPath);
  } finally {
    await rm(tmpPriv, { force: true });
    await rm(tmpPub, { force: true });
  }
  return { privatePath, publicPath };
}
