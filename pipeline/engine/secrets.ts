// Signing keys never reach a build step (SLSA v1.0 Build L3: "signing keys out
// of reach of the build steps"). Keys and their passwords stay in the
// orchestrator: a container gets no bind mount at all (its inputs are copied
// in as tars), and this check, run on every container and image build the
// engine starts, refuses a spec whose environment names a key variable or
// carries a key's path or password, or whose in-memory inputs hold a private
// key's bytes. Host tools that run package scripts (mmdebstrap) get the
// environment without those variables.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { OsforgeError } from '../errors.ts';
import type { StepInput } from './engine.ts';
import { settings } from '../settings.ts';

/** The variables that name a private key or unlock one (grep the tree for readers before adding a key elsewhere). */
export const SIGNING_SECRET_ENV = ['COSIGN_KEY', 'COSIGN_PASSWORD', 'OSFORGE_SHARED_CACHE_KEY', 'OSFORGE_TOOLS_CACHE_KEY', 'OSFORGE_SSH_KEY'] as const;

/** Each signing-secret variable's value in `env`, through settings.ts. */
function secretValues(env: NodeJS.ProcessEnv): Record<(typeof SIGNING_SECRET_ENV)[number], string | undefined> {
  const s = settings(env);
  return {
    COSIGN_KEY: s.cosign.key,
    COSIGN_PASSWORD: s.cosign.password,
    OSFORGE_SHARED_CACHE_KEY: s.sharedCache.key,
    OSFORGE_TOOLS_CACHE_KEY: s.toolsCacheUse.key,
    OSFORGE_SSH_KEY: s.builders.sshKey,
  };
}
const PASSWORD_ENV = 'COSIGN_PASSWORD';
/** A private key file is a few hundred bytes; anything larger is not one and is not read. */
const MAX_KEY_BYTES = 64 * 1024;
const MIN_PASSWORD_MATCH = 8;

/** `env` without the signing-secret variables (for a host process that runs untrusted scripts). */
export function withoutSigningSecrets(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const name of SIGNING_SECRET_ENV) delete out[name];
  return out;
}

function keyBytes(path: string): Buffer | null {
  try {
    const data = readFileSync(path);
    // Only the base64 body: it is what any copy of the key (re-armoured, or inside a tar) still contains.
    const body =
      data.length <= MAX_KEY_BYTES
        ? data
            .toString('latin1')
            .replace(/-----[^-]+-----/g, '')
            .replace(/\s+/g, '')
        : '';
    return body.length >= 32 ? Buffer.from(body.slice(0, 64), 'latin1') : null;
  } catch {
    return null;
  }
}

/**
 * Why `spec` would hand a signing secret to a container, or null. `env` is
 * the orchestrator's environment, where the secrets are configured.
 */
export function signingSecretIn(spec: { env?: Record<string, string>; inputs?: StepInput[] }, env: NodeJS.ProcessEnv = process.env): string | null {
  const vars = Object.entries(spec.env ?? {});
  for (const [name] of vars) if ((SIGNING_SECRET_ENV as readonly string[]).includes(name)) return `its environment sets ${name}`;
  const values = secretValues(env);
  for (const secret of SIGNING_SECRET_ENV) {
    const value = values[secret];
    if (!value) continue;
    // A key path as any step would see it (absolute); a password only when long enough not to equal an ordinary value ("2", "amd64") by chance.
    const needle = secret === PASSWORD_ENV ? (value.length >= MIN_PASSWORD_MATCH ? value : null) : resolve(value);
    for (const [name, v] of needle === null ? [] : vars) {
      if (secret === PASSWORD_ENV ? v === needle : v.includes(needle!)) return `its environment variable ${name} carries $${secret}`;
    }
    if (secret === PASSWORD_ENV) continue;
    const marker = keyBytes(resolve(value));
    if (!marker) continue;
    for (const input of spec.inputs ?? []) {
      // Streamed inputs are made on demand from files osforge chose (sources, stage outputs); only in-memory tars can be searched here.
      if (Buffer.isBuffer(input.tar) && input.tar.includes(marker)) return `its input for ${input.dir} holds the private key of $${secret}`;
    }
  }
  return null;
}

/** Throws when `spec` would hand a signing secret to a container (a bug in osforge: nothing may pass a key in). */
export function assertNoSigningSecret(spec: { env?: Record<string, string>; inputs?: StepInput[] }, what: string, env: NodeJS.ProcessEnv = process.env): void {
  const why = signingSecretIn(spec, env);
  if (why) {
    throw new OsforgeError('CONTAINER_FAILED', `refusing ${what}: ${why}; signing keys never enter a build container`, {
      hint: 'this is a bug in osforge (a step was given a key); report it. Keys stay in the osforge process and sign on the host',
    });
  }
}
