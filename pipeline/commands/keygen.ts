import { resolve } from 'node:path';
import { generateKeyPair } from '../crypto/keys.ts';
import { assertKeyDirectory, DEFAULT_PRIVATE_KEY, writeKeyPair } from '../crypto/keyfile.ts';
import { PASSWORD_ENV, readPassword } from '../crypto/password.ts';
import type { Command } from './types.ts';

export const keygenCommand: Command = {
  name: 'keygen',
  summary: 'create a cosign-compatible signing key pair (cosign.key, cosign.pub)',
  help: `usage: osforge keygen [--output-key-prefix <path>] [--force]

Generates an ECDSA P-256 key pair in cosign's format: <prefix>.key is the
private key, PKCS#8 encrypted with scrypt (N=65536, r=8, p=1) and NaCl
secretbox under a password ("ENCRYPTED SIGSTORE PRIVATE KEY", written mode
0600); <prefix>.pub is the PEM public key. cosign can use both files.

The password comes from $${PASSWORD_ENV} if set, otherwise it is asked for
twice on the terminal (not echoed). An empty password is refused.

options:
  --output-key-prefix <path>  write <path>.key and <path>.pub (default: cosign,
                              i.e. ./cosign.key and ./cosign.pub); the
                              directory must exist (it is not created)
  --force                     replace existing files (default: refuse)
  -h, --help                  show this help`,
  options: {
    'output-key-prefix': { type: 'string' },
    force: { type: 'boolean' },
  },
  async run(values) {
    const prefix = resolve((values['output-key-prefix'] as string | undefined) ?? DEFAULT_PRIVATE_KEY.replace(/\.key$/, ''));
    // Before the password prompt: a typo in the prefix should not cost the user a password entry.
    assertKeyDirectory(prefix);
    const password = await readPassword({ keyPath: `${prefix}.key`, confirm: true });
    const { privatePath, publicPath } = await writeKeyPair({ prefix, password, force: values.force === true, keyPair: generateKeyPair() });
    process.stdout.write(`private key written to ${privatePath}\npublic key written to ${publicPath}\n`);
    return 0;
  },
};
