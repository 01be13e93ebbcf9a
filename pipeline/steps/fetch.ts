// The only step with network access. Each source is tried at its upstream
// URLs first, then at the Debian source archive (apt-get source in a
// container from the base image), and is verified before it is cached.
import { readFile, rm } from 'node:fs/promises';
import type { Engine } from '../engine/engine.ts';
import { runStep } from './step.ts';
import { OsforgeError } from '../errors.ts';
import type { SourceSpec } from '../plan/types.ts';
import { lookupSource, storeSource, mismatchError } from '../cache/source-cache.ts';
import { readEntries } from '../util/tar.ts';
import { sha256 } from '../util/hash.ts';
import type { StepLog } from './step-log.ts';
import { signatureMissing, signaturesEnabled, verifySignature, type SignatureCheck } from './signature.ts';
import { existsSync } from 'node:fs';
import { sourceCachePath } from '../cache/source-cache.ts';

export interface FetchedSource {
  name: string;
  file: string;
  sha256: string;
  path: string;
  from: string;
  signature?: SignatureCheck;
}

/** What a location promises: Debian repacks (+dfsg) carry their own pin. */
export function debianExpectation(spec: SourceSpec): { file: string; sha256: string } | null {
  if (!spec.debian) return null;
  return { file: spec.debian.file, sha256: spec.debian.sha256 ?? spec.sha256 };
}

export async function fetchSources(opts: {
  engine: Engine;
  baseRef: string;
  specs: SourceSpec[];
  cacheRoot: string;
  runId: string;
  log: StepLog;
  upstreamTimeoutMs?: number;
}): Promise<Map<string, FetchedSource>> {
  const { specs, cacheRoot, log } = opts;
  const got = new Map<string, FetchedSource>();
  // Signature files that arrived with a Debian source package (apt-get source fetches the .dsc's every file).
  const debianSignatures = new Map<string, { data: Buffer; from: string }>();
  const failures = new Map<string, string[]>();
  const note = (name: string, m: string) => {
    log.write(`${name}: ${m}`);
    (failures.get(name) ?? failures.set(name, []).get(name)!).push(m);
  };

  for (const spec of specs) {
    const upstream = await lookupSource(cacheRoot, spec.file, spec.sha256, (m) => log.write(m));
    if (upstream) {
      got.set(spec.name, { name: spec.name, file: spec.file, sha256: spec.sha256, path: upstream, from: 'cache' });
      continue;
    }
    const deb = debianExpectation(spec);
    const debCached = deb && (await lookupSource(cacheRoot, deb.file, deb.sha256, (m) => log.write(m)));
    if (deb && debCached) {
      got.set(spec.name, { name: spec.name, file: deb.file, sha256: deb.sha256, path: debCached, from: 'cache' });
      continue;
    }

    for (const url of spec.urls) {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(opts.upstreamTimeoutMs ?? 20_000) });
        if (!res.ok) {
          note(spec.name, `${url}: HTTP ${res.status}`);
          continue;
        }
        const data = Buffer.from(await res.arrayBuffer());
        const path = await storeSource(cacheRoot, spec.file, data, spec.sha256, url);
        log.write(`${spec.name}: fetched ${url}`);
        got.set(spec.name, { name: spec.name, file: spec.file, sha256: spec.sha256, path, from: url });
        break;
      } catch (err) {
        if (err instanceof OsforgeError && err.code === 'SHA256_MISMATCH') log.write(err.message);
        note(spec.name, `${url}: ${(err as Error).cause ? String(((err as Error).cause as Error).message ?? (err as Error).cause) : (err as Error).message}`);
      }
    }
  }

  // Pass 1 asks for the pinned Debian revisions. A revision the archive has
  // dropped (a stable update superseded it) carries the same upstream tarball
  // as its successor, so pass 2 asks for the suite's current revision of each
  // still-missing package, one at a time: the file must still match its pin.
  const pinnedRevision = (s: SourceSpec) => `${s.debian!.package}=${s.debian!.version}`;
  const anyRevision = (s: SourceSpec) => (s.debian!.suite ? `${s.debian!.package}/${s.debian!.suite}` : s.debian!.package);
  await viaDebian(
    specs.filter((s) => !got.has(s.name) && s.debian),
    pinnedRevision,
  );
  // Only where the file did not arrive: a file that arrived with the wrong sha256 is not retried.
  for (const spec of specs.filter((s) => !got.has(s.name) && failures.get(s.name)?.some((f) => f.includes('did not produce')))) {
    log.write(`${spec.name}: ${pinnedRevision(spec)} is not in the archive; trying the suite's current revision (same upstream file, same pin)`);
    await viaDebian([spec], anyRevision);
  }

  async function viaDebian(wanted: SourceSpec[], request: (s: SourceSpec) => string): Promise<void> {
    if (!wanted.length) return;
    const files = await aptGetSource(opts.engine, opts.baseRef, wanted, wanted.map(request), opts.runId, log);
    for (const spec of wanted) {
      const sig = spec.signature && files.get(spec.signature.file);
      if (sig) debianSignatures.set(spec.name, { data: sig, from: `debian source ${request(spec)}` });
      const deb = debianExpectation(spec)!;
      const data = files.get(deb.file);
      const from = `debian source ${request(spec)}`;
      if (!data) {
        note(spec.name, `${from}: apt-get source did not produce ${deb.file}`);
        continue;
      }
      const actual = sha256(data);
      if (actual !== deb.sha256) {
        const e = mismatchError(deb.file, deb.sha256, actual, from);
        log.write(e.message);
        note(spec.name, e.message);
        continue;
      }
      const path = await storeSource(cacheRoot, deb.file, data, deb.sha256, from);
      log.write(`${spec.name}: fetched ${deb.file} from ${from}`);
      got.set(spec.name, { name: spec.name, file: deb.file, sha256: deb.sha256, path, from });
    }
  }

  const missing = specs.filter((s) => !got.has(s.name));
  if (missing.length) {
    const detail = missing.map((s) => `${s.name}: ${(failures.get(s.name) ?? ['no location configured']).join('; ')}`).join('\n  ');
    throw new OsforgeError('SOURCE_FETCH', `could not fetch ${missing.map((s) => s.file).join(', ')}\n  ${detail}`, {
      stage: 'fetch',
      logPath: log.path,
      hint: `place the verified file(s) in ${cacheRoot}/<first letter>/ or make a listed location reachable`,
    });
  }

  // Upstream signatures, for the sources that pin one: verified on every run (gpgv takes milliseconds),
  // cached only once verified. A cached signature that fails is evicted and fetched again once.
  for (const spec of specs.filter((s) => s.signature)) {
    const f = got.get(spec.name)!;
    const sig = spec.signature!;
    if (!signaturesEnabled()) {
      log.write(`${spec.name}: signature check DISABLED by BUCKOS_VERIFY_SIGNATURES=0 (${sig.file})`);
      f.signature = { status: 'disabled', file: sig.file, fingerprint: sig.fingerprint.replace(/\s+/g, '').toUpperCase() };
      continue;
    }
    const cached = sourceCachePath(cacheRoot, sig.file);
    if (existsSync(cached)) {
      try {
        f.signature = await verifySignature(spec, f.path, await readFile(cached));
        continue;
      } catch (err) {
        log.write(`${spec.name}: the cached ${sig.file} does not verify; fetching it again (${(err as Error).message.split('\n')[0]})`);
        await rm(cached, { force: true });
      }
    }
    const fresh = await fetchSignature(spec);
    // A Debian step run for the signature re-fetches (and re-verifies) the source too, replacing its entry.
    const current = got.get(spec.name)!;
    current.signature = await verifySignature(spec, current.path, fresh.data, fresh.from);
    await storeSource(cacheRoot, sig.file, fresh.data, sha256(fresh.data), fresh.from);
    log.write(`${spec.name}: ${sig.file} verified: signed by ${current.signature.fingerprint} (${fresh.from})`);
  }
  return got;

  /** The signature from its own URLs, the Debian step that already ran, or a Debian step of its own. */
  async function fetchSignature(spec: SourceSpec): Promise<{ data: Buffer; from: string }> {
    const sig = spec.signature!;
    const tried: string[] = [];
    for (const url of sig.urls) {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(opts.upstreamTimeoutMs ?? 20_000) });
        if (res.ok) return { data: Buffer.from(await res.arrayBuffer()), from: url };
        tried.push(`${url}: HTTP ${res.status}`);
      } catch (err) {
        tried.push(`${url}: ${(err as Error).message}`);
      }
    }
    if (!debianSignatures.has(spec.name) && spec.debian) {
      const before = failures.get(spec.name)?.length ?? 0;
      await viaDebian([spec], pinnedRevision);
      if (!debianSignatures.has(spec.name)) await viaDebian([spec], anyRevision);
      tried.push(...(failures.get(spec.name) ?? []).slice(before));
    }
    const deb = debianSignatures.get(spec.name);
    if (deb) return deb;
    throw signatureMissing(spec, [
      ...tried,
      spec.debian ? `debian source ${spec.debian.package}: the package's files did not include ${sig.file}` : 'no location configured',
    ]);
  }
}

// Turns every `deb` entry of the image's apt config into `deb-src`, adds
// `deb-src <same mirror> <suite> main` for each suite in $SUITES (a source
// pinned to another release, e.g. trixie's kernel on a bookworm base; never
// the security archive, which names its suites differently), then downloads
// without unpacking. A mirror may lack a file of the .dsc that we never use
// (e2fsprogs' upstream .orig.tar.gz.asc, say): apt-get then fails after
// fetching the rest, so a failure only means "see which pinned files arrived"
// (every file kept is verified by sha256 below, and a missing one is named).
const APT_SOURCE_SCRIPT = `set -eu
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
  [ -f "$f" ] || continue
  sed -n 's/^deb \\(.*\\)/deb-src \\1/p' "$f"
  for suite in $SUITES; do
    sed -n "/security/!s/^deb \\(\\[[^]]*\\] \\)\\{0,1\\}\\([^ ]*\\) .*/deb-src \\1\\2 $suite main/p" "$f"
  done
done | sort -u > /etc/apt/sources.list.d/osforge-src.list
for f in /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  sed 's/^Types: deb$/Types: deb-src/' "$f" > "$f.src.sources"
  for suite in $SUITES; do
    awk -v s="$suite" 'BEGIN { RS = ""; ORS = "\\n\\n" } /Types:[^\\n]*deb/ && !/security/ {
      sub(/Types:[^\\n]*/, "Types: deb-src"); sub(/Suites:[^\\n]*/, "Suites: " s); sub(/Components:[^\\n]*/, "Components: main"); print }' "$f" > "$f.$suite.src.sources"
  done
done
apt-get update -qq
mkdir -p /out && cd /out
apt-get source --download-only -qq "$@" || echo "apt-get source exited with $?; keeping what it fetched, each file is checked against its pin"
ls -l /out`;

/** The extra suites the specs need deb-src lines for, sorted so the step is the same whatever the order. */
export function extraSuites(specs: SourceSpec[]): string[] {
  return [...new Set(specs.flatMap((s) => (s.debian?.suite ? [s.debian.suite] : [])))].sort();
}

async function aptGetSource(engine: Engine, baseRef: string, specs: SourceSpec[], wanted: string[], runId: string, log: StepLog): Promise<Map<string, Buffer>> {
  log.write(`apt-get source --download-only ${wanted.join(' ')}`);
  const res = await runStep({
    engine,
    image: baseRef,
    cmd: ['sh', '-c', APT_SOURCE_SCRIPT, 'fetch', ...wanted],
    env: { SUITES: extraSuites(specs).join(' ') },
    network: 'bridge',
    runId,
    stage: 'fetch',
    log,
    outputs: ['/out'],
    tolerateFailure: true,
  });
  if (res.exitCode !== 0) {
    log.write(`apt-get source exited with ${res.exitCode}`);
    return new Map();
  }
  const entries = await readEntries(res.outputs.get('/out')!, 'out');
  return new Map(entries.filter((e) => e.type === 'file').map((e) => [e.path, e.data!]));
}

/** Reads a fetched source (used when copying sources into build containers). */
export function readSource(s: FetchedSource): Promise<Buffer> {
  return readFile(s.path);
}
