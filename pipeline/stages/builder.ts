// Builder image: base + build toolchain + the tools image's /opt/osforge,
// tagged by a hash of its inputs so an unchanged builder is never rebuilt.
import type { Engine } from '../engine/docker.ts';
import { packEntries, type TarEntry } from '../util/tar.ts';
import type { Plan } from '../plan/types.ts';
import type { Buck2 } from './buck2.ts';

export interface BuilderResult { ref: string; id: string; key: string; built: boolean }

export async function ensureBuilder(opts: {
  engine: Engine; plan: Plan; key: string; baseRef: string; toolsRef: string;
  buck2: Buck2 | null; sourceDateEpoch: number; log: (l: string) => void;
}): Promise<BuilderResult> {
  const key = opts.key;
  const ref = `osforge/builder:${key.slice(0, 12)}`;
  const existing = await opts.engine.inspectImage(ref);
  if (existing) return { ref, id: existing.id, key, built: false };
  const entries: TarEntry[] = Object.entries(opts.plan.imageFiles.builder).map(([path, data]) => ({ path, type: 'file', mode: 0o644, data }));
  entries.push(opts.buck2
    ? { path: 'buck2/buck2', type: 'file', mode: 0o755, data: opts.buck2.binary }
    : { path: 'buck2/README', type: 'file', mode: 0o644, data: Buffer.from('buck2 was not provisioned for this builder image\n') });
  const id = await opts.engine.buildImage({
    context: await packEntries(entries, opts.sourceDateEpoch), tag: ref, onLog: opts.log,
    buildArgs: { BASE: opts.baseRef, TOOLS: opts.toolsRef }, labels: { 'osforge.builder.key': key },
  });
  return { ref, id, key, built: true };
}
