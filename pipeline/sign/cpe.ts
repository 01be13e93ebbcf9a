// A component's NVD CPE, so vulnerability scanners can match the SBOM's
// components, and the purl every component carries. The CPEs are data: each
// source pin in images/sources.json may name its `cpe` (part, vendor,
// product), and a component (the kernel, GRUB, musl, a package) gets the CPE
// of the pin named like it. A name without one gets no CPE (our own packages:
// baselayout, init-scripts). Pure.
import type { CpeProduct, SourceSpec } from '../plan/types.ts';

/** Component name → its CPE product, from the source pins that name one. */
export type CpeTable = Readonly<Record<string, CpeProduct>>;

/** The CPE table of a plan's sources (plan/load.ts loadSources), null-prototyped so "constructor" names nothing. */
export function cpeTable(sources: Readonly<Record<string, Pick<SourceSpec, 'cpe'>>>): CpeTable {
  const out: Record<string, CpeProduct> = Object.create(null);
  for (const [name, s] of Object.entries(sources)) if (s.cpe) out[name] = s.cpe;
  return out;
}

/** CPE 2.3 formatted-string quoting: anything but letters, digits, '.', '_' and '-' is backslash-escaped. */
const quote = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, (c) => `\\${c}`);

/** `cpe:2.3:<part>:<vendor>:<product>:<version>:*:*:*:*:*:*:*`, or undefined for a name the table does not know. */
export function cpe23(name: string, version: string, table: CpeTable): string | undefined {
  const p = Object.hasOwn(table, name) ? table[name] : undefined; // "constructor" names no CPE, not Object's
  return p && `cpe:2.3:${p.part}:${p.vendor}:${p.product}:${quote(version)}:*:*:*:*:*:*:*`;
}

/** `pkg:generic/<name>@<version>?arch=<arch>&download_url=<url>`; qualifiers sorted by key, as the purl spec wants. */
export function genericPurl(name: string, version: string, arch: string, downloadUrl?: string): string {
  const q = [`arch=${encodeURIComponent(arch)}`, ...(downloadUrl ? [`download_url=${encodeURIComponent(downloadUrl)}`] : [])];
  return `pkg:generic/${encodeURIComponent(name)}@${encodeURIComponent(version)}?${q.join('&')}`;
}
