// Times one install (caps from $OSFORGE_MAX_ENTRIES / $OSFORGE_MAX_PATH_DEPTH) of a deep path or of many entries (tsx test/bench/install-scale.ts deep 60 | many 100000): the numbers behind the archive caps.
// Measures installBinary on a deep path and on many entries.
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import tarStream from 'tar-stream';
import { gzipSync } from 'node:zlib';
const repo = join(import.meta.dirname, '../..');
const { installBinary } = await import(join(repo, 'pipeline/binpkg/installer.ts'));
const { limitsFrom } = await import(join(repo, 'pipeline/binpkg/limits.ts'));
const { writeMirror, tempDir } = await import(join(repo, 'test/fixtures/binpkg/helpers.ts'));

async function tgz(names: { name: string; type: 'file' | 'directory' }[]): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c) => chunks.push(c as Buffer));
  const done = new Promise<void>((r) => pack.on('end', () => r()));
  for (const n of names)
    await new Promise<void>((res, rej) =>
      pack.entry({ name: n.name, type: n.type, mode: n.type === 'file' ? 0o644 : 0o755, size: 0, mtime: new Date(0) }, Buffer.alloc(0), (e) =>
        e ? rej(e) : res(),
      ),
    );
  pack.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks));
}
const [kind, nStr] = process.argv.slice(2);
const n = Number(nStr);
const names =
  kind === 'deep'
    ? [{ name: `${Array.from({ length: n }, () => 'd').join('/')}/f`, type: 'file' as const }]
    : Array.from({ length: n }, (_, i) => ({ name: `d${Math.floor(i / 1000)}/f${i}`, type: 'file' as const }));
const data = await tgz(names);
const root = await tempDir('bench');
await writeMirror(join(root, 'm'), [{ name: 'p', version: '1.0', data }]);
const t0 = Date.now();
let outcome = 'installed';
try {
  await installBinary({
    name: 'p',
    version: '1.0',
    arch: 'amd64',
    mirrorUrl: join(root, 'm'),
    prefix: join(root, 'prefix'),
    cacheDir: join(root, 'cache'),
    downloadOnly: false,
    limits: limitsFrom({}),
    log: () => {},
  });
} catch (e) {
  outcome = `refused: ${(e as Error).message.slice(-150)}`;
}
console.log(`${kind} ${n}: ${data.length} bytes gz, ${Date.now() - t0} ms, maxrss ${Math.round(process.resourceUsage().maxRSS / 1024)} MB, ${outcome}`);
await rm(root, { recursive: true, force: true });
