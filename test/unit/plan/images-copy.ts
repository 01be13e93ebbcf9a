// A temp copy of the repo's images/ that a test can break one field at a
// time; shared by the plan unit tests and the CLI bad-input corpus.
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const repoImages = resolve(import.meta.dirname, '../../../images');

/** Copies images/ (without the large imager tree the plan never reads) into a fresh temp dir. */
export function copyImages(): { root: string; images: string; remove: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'osforge-images-'));
  const images = join(root, 'images');
  cpSync(repoImages, images, { recursive: true, filter: (src) => !src.startsWith(join(repoImages, 'imager')) });
  return { root, images, remove: () => rmSync(root, { recursive: true, force: true }) };
}

/** Reads images/<file> as JSON, lets `edit` change it (or return a replacement), writes it back. */
export function editJson(images: string, file: string, edit: (j: any) => unknown): void {
  const p = join(images, file);
  const j = JSON.parse(readFileSync(p, 'utf8'));
  const out = edit(j);
  writeFileSync(p, JSON.stringify(out === undefined ? j : out, null, 2));
}

/** One way to break the plan, and the error it must produce. */
export interface PlanBreak {
  name: string;
  break: (images: string) => void;
  error: RegExp;
}

const epoch = (v: unknown) => (images: string) =>
  editJson(images, 'buckos.json', (j) => {
    j.base.sourceDateEpoch = v;
  });

export const planBreaks: PlanBreak[] = [
  {
    name: 'package name with ../',
    break: (d) =>
      editJson(d, 'buckos.json', (j) => {
        j.packages[1] = '../../../x';
      }),
    error: /buckos\.json: packages\[1\]: expected a package atom or @set \(name\[:slot\] .*found "\.\.\/\.\.\/\.\.\/x"/,
  },
  {
    name: 'package name with a capital',
    break: (d) =>
      editJson(d, 'buckos.json', (j) => {
        j.packages.splice(3, 0, 'Zlib');
      }),
    error: /buckos\.json: packages\[3\]: expected a package atom or @set .*found "Zlib"/,
  },
  {
    name: 'null package entry',
    break: (d) =>
      editJson(d, 'buckos.json', (j) => {
        j.packages[0] = null;
      }),
    error: /buckos\.json: packages\[0\]: expected a string, found null/,
  },
  {
    name: 'no packages',
    break: (d) =>
      editJson(d, 'buckos.json', (j) => {
        delete j.packages;
      }),
    error: /buckos\.json: packages: expected "packages" \(the default image set\) or "profiles", found nothing \(the field is missing\)/,
  },
  {
    name: 'empty packages',
    break: (d) =>
      editJson(d, 'buckos.json', (j) => {
        j.packages = [];
      }),
    error: /buckos\.json: packages: expected at least one package, found an empty list/,
  },
  {
    name: 'duplicate package',
    break: (d) =>
      editJson(d, 'buckos.json', (j) => {
        j.packages.splice(3, 0, 'zlib');
      }),
    error: /buckos\.json: packages\[3\]: expected each package listed once \(it is a duplicate\), found "zlib"/,
  },
  { name: 'buckos.json is null', break: (d) => editJson(d, 'buckos.json', () => null), error: /buckos\.json: \(top level\): expected an object, found null/ },
  { name: 'buckos.json is not JSON', break: (d) => writeFileSync(join(d, 'buckos.json'), '{"name": "buckos",'), error: /buckos\.json: not valid JSON \(/ },
  { name: 'buckos.json missing', break: (d) => rmSync(join(d, 'buckos.json')), error: /buckos\.json: file not found/ },
  {
    name: 'sourceDateEpoch "yesterday"',
    break: epoch('yesterday'),
    error: /buckos\.json: base\.sourceDateEpoch: expected an integer number of seconds since 1970, found "yesterday"/,
  },
  { name: 'sourceDateEpoch 1.5', break: epoch(1.5), error: /base\.sourceDateEpoch: expected an integer number of seconds since 1970, found 1\.5/ },
  { name: 'sourceDateEpoch negative', break: epoch(-1), error: /base\.sourceDateEpoch: expected a non-negative integer, found -1/ },
  { name: 'sourceDateEpoch missing', break: epoch(undefined), error: /base\.sourceDateEpoch: expected an integer number of seconds since 1970, found nothing/ },
  {
    name: 'unknown arch',
    break: (d) =>
      editJson(d, 'buckos.json', (j) => {
        j.arches = ['amd64', 'riscv64'];
      }),
    error: /buckos\.json: arches\[1\]: expected one of "amd64", "arm64", found "riscv64"/,
  },
  {
    name: 'version with a space',
    break: (d) =>
      editJson(d, 'buckos.json', (j) => {
        j.version = '1 0';
      }),
    error: /buckos\.json: version: expected a plain version string .*found "1 0"/,
  },
  {
    name: 'version a number',
    break: (d) =>
      editJson(d, 'buckos.json', (j) => {
        j.version = 1;
      }),
    error: /buckos\.json: version: expected a string, found 1/,
  },
  {
    name: 'misspelt top-level field',
    break: (d) =>
      editJson(d, 'buckos.json', (j) => {
        j.pakages = j.packages;
      }),
    error: /buckos\.json: \(top level\): unknown field "pakages"/,
  },
  {
    name: 'base.suite missing',
    break: (d) =>
      editJson(d, 'buckos.json', (j) => {
        delete j.base.suite;
      }),
    error: /buckos\.json: base\.suite: expected a string, found nothing/,
  },
  {
    name: 'base.pull not pinned',
    break: (d) =>
      editJson(d, 'buckos.json', (j) => {
        j.base.pull = { amd64: 'debian:latest' };
      }),
    error: /base\.pull\.amd64: expected a pinned image reference .*found "debian:latest"/,
  },
  {
    name: 'buck2 url not http',
    break: (d) =>
      editJson(d, 'buckos.json', (j) => {
        j.buck2.url = 'file:///etc/passwd';
      }),
    error: /buckos\.json: buck2\.url: expected an http\(s\) URL, found "file:\/\/\/etc\/passwd"/,
  },
  {
    name: 'toolchain source unknown',
    break: (d) =>
      editJson(d, 'buckos.json', (j) => {
        j.toolchain.source = 'glibc';
      }),
    error: /buckos\.json: toolchain\.source: "glibc" is not in sources\.json/,
  },
  {
    name: 'recipe without version',
    break: (d) =>
      editJson(d, 'packages/zlib/recipe.json', (j) => {
        delete j.version;
      }),
    error: /packages\/zlib\/recipe\.json: version: expected a string, found nothing/,
  },
  {
    name: 'recipe version null',
    break: (d) =>
      editJson(d, 'packages/zlib/recipe.json', (j) => {
        j.version = null;
      }),
    error: /packages\/zlib\/recipe\.json: version: expected a string, found null/,
  },
  {
    name: 'recipe name differs',
    break: (d) =>
      editJson(d, 'packages/zlib/recipe.json', (j) => {
        j.name = 'zlib-ng';
      }),
    error: /packages\/zlib\/recipe\.json: name: expected "zlib" \(the directory name\), found "zlib-ng"/,
  },
  {
    name: 'recipe misspelt deps',
    break: (d) =>
      editJson(d, 'packages/baselayout/recipe.json', (j) => {
        j.dpes = j.deps;
        delete j.deps;
      }),
    error: /packages\/baselayout\/recipe\.json: \(top level\): unknown field "dpes"/,
  },
  {
    name: 'recipe deps not a list',
    break: (d) =>
      editJson(d, 'packages/baselayout/recipe.json', (j) => {
        j.deps = 'busybox';
      }),
    error: /packages\/baselayout\/recipe\.json: deps: expected a list, found "busybox"/,
  },
  {
    name: 'recipe dep unknown',
    break: (d) =>
      editJson(d, 'packages/baselayout/recipe.json', (j) => {
        j.deps = ['busybox', 'glibc'];
      }),
    error: /packages\/baselayout\/recipe\.json: deps\[1\]: package "glibc" has no packages\/glibc\/recipe\.json/,
  },
  {
    name: 'recipe dep with a bad constraint',
    break: (d) =>
      editJson(d, 'packages/baselayout/recipe.json', (j) => {
        j.deps = ['busybox >>1'];
      }),
    error: /packages\/baselayout\/recipe\.json: deps\[0\]: expected a package atom/,
  },
  {
    name: 'no version fits a dep constraint',
    break: (d) =>
      editJson(d, 'packages/baselayout/recipe.json', (j) => {
        j.deps = ['busybox >=9'];
      }),
    error:
      /packages\/baselayout\/recipe\.json: deps\[0\]: no version of busybox fits "busybox >=9"; candidates: busybox 1\.37\.0 \(slot 0\): does not satisfy >=9/,
  },
  {
    name: 'every version masked',
    break: (d) => writeFileSync(join(d, 'package.mask'), '# broken upstream\nzlib <2\n'),
    error: /no version of zlib fits "zlib"; candidates: zlib 1\.3\.1 \(slot 0\): masked by .*package\.mask:2 \("zlib <2"\)/,
  },
  {
    name: 'unknown package set',
    break: (d) =>
      editJson(d, 'buckos.json', (j) => {
        j.packages.push('@nope');
      }),
    error: /buckos\.json: packages\[6\]: unknown package set @nope/,
  },
  {
    name: 'recipe source unknown',
    break: (d) =>
      editJson(d, 'packages/zlib/recipe.json', (j) => {
        j.sources = ['zlib-ng'];
      }),
    error: /packages\/zlib\/recipe\.json: sources\[0\]: expected a source defined in sources\.json, found "zlib-ng"/,
  },
  {
    name: 'recipe missing',
    break: (d) => rmSync(join(d, 'packages/zlib/recipe.json')),
    error: /buckos\.json: packages\[2\]: package "zlib" has no packages\/zlib\/recipe\.json/,
  },
  { name: 'build.sh missing', break: (d) => rmSync(join(d, 'packages/zlib/build.sh')), error: /packages\/zlib\/recipe\.json: missing build\.sh beside it/ },
  {
    name: 'dependency cycle',
    break: (d) =>
      editJson(d, 'packages/busybox/recipe.json', (j) => {
        j.deps = ['baselayout'];
      }),
    error: /package dependency cycle: baselayout -> busybox -> baselayout \(in \S*packages\/baselayout\/recipe\.json, \S*packages\/busybox\/recipe\.json\)/,
  },
  {
    name: 'symlink in a recipe directory',
    break: (d) => symlinkSync('/etc/hostname', join(d, 'packages/zlib/leak')),
    error: /packages\/zlib\/leak: is a symlink; only regular files and directories are read/,
  },
  {
    name: 'source sha256 short',
    break: (d) =>
      editJson(d, 'sources.json', (j) => {
        j.musl.sha256 = 'abc';
      }),
    error: /sources\.json: musl\.sha256: expected a sha256 \(64 lowercase hex digits\), found "abc"/,
  },
  {
    name: 'source file with a path',
    break: (d) =>
      editJson(d, 'sources.json', (j) => {
        j.zlib.file = '../evil.tar.gz';
      }),
    error: /sources\.json: zlib\.file: expected a plain file name .*found "\.\.\/evil\.tar\.gz"/,
  },
  {
    name: 'source without fetch location',
    break: (d) =>
      editJson(d, 'sources.json', (j) => {
        delete j.busybox.urls;
        delete j.busybox.debian;
      }),
    error: /sources\.json: busybox: expected a fetch location \("urls" or "debian"\), found an object/,
  },
  {
    name: 'source entry null',
    break: (d) =>
      editJson(d, 'sources.json', (j) => {
        j.zlib = null;
      }),
    error: /sources\.json: zlib: expected an object, found null/,
  },
  {
    name: 'source name with /',
    break: (d) =>
      editJson(d, 'sources.json', (j) => {
        j['a/b'] = j.zlib;
      }),
    error: /sources\.json: \(top level\): key "a\/b": expected a name matching/,
  },
  {
    name: 'builder include empty',
    break: (d) =>
      editJson(d, 'builder/builder.json', (j) => {
        j.include = [];
      }),
    error: /builder\/builder\.json: include: expected at least one build toolchain package, found an empty list/,
  },
  {
    name: 'lock suite differs',
    break: (d) =>
      editJson(d, 'lock.json', (j) => {
        j.suite = 'trixie';
      }),
    error: /lock\.json: suite: locks trixie but buckos\.json uses bookworm; run `osforge lock`/,
  },
  {
    name: 'lock pin malformed',
    break: (d) =>
      editJson(d, 'lock.json', (j) => {
        j.images.base.amd64[0] = 'adduser';
      }),
    error: /lock\.json: images\.base\.amd64\[0\]: expected a "package=version" pin, found "adduser"/,
  },
  {
    name: 'GRUB source unpinned',
    break: (d) =>
      editJson(d, 'sources.json', (j) => {
        delete j.grub;
      }),
    error: /sources\.json: "grub": expected the pinned source GRUB is built from, found nothing/,
  },
  {
    name: 'kernel source unpinned',
    break: (d) =>
      editJson(d, 'sources.json', (j) => {
        delete j.linux;
      }),
    error: /sources\.json: "linux": expected the pinned source the kernel is built from/,
  },
  { name: 'GRUB build script missing', break: (d) => rmSync(join(d, 'grub/build.sh')), error: /grub\/build\.sh: file not found \(the GRUB stage runs it\)/ },
  {
    name: 'signing key outside images/keys',
    break: (d) =>
      editJson(d, 'sources.json', (j) => {
        j.musl.signature.key = '../../etc/passwd';
      }),
    error: /sources\.json: musl\.signature\.key: expected a key file under images\/keys\/ \("keys\/<name>\.asc"\)/,
  },
  {
    name: 'signing key file missing',
    break: (d) => rmSync(join(d, 'keys/musl.asc')),
    error: /sources\.json: musl\.signature\.key: keys\/musl\.asc not found in /,
  },
  {
    name: 'signing fingerprint short',
    break: (d) =>
      editJson(d, 'sources.json', (j) => {
        j.musl.signature.fingerprint = '3020450F';
      }),
    error: /musl\.signature\.fingerprint: expected a full 40-hex-digit OpenPGP fingerprint/,
  },
  {
    name: 'GRUB source sha256 wrong',
    break: (d) =>
      editJson(d, 'sources.json', (j) => {
        j.grub.sha256 = 'x';
      }),
    error: /sources\.json: grub\.sha256: expected a sha256/,
  },
];
