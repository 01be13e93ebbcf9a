// A second dockerd of the test's own, for the builders tests: its own data
// root, exec root, pidfile and socket, listening on 127.0.0.1 with mutual TLS
// (certificates made here with openssl: a CA, a server cert for IP
// 127.0.0.1, a client cert, and a client cert from another CA), a bridge of
// its own and no iptables rules (build steps run with no network). The test
// stops it. Not --bridge=none: a dockerd started so deletes docker0, the
// host's engine's bridge, in the shared network namespace.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../support/free-port.ts';
import Docker from 'dockerode';

export interface TlsEngine {
  port: number;
  dir: string;
  /** The client's PEM files, signed by the engine's CA. */
  certs: { ca: string; cert: string; key: string };
  /** A client cert and key from another CA. */
  foreign: { cert: string; key: string; ca: string };
  client(opts?: { cert?: string; key?: string; ca?: string; plain?: boolean }): Docker;
  /** SIGKILL, as a machine that dies would. */
  kill(): void;
  stop(): Promise<void>;
}

function ca(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}-key.pem`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`], {
    stdio: 'ignore',
  });
  return { cert, key };
}

function signed(dir: string, name: string, by: { cert: string; key: string }, ext: string): { cert: string; key: string } {
  const key = join(dir, `${name}-key.pem`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.pem`);
  const extFile = join(dir, `${name}.ext`);
  writeFileSync(extFile, `${ext}\n`);
  execFileSync('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`], { stdio: 'ignore' });
  execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', by.cert, '-CAkey', by.key, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', extFile], {
    stdio: 'ignore',
  });
  return { cert, key };
}

export async function startTlsEngine(): Promise<TlsEngine> {
  // Short: the exec root holds unix sockets, whose paths are limited to 108 bytes.
  const dir = mkdtempSync('/tmp/osf-d2-');
  const certs = join(dir, 'certs');
  mkdirSync(certs);
  const theCa = ca(certs, 'ca');
  const server = signed(certs, 'server', theCa, 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth');
  const client = signed(certs, 'client', theCa, 'extendedKeyUsage=clientAuth');
  const otherCa = ca(certs, 'other-ca');
  const foreign = signed(certs, 'foreign', otherCa, 'extendedKeyUsage=clientAuth');
  const port = await freePort();
  const bridge = `osfbr${port}`;
  execFileSync('ip', ['link', 'add', bridge, 'type', 'bridge']);
  execFileSync('ip', ['addr', 'add', `10.213.${port % 250}.1/24`, 'dev', bridge]);
  execFileSync('ip', ['link', 'set', bridge, 'up']);
  const removeBridge = () => {
    try {
      execFileSync('ip', ['link', 'del', bridge], { stdio: 'ignore' });
    } catch {
      /* gone already */
    }
  };
  const child: ChildProcess = spawn(
    'dockerd',
    [
      '--data-root',
      join(dir, 'data'),
      '--exec-root',
      join(dir, 'x'),
      '--pidfile',
      join(dir, 'pid'),
      '-H',
      `unix://${join(dir, 'sock')}`,
      '-H',
      `tcp://127.0.0.1:${port}`,
      '--tlsverify',
      '--tlscacert',
      theCa.cert,
      '--tlscert',
      server.cert,
      '--tlskey',
      server.key,
      `--bridge=${bridge}`,
      '--iptables=false',
      '--ip-masq=false',
      // As the chaos engine does: its own containerd namespaces, so nothing it does can touch the host engine's containers.
      '--containerd-namespace',
      'osftls',
      '--containerd-plugins-namespace',
      'osftls-plugins',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], detached: false },
  );
  let log = '';
  child.stderr!.on('data', (b: Buffer) => {
    log += b.toString();
  });
  const make = (o: { cert?: string; key?: string; ca?: string; plain?: boolean } = {}) =>
    new Docker(
      o.plain
        ? { protocol: 'http', host: '127.0.0.1', port }
        : {
            protocol: 'https',
            host: '127.0.0.1',
            port,
            ca: readFileSync(o.ca ?? theCa.cert),
            ...(o.cert ? { cert: readFileSync(o.cert) } : {}),
            ...(o.key ? { key: readFileSync(o.key) } : {}),
          },
    );
  const ok = make({ cert: client.cert, key: client.key });
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await ok.ping();
      break;
    } catch (err) {
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        removeBridge();
        throw new Error(`the test's second dockerd did not come up: ${(err as Error).message}\n${log.split('\n').slice(-10).join('\n')}`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  const stopped = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    port,
    dir,
    certs: { ca: theCa.cert, cert: client.cert, key: client.key },
    foreign: { cert: foreign.cert, key: foreign.key, ca: otherCa.cert },
    client: make,
    kill: () => {
      child.kill('SIGKILL');
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await Promise.race([stopped, new Promise((r) => setTimeout(r, 20_000))]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
      // The engine's containerd shims and mounts go with it; what is left is files.
      try {
        execFileSync('sh', ['-c', `grep -o ' ${dir}/[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l`], { stdio: 'ignore' });
      } catch {
        /* nothing mounted */
      }
      rmSync(dir, { recursive: true, force: true });
      removeBridge();
    },
  };
}
