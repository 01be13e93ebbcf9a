// A .buckconfig-style INI parser: the [buckos] section the binary mirror is
// read from, and the builders (`builders =`) the same section lists. A leaf, so engine/ and
// binpkg/ can both read INI without one importing the other.

/** Parses INI text into section → key → value (last one wins; `#` and `;` start comments). */
export function parseIni(text: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const s = /^\[\s*([^\]]+?)\s*\]$/.exec(line);
    if (s) {
      section = s[1]!;
      continue;
    }
    const kv = /^([^=]+?)\s*=\s*(.*)$/.exec(line);
    if (!kv) continue;
    if (!out.has(section)) out.set(section, new Map());
    out.get(section)!.set(kv[1]!, kv[2]!.replace(/\s+[#;].*$/, '').trim());
  }
  return out;
}
