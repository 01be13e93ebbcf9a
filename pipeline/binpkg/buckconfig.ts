// The [buckos] section of a .buckconfig-style INI file:
//   [buckos]
//   binary_mirror = https://mirror.example.org/binaries
//   prefer_binaries = true
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';

export interface BinaryMirrorSetting {
  /** `[buckos] binary_mirror`, or null when unset. */
  binaryMirror: string | null;
  /** `[buckos] prefer_binaries` (true/yes/1/on). */
  preferBinaries: boolean;
  /** The file read, or null when it does not exist. */
  configPath: string | null;
}

/** Parses INI text into section → key → value (last one wins; `#` and `;` start comments). */
export function parseIni(text: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const s = /^\[\s*([^\]]+?)\s*\]$/.exec(line);
    if (s) { section = s[1]!; continue; }
    const kv = /^([^=]+?)\s*=\s*(.*)$/.exec(line);
    if (!kv) continue;
    if (!out.has(section)) out.set(section, new Map());
    out.get(section)!.set(kv[1]!, kv[2]!.replace(/\s+[#;].*$/, '').trim());
  }
  return out;
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
  return { ...binaryMirrorFromIni(text), configPath: path };
}

/**
 * The mirror the build should consult before compiling a package, or null:
 * $BINARY_MIRROR when set, otherwise `binary_mirror` if `prefer_binaries` is true.
 */
export async function binaryMirrorForBuild(opts: { env?: NodeJS.ProcessEnv; configPath?: string } = {}): Promise<string | null> {
  const env = opts.env ?? process.env;
  if (env.BINARY_MIRROR) return env.BINARY_MIRROR;
  const s = await readBinaryMirrorSetting(opts.configPath);
  return s.preferBinaries && s.binaryMirror ? s.binaryMirror : null;
}
