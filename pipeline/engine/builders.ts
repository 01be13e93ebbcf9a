// Builders: which Docker engine runs each platform's stages (LinuxKit's
// `--builders linux/arm64=<context>`). From --builders, $OSFORGE_BUILDERS or
// `builders =` in .buckconfig's [buckos] section, as
//   linux/amd64=local,linux/arm64=arm-box;jobs=2
// where an endpoint is
//   local                       the engine osforge uses anyway ($DOCKER_HOST or the socket)
//   <docker context name>       read from the Docker CLI's context store (`docker context create`)
//   unix:///path/docker.sock
//   ssh://user@host[:port]      dockerode's ssh transport (`docker system dial-stdio` on the host)
//   tcp://host:2376;ca=<file>;cert=<file>;key=<file>
// and options after ";" are jobs=N (concurrent stages on it, default 1),
// ca/cert/key (mutual TLS) and insecure (plain tcp, warned about every run).
// TLS is only used verified: the server's certificate against the CA, with
// our client certificate. Pure parsing here; resolveEndpoint reads files.
import { createHash, createHmac } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { OsforgeError } from '../errors.ts';
import { ARCHES, type Arch } from '../model/arch.ts';
import { parseIni } from '../util/ini.ts';
import { settings } from '../settings.ts';

export interface BuilderSpec {
  platform: Arch;
  endpoint: string;
  jobs: number;
  insecure: boolean;
  tls?: { ca: string; cert: string; key: string };
  /** Where the spec came from, for errors (--builders, $OSFORGE_BUILDERS, a file). */
  from: string;
}

const usage = (from: string, message: string) =>
  new OsforgeError('USAGE', `${from}: ${message}`, {
    hint: 'write builders as linux/<arch>=<endpoint>[;jobs=N][;ca=F;cert=F;key=F][;insecure], comma-separated, e.g. linux/arm64=tcp://arm:2376;ca=ca.pem;cert=cert.pem;key=key.pem',
  });

export function parseBuilders(text: string, from: string): BuilderSpec[] {
  const out: BuilderSpec[] = [];
  for (const part of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^linux\/([a-z0-9]+)=([^;]+)((?:;[^;]*)*)$/.exec(part);
    if (!m) throw usage(from, `${JSON.stringify(part)} is not linux/<arch>=<endpoint>[;options]`);
    const platform = m[1]! as Arch;
    if (!ARCHES.includes(platform))
      throw usage(from, `${JSON.stringify(part)}: unknown platform linux/${platform} (known: ${ARCHES.map((a) => `linux/${a}`).join(', ')})`);
    if (out.some((b) => b.platform === platform)) throw usage(from, `linux/${platform} is given twice`);
    const spec: BuilderSpec = { platform, endpoint: m[2]!.trim(), jobs: 1, insecure: false, from };
    const tls: Partial<Record<'ca' | 'cert' | 'key', string>> = {};
    for (const opt of m[3]!
      .split(';')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const [k, v] = opt.split(/=(.*)/s) as [string, string | undefined];
      if (k === 'jobs' && v && /^[1-9][0-9]{0,2}$/.test(v)) spec.jobs = Number(v);
      else if (k === 'insecure' && v === undefined) spec.insecure = true;
      else if ((k === 'ca' || k === 'cert' || k === 'key') && v) tls[k] = v;
      else throw usage(from, `linux/${platform}: unknown or malformed option ${JSON.stringify(opt)} (jobs=N, ca=, cert=, key=, insecure)`);
    }
    const given = (['ca', 'cert', 'key'] as const).filter((k) => tls[k]);
    if (given.length && given.length < 3) throw usage(from, `linux/${platform}: mutual TLS needs ca=, cert= and key= together (given: ${given.join(', ')})`);
    if (given.length) spec.tls = tls as BuilderSpec['tls'];
    out.push(spec);
  }
  return out;
}

/** What dockerode is given for an endpoint, and how it is named in messages and events. */
export interface ResolvedEndpoint {
  name: string;
  options: Record<string, unknown> | null;
  /** Plain tcp by explicit request: warned about on every run. */
  insecure: boolean;
}

const read = (file: string, what: string, spec: BuilderSpec) => {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new OsforgeError(
      'USAGE',
      `${spec.from}: linux/${spec.platform}: cannot read the ${what} ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      { hint: 'give the path of a PEM file' },
    );
  }
};

/** A Docker CLI context: its endpoint and, when it has them, its TLS files (~/.docker/contexts). */
function contextEndpoint(name: string, spec: BuilderSpec): { host: string; skipVerify: boolean; tls?: { ca: Buffer; cert: Buffer; key: Buffer } } {
  const root = join(settings().builders.dockerConfig ?? join(homedir(), '.docker'), 'contexts');
  const id = createHash('sha256').update(name).digest('hex');
  const metaFile = join(root, 'meta', id, 'meta.json');
  if (!existsSync(metaFile)) {
    throw new OsforgeError('USAGE', `${spec.from}: linux/${spec.platform}: no Docker context ${JSON.stringify(name)} (looked in ${join(root, 'meta')})`, {
      hint: `create it (docker context create ${name} --docker "host=tcp://HOST:2376,ca=ca.pem,cert=cert.pem,key=key.pem") or give unix://, ssh:// or tcp:// directly`,
    });
  }
  const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as { Endpoints?: { docker?: { Host?: string; SkipTLSVerify?: boolean } } };
  const docker = meta.Endpoints?.docker;
  if (!docker?.Host)
    throw new OsforgeError('USAGE', `${metaFile}: context ${JSON.stringify(name)} has no docker endpoint`, { hint: 'recreate it with docker context create' });
  const tlsDir = join(root, 'tls', id, 'docker');
  const tls = existsSync(join(tlsDir, 'ca.pem'))
    ? {
        ca: read(join(tlsDir, 'ca.pem'), 'CA', spec),
        cert: read(join(tlsDir, 'cert.pem'), 'client certificate', spec),
        key: read(join(tlsDir, 'key.pem'), 'client key', spec),
      }
    : undefined;
  return { host: docker.Host, skipVerify: docker.SkipTLSVerify === true, ...(tls ? { tls } : {}) };
}

/**
 * dockerode options for a builder. Refuses TLS without verification, and
 * plain tcp unless the spec says insecure.
 */
export function resolveEndpoint(spec: BuilderSpec): ResolvedEndpoint {
  if (spec.endpoint === 'local') return { name: 'local', options: null, insecure: false };
  let host = spec.endpoint;
  let tls: { ca: Buffer; cert: Buffer; key: Buffer } | undefined = spec.tls && {
    ca: read(spec.tls.ca, 'CA', spec),
    cert: read(spec.tls.cert, 'client certificate', spec),
    key: read(spec.tls.key, 'client key', spec),
  };
  let name = spec.endpoint;
  if (!/^[a-z]+:\/\//.test(host)) {
    const ctx = contextEndpoint(spec.endpoint, spec);
    if (ctx.skipVerify)
      throw new OsforgeError(
        'USAGE',
        `${spec.from}: linux/${spec.platform}: Docker context ${JSON.stringify(spec.endpoint)} skips TLS verification; osforge uses TLS engines only with verification on`,
        { hint: 'recreate the context with ca=, cert= and key= and without skip-tls-verify' },
      );
    host = ctx.host;
    tls = tls ?? ctx.tls;
    name = `${spec.endpoint} (${ctx.host})`;
  }
  const url = new URL(host);
  switch (url.protocol) {
    case 'unix:':
      return { name, options: { socketPath: url.pathname }, insecure: false };
    case 'ssh:': {
      const port = url.port ? Number(url.port) : 22;
      const b = settings().builders;
      const knownHosts = b.sshKnownHosts ?? join(homedir(), '.ssh', 'known_hosts');
      return {
        name,
        insecure: false,
        options: {
          protocol: 'ssh',
          host: url.hostname,
          port,
          username: decodeURIComponent(url.username || b.user || 'root'),
          sshOptions: {
            ...(b.sshAuthSock ? { agent: b.sshAuthSock } : {}),
            ...(b.sshKey ? { privateKey: read(b.sshKey, 'ssh private key ($OSFORGE_SSH_KEY)', spec) } : {}),
            // ssh2 accepts any host key unless told otherwise: the host must be in known_hosts, as OpenSSH would insist.
            hostVerifier: knownHostVerifier(url.hostname, port, knownHosts),
          },
        },
      };
    }
    case 'tcp:': {
      const port = url.port ? Number(url.port) : 2376;
      if (tls) return { name, options: { protocol: 'https', host: url.hostname, port, ca: tls.ca, cert: tls.cert, key: tls.key }, insecure: false };
      if (!spec.insecure) {
        throw new OsforgeError(
          'USAGE',
          `${spec.from}: linux/${spec.platform}: ${host} is plain tcp without TLS; anyone on the network could run containers as root there`,
          {
            hint: 'add ;ca=<file>;cert=<file>;key=<file> (mutual TLS), use ssh://, or add ;insecure if you really mean it',
          },
        );
      }
      return { name: `${name} (INSECURE)`, options: { protocol: 'http', host: url.hostname, port }, insecure: true };
    }
    default:
      throw usage(spec.from, `linux/${spec.platform}: unsupported endpoint ${JSON.stringify(host)} (local, a context name, unix://, ssh:// or tcp://)`);
  }
}

/** known_hosts names: "host" on port 22, "[host]:port" otherwise; hashed entries (|1|salt|hmac) too. */
function hostMatches(pattern: string, name: string): boolean {
  const hashed = /^\|1\|([^|]+)\|(.+)$/.exec(pattern);
  if (hashed) return createHmac('sha1', Buffer.from(hashed[1]!, 'base64')).update(name).digest('base64') === hashed[2];
  return pattern.split(',').includes(name);
}

/** ssh2's hostVerifier: the server's key must be one known_hosts lists for this host and port. */
export function knownHostVerifier(host: string, port: number, file: string): (key: Buffer) => boolean {
  const name = port === 22 ? host : `[${host}]:${port}`;
  return (key: Buffer) => {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return false;
    }
    const offered = key.toString('base64');
    return text.split('\n').some((line) => {
      const f = line.trim().split(/\s+/);
      return f.length >= 3 && !line.startsWith('#') && hostMatches(f[0]!, name) && f[2] === offered;
    });
  };
}

/**
 * The builders a run uses: --builders, else $OSFORGE_BUILDERS, else
 * `builders = ...` in the [buckos] section of ./.buckconfig (where the binary
 * mirror is configured too); none means everything runs on the local engine.
 */
export function buildersFrom(cli: string | undefined, configPath = '.buckconfig'): BuilderSpec[] {
  if (cli) return parseBuilders(cli, '--builders');
  const spec = settings().builders.spec;
  if (spec) return parseBuilders(spec, '$OSFORGE_BUILDERS');
  if (!existsSync(configPath)) return [];
  const value = parseIni(readFileSync(configPath, 'utf8')).get('buckos')?.get('builders');
  return value ? parseBuilders(value, `${configPath} [buckos] builders`) : [];
}
