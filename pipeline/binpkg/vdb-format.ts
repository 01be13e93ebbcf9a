// The installed-package database ("VDB", as in Portage): one directory per
// installed package, <prefix>/var/db/pkg/<name>-<version>/, holding
//   CONTENTS     one line per installed path, relative to the prefix root:
//                  dir /usr/bin
//                  obj /usr/bin/foo <sha256> <size>
//                  sym /usr/bin/bar -> foo
//                (Portage's layout, with sha256 and size where Portage has
//                md5 and mtime)
//   binpkg.json  name, version, arch, config_hash, file_hash, sha256, filename
// This module is the pure part: paths and (de)serialisation.
import { OsforgeError } from '../errors.ts';

export const VDB_DIR = 'var/db/pkg';

export type ContentsLine =
  | { kind: 'dir'; path: string }
  | { kind: 'obj'; path: string; sha256: string; size: number }
  | { kind: 'sym'; path: string; target: string };

export interface InstalledRecord {
  name: string;
  version: string;
  arch: string;
  config_hash: string;
  file_hash: string;
  sha256: string;
  filename: string;
}

export function formatContents(lines: readonly ContentsLine[]): string {
  return (
    lines
      .map((l) => {
        if (l.kind === 'dir') return `dir /${l.path}`;
        if (l.kind === 'obj') return `obj /${l.path} ${l.sha256} ${l.size}`;
        return `sym /${l.path} -> ${l.target}`;
      })
      .join('\n') + (lines.length ? '\n' : '')
  );
}

export function parseContents(text: string, where: string): ContentsLine[] {
  const out: ContentsLine[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m: RegExpExecArray | null;
    if ((m = /^dir \/(.+)$/.exec(line))) out.push({ kind: 'dir', path: m[1]! });
    else if ((m = /^obj \/(.+) ([0-9a-f]{64}) (\d+)$/.exec(line))) out.push({ kind: 'obj', path: m[1]!, sha256: m[2]!, size: Number(m[3]) });
    else if ((m = /^sym \/(.+?) -> (.+)$/.exec(line))) out.push({ kind: 'sym', path: m[1]!, target: m[2]! });
    else throw new OsforgeError('CONFIG_INVALID', `corrupt package database file ${where}: ${JSON.stringify(line.slice(0, 80))}`);
    const p = out[out.length - 1]!.path;
    if (p.split('/').some((s) => s === '..' || s === '' || s === '.')) {
      throw new OsforgeError('CONFIG_INVALID', `corrupt package database file ${where}: bad path ${JSON.stringify(p)}`);
    }
  }
  return out;
}
