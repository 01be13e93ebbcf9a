// `osforge sign-tools-cache`: signs tools-cache/toolchain/index.json so another
// machine (a CI runner restoring it) can trust it with the public key. Only a
// cache this machine's stage store vouches for is signed, and the key is used
// here, in a step of its own, never by a build (see the release workflow).
import { resolve } from 'node:path';
import { OsforgeError } from '../errors.ts';
import { paths } from '../paths.ts';
import { StageStore } from '../cache/stage-store.ts';
import { signToolsCache, toolchainDir } from '../cache/tools-cache.ts';
import { TOOLS_CACHE_KEY_ENV } from '../cache/tools-cache.ts';
import type { Command } from './types.ts';
import { settings } from '../settings.ts';

export const signToolsCacheCommand: Command = {
  name: 'sign-tools-cache',
  summary: 'sign tools-cache/ (index.json.sig) so other machines can trust it',
  help: `usage: osforge sign-tools-cache [--key <cosign.key>]

Writes tools-cache/toolchain/index.json.sig (or under $OSFORGE_TOOLS_CACHE): a
cosign blob signature of index.json, which holds the tools key and the sha256
of every cached file. Another machine uses a restored tools-cache/ only when it
was written by its own stage store or this signature verifies with
$OSFORGE_TOOLS_CACHE_PUBKEY; anything else is rebuilt.

Refuses a cache this machine's stage store ($OSFORGE_STATE_DIR) did not write:
a restored cache is verified, never re-signed. The password comes from
$COSIGN_PASSWORD, or is asked for on a terminal.

options:
  --key <file>   cosign private key (default: $${TOOLS_CACHE_KEY_ENV})
  -h, --help     show this help`,
  options: { key: { type: 'string' } },
  async run(values) {
    const keyPath = (values.key as string | undefined) ?? settings().toolsCacheUse.key;
    if (!keyPath) {
      throw new OsforgeError('USAGE', 'sign-tools-cache: no signing key', {
        hint: `pass --key <cosign.key> or set ${TOOLS_CACHE_KEY_ENV} (osforge keygen makes a pair)`,
      });
    }
    const { loadSigningKey } = await import('../crypto/keyfile.ts');
    const { privateKey } = await loadSigningKey({ path: resolve(keyPath), from: values.key ? '--key' : (TOOLS_CACHE_KEY_ENV as 'OSFORGE_SHARED_CACHE_KEY') });
    const cacheRoot = paths.toolsCache();
    const index = await signToolsCache(cacheRoot, new StageStore(paths.stages()), privateKey);
    process.stdout.write(`signed ${toolchainDir(cacheRoot)}/index.json (tools key ${index.key.slice(0, 12)}, ${index.files.length} entries)\n`);
    return 0;
  },
};
