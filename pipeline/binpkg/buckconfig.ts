// The [buckos] section of a .buckconfig-style INI file:
//   [buckos]
//   binary_mirror = https://mirror.example.org/binaries
//   prefer_binaries = true
//   binary_mirror_key = cosign.pub      (relative to the config file)
import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { OsforgeError } from '../errors.ts';
import { loadVerifyKey } from '../crypto/keyfile.ts';
import { keyId } from './signature.ts';
import { parseIni } from '../util/ini.ts';
import { settings } from '../settings.ts';

export interface BinaryMirrorSetting {
  /** `[buckos] binary_mirror`, or null when unset. */
  binaryMirror: string | null;
  /** `[buckos] prefer_binaries` (true/yes/1/on). */
  preferBinaries: boolean;
  /** `[buckos] binary_mirror_key`, resolved against the config file's directory; null when unset. */
  binaryMirrorKey?: string | null;
  /** `[buckos] binary_mirror_root`: the mirror's pinned TUF root.json, resolved like the key; null when unset. */
  binaryMirrorRoot?: string | null;
  /** The file read, or null when it does not exist. */
  configPath: string | null;
}

export function binaryMirrorFromIni(text: string): Omit<BinaryMirrorSetting, 'configPath'> {
  const b = parseIni(text).get('buckos');
  const mirror = b?.get('binary_mirror') || null;
  const prefer = /^(true|yes|1|on)$/i.test(b?.get('prefer_binaries') ?? '');
  return { binaryMirror: mirror, preferBinaries: prefer };
}

/** Reads `[buckos] binary_mirror` / `prefer_binaries` from `configPath` (default ./.buckconfig); a missing file means "unset". */
export async function readBinaryMirrorSetting(configPath = '.buckconfig'): Promise<BinaryMirrorSetting> {
  const path = resolve(configPath);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { binaryMirror: null, preferBinaries: false, configPath: null };
    throw err;
  }
  const b = parseIni(text).get('buckos');
  const key = b?.get('binary_mirror_key') || null;
  const root = b?.get('binary_mirror_root') || null;
  return {
    ...binaryMirrorFromIni(text),
    configPath: path,
    ...(key ? { binaryMirrorKey: resolve(dirname(path), key) } : {}),
    ...(root ? { binaryMirrorRoot: resolve(dirname(path), root) } : {}),
  };
}

/**
 * The mirror the build should consult before compiling a package, or null:
 * $BINARY_MIRROR when set, otherwise `binary_mirror` if `prefer_binaries` is true.
 */
export async function binaryMirrorForBuild(opts: { env?: NodeJS.ProcessEnv; configPath?: string } = {}): Promise<string | null> {
  const fromEnv = settings(opts.env).binaryMirror.url;
  if (fromEnv) return fromEnv;
  const s = await readBinaryMirrorSetting(opts.configPath);
  return s.preferBinaries && s.binaryMirror ? s.binaryMirror : null;
}

export interface TrustedMirror {
  url: string;
  publicKey: KeyObject;
  keyPath: string;
  /** Short id of the signer's key (signature.ts keyId). */
  keyId: string;
}

/**
 * The mirror `dist` may use, with the key every package from it must be
 * signed by: $BINARY_MIRROR_KEY, else `binary_mirror_key`. A mirror without
 * a key is ignored (one log line) and everything is built, since unsigned
 * bytes would otherwise enter the stage cache under a real stage key.
 */
export async function trustedMirrorForBuild(opts: { env?: NodeJS.ProcessEnv; configPath?: string; log: (msg: string) => void }): Promise<TrustedMirror | null> {
  const url = await binaryMirrorForBuild(opts);
  if (!url) return null;
  const keyPath = settings(opts.env).binaryMirror.key || (await readBinaryMirrorSetting(opts.configPath)).binaryMirrorKey || null;
  if (!keyPath) {
    opts.log(
      `binary mirror ${url} ignored: no key is set (set BINARY_MIRROR_KEY=<cosign.pub> or binary_mirror_key in [buckos] of .buckconfig); building from source`,
    );
    return null;
  }
  let publicKey: KeyObject;
  try {
    publicKey = await loadVerifyKey(keyPath);
  } catch (err) {
    throw new OsforgeError(
      'CONFIG_INVALID',
      `binary mirror key ${keyPath}: ${(err as Error).message}`,
      { hint: "point BINARY_MIRROR_KEY (or binary_mirror_key) at the mirror's cosign public key, or unset the mirror" },
      { cause: err },
    );
  }
  return { url, publicKey, keyPath, keyId: keyId(publicKey) };
}
