// Finds the Debian archive the host's apt is configured for, so no mirror
// hostname ever lives in osforge's code. OSFORGE_DEBIAN_MIRROR overrides.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { OsforgeError } from '../errors.ts';
import { settings } from '../settings.ts';

/** Parses one-line (.list) and deb822 (.sources) apt files into (uri, suites) pairs of `deb` entries. */
export function parseAptSources(text: string, deb822: boolean): { uri: string; suites: string[] }[] {
  const out: { uri: string; suites: string[] }[] = [];
  if (!deb822) {
    for (const raw of text.split('\n')) {
      const line = raw.replace(/#.*/, '').trim();
      const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
      if (m) out.push({ uri: m[1]!, suites: [m[2]!] });
    }
    return out;
  }
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const raw of stanza.split('\n')) {
      if (raw.startsWith('#')) continue;
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(raw);
      if (m) fields.set(m[1]!.toLowerCase(), m[2]!.trim());
    }
    if (fields.get('enabled') === 'no') continue;
    if (!(fields.get('types') ?? '').split(/\s+/).includes('deb')) continue;
    const suites = (fields.get('suites') ?? '').split(/\s+/).filter(Boolean);
    for (const uri of (fields.get('uris') ?? '').split(/\s+/).filter(Boolean)) out.push({ uri, suites });
  }
  return out;
}

/** The archive URI serving `suite` (the plain suite, not -updates or -security). */
export function findMirror(entries: { uri: string; suites: string[] }[], suite: string): string | undefined {
  return entries.find((e) => e.suites.includes(suite) && !/security/.test(e.uri))?.uri ?? entries.find((e) => !/security/.test(e.uri))?.uri;
}

export function hostDebianMirror(suite: string, aptDir = '/etc/apt'): string {
  const fromSettings = settings().debianMirror;
  if (fromSettings) return fromSettings;
  const entries: { uri: string; suites: string[] }[] = [];
  const main = join(aptDir, 'sources.list');
  if (existsSync(main)) entries.push(...parseAptSources(readFileSync(main, 'utf8'), false));
  const dir = join(aptDir, 'sources.list.d');
  if (existsSync(dir)) {
    for (const f of readdirSync(dir).sort()) {
      if (f.endsWith('.list')) entries.push(...parseAptSources(readFileSync(join(dir, f), 'utf8'), false));
      if (f.endsWith('.sources')) entries.push(...parseAptSources(readFileSync(join(dir, f), 'utf8'), true));
    }
  }
  const mirror = findMirror(entries, suite);
  if (!mirror) {
    throw new OsforgeError('HOST_SETUP', `no Debian archive for suite ${suite} in ${aptDir}/sources.list(.d)`, {
      hint: 'set OSFORGE_DEBIAN_MIRROR=<archive URL> to the Debian mirror your network allows',
    });
  }
  return mirror;
}
