// SHA256SUMS (`sha256sum -c` format) and `<file>.sha256` sidecars. Pure parsing.

export interface SumLine {
  sha256: string;
  path: string;
}

/** Parses "<64 hex>  <name>" or "<64 hex> *<name>" lines; blank lines are skipped, anything else is an error. */
export function parseSums(text: string): SumLine[] {
  const out: SumLine[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    const m = /^([0-9a-fA-F]{64}) [ *](.+)$/.exec(line.replace(/\r$/, ''));
    if (!m) throw new Error(`line ${i + 1} is not "<sha256>  <file>": ${JSON.stringify(line.slice(0, 80))}`);
    out.push({ sha256: m[1]!.toLowerCase(), path: m[2]!.replace(/^\.\//, '') });
  }
  return out;
}

/** A sidecar holds either a bare digest or one sha256sum line; returns the digest. */
export function parseSidecar(text: string): string {
  const first = text.trim().split(/\s+/)[0] ?? '';
  if (!/^[0-9a-fA-F]{64}$/.test(first)) throw new Error('not a sha256 digest');
  return first.toLowerCase();
}
