// The one table from a component's name (sources.json / recipe name) to its
// NVD CPE vendor and product, so vulnerability scanners can match the SBOM's
// components; and the purl every component carries. A name not in the table
// gets no CPE (our own packages: baselayout, init-scripts).

interface CpeProduct {
  part: 'a' | 'o';
  vendor: string;
  product: string;
}

export const CPE_PRODUCTS: Readonly<Record<string, CpeProduct>> = {
  linux: { part: 'o', vendor: 'linux', product: 'linux_kernel' },
  grub: { part: 'a', vendor: 'gnu', product: 'grub2' },
  musl: { part: 'a', vendor: 'musl-libc', product: 'musl' },
  busybox: { part: 'a', vendor: 'busybox', product: 'busybox' },
  zlib: { part: 'a', vendor: 'zlib', product: 'zlib' },
  'util-linux': { part: 'a', vendor: 'kernel', product: 'util-linux' },
  e2fsprogs: { part: 'a', vendor: 'e2fsprogs_project', product: 'e2fsprogs' },
};

/** CPE 2.3 formatted-string quoting: anything but letters, digits, '.', '_' and '-' is backslash-escaped. */
const quote = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, (c) => `\\${c}`);

/** `cpe:2.3:<part>:<vendor>:<product>:<version>:*:*:*:*:*:*:*`, or undefined for a name the table does not know. */
export function cpe23(name: string, version: string): string | undefined {
  const p = Object.hasOwn(CPE_PRODUCTS, name) ? CPE_PRODUCTS[name] : undefined; // "constructor" names no CPE, not Object's
  return p && `cpe:2.3:${p.part}:${p.vendor}:${p.product}:${quote(version)}:*:*:*:*:*:*:*`;
}

/** `pkg:generic/<name>@<version>?arch=<arch>&download_url=<url>`; qualifiers sorted by key, as the purl spec wants. */
export function genericPurl(name: string, version: string, arch: string, downloadUrl?: string): string {
  const q = [`arch=${encodeURIComponent(arch)}`, ...(downloadUrl ? [`download_url=${encodeURIComponent(downloadUrl)}`] : [])];
  return `pkg:generic/${encodeURIComponent(name)}@${encodeURIComponent(version)}?${q.join('&')}`;
}
