// The network step of the image build: the pinned kernel and GRUB .debs are
// downloaded with `apt-get download` in a container from the base image (its
// own apt config, no mirror hostname here), verified against their sha256 and
// kept in the source cache. Nothing is installed: later steps use dpkg-deb -x.
import type { Engine } from '../../engine/engine.ts';
import { runStep } from '../../stages/step.ts';
import { OsforgeError } from '../../errors.ts';
import { lookupSource, storeSource } from '../../cache/source-cache.ts';
import { readEntries } from '../../util/tar.ts';
import type { StepLog } from '../../stages/step-log.ts';
import { debFileName, type DebPin } from './pins.ts';

export interface FetchedDeb { pin: DebPin; file: string; path: string }

const DOWNLOAD_SCRIPT = `set -eu
dpkg --add-architecture arm64
apt-get update -qq
mkdir -p /out && cd /out
apt-get download -qq "$@" 2>&1 | grep -v 'Download is performed unsandboxed' || true
ls -l /out`;

export async function fetchDebs(opts: { engine: Engine; baseRef: string; pins: DebPin[]; cacheRoot: string; runId: string; log: StepLog }): Promise<FetchedDeb[]> {
  const out = new Map<string, FetchedDeb>();
  const missing: DebPin[] = [];
  for (const pin of opts.pins) {
    const file = debFileName(pin);
    const path = await lookupSource(opts.cacheRoot, file, pin.sha256, (m) => opts.log.write(m));
    if (path) out.set(file, { pin, file, path });
    else missing.push(pin);
  }
  if (missing.length) {
    const wanted = missing.map((p) => `${p.package}:${p.arch}=${p.version}`);
    opts.log.write(`apt-get download ${wanted.join(' ')}`);
    const res = await runStep({
      engine: opts.engine, image: opts.baseRef, cmd: ['sh', '-c', DOWNLOAD_SCRIPT, 'download', ...wanted], network: 'bridge',
      runId: opts.runId, stage: 'images:fetch', log: opts.log, outputs: ['/out'], tolerateFailure: true,
    });
    if (res.exitCode !== 0) {
      throw new OsforgeError('SOURCE_FETCH', `apt-get download of ${wanted.join(', ')} failed with exit code ${res.exitCode}`, {
        stage: 'images:fetch', logTail: opts.log.lines.slice(-40), logPath: opts.log.path,
        hint: 'a pinned version may have left the archive: update images/kernel.json (version + sha256), or place the verified .deb in the source cache',
      });
    }
    const files = (await readEntries(res.outputs.get('/out')!, 'out')).filter((e) => e.type === 'file');
    for (const pin of missing) {
      const file = debFileName(pin);
      const got = files.find((e) => e.path === file) ?? files.find((e) => e.path.startsWith(`${pin.package}_`) && e.path.endsWith(`_${pin.arch}.deb`));
      if (!got) throw new OsforgeError('SOURCE_FETCH', `apt-get download did not produce ${file}`, { stage: 'images:fetch', logPath: opts.log.path });
      const path = await storeSource(opts.cacheRoot, file, got.data!, pin.sha256, `apt-get download ${pin.package}:${pin.arch}=${pin.version}`);
      opts.log.write(`${file}: verified ${pin.sha256}`);
      out.set(file, { pin, file, path });
    }
  }
  return opts.pins.map((p) => out.get(debFileName(p))!);
}
