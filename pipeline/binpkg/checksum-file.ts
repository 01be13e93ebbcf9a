// The .sha256 file beside every binary package (pure). Line 1 is what
// `sha256sum` prints, so `sha256sum -c bash-5.3-a1b2c3d4-bin.tar.gz.sha256`
// works; the comment lines carry the metadata:
//
//   <sha256>  bash-5.3-a1b2c3d4-bin.tar.gz
//   # Config Hash: a1b2c3d4
//   # Content Hash: 9f86d081
//   # Package: bash
//   # Version: 5.3
//   # Target: //stage2/amd64:bash
//
// The seed's Target is a buck target; osforge has no buck labels for stage2
// packages, so it writes one of the same shape whose package path carries the
// arch. The arch is read back from it.
import { OsforgeError } from '../errors.ts';
import { assertPackageId, isHash8, isSha256 } from './naming.ts';

export interface ChecksumFile {
  sha256: string;
  filename: string;
  configHash: string;
  contentHash: string;
  name: string;
  version: string;
  arch: string;
}

export function targetLabel(arch: string, name: string): string {
  return `//stage2/${arch}:${name}`;
}

export function formatChecksumFile(c: ChecksumFile): string {
  return [
    `${c.sha256}  ${c.filename}`,
    `# Config Hash: ${c.configHash}`,
    `# Content Hash: ${c.contentHash}`,
    `# Package: ${c.name}`,
    `# Version: ${c.version}`,
    `# Target: ${targetLabel(c.arch, c.name)}`,
    '',
  ].join('\n');
}

/** Parses and validates a .sha256 file; `where` names it in errors. Unknown "# Key:" lines are ignored. */
export function parseChecksumFile(text: string, where: string): ChecksumFile {
  const fail = (why: string) =>
    new OsforgeError('CONFIG_INVALID', `malformed checksum file ${where}: ${why}`, {
      hint: 'regenerate it with `osforge package`; line 1 must be "<sha256>  <filename>" followed by "# Key: value" lines',
    });
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  const first = /^([0-9a-f]{64}) [ *](\S+)$/.exec(lines[0] ?? '');
  if (!first) throw fail('line 1 is not "<sha256>  <filename>"');
  const meta = new Map<string, string>();
  for (const line of lines.slice(1)) {
    if (line.trim() === '') continue;
    const m = /^# ([A-Za-z][A-Za-z -]*): (.*)$/.exec(line);
    if (!m) throw fail(`unexpected line ${JSON.stringify(line.slice(0, 80))}`);
    if (meta.has(m[1]!)) throw fail(`duplicate "${m[1]}" line`);
    meta.set(m[1]!, m[2]!.trim());
  }
  const get = (k: string): string => {
    const v = meta.get(k);
    if (v === undefined || v === '') throw fail(`missing "# ${k}:" line`);
    return v;
  };
  const target = get('Target');
  const t = /^\/\/stage2\/([^:/]+):(.+)$/.exec(target);
  if (!t) throw fail(`Target ${JSON.stringify(target)} is not //stage2/<arch>:<package>`);
  const c: ChecksumFile = {
    sha256: first[1]!,
    filename: first[2]!,
    configHash: get('Config Hash'),
    contentHash: get('Content Hash'),
    name: get('Package'),
    version: get('Version'),
    arch: t[1]!,
  };
  if (t[2] !== c.name) throw fail(`Target names package ${JSON.stringify(t[2])} but Package is ${JSON.stringify(c.name)}`);
  if (!isHash8(c.configHash)) throw fail(`Config Hash ${JSON.stringify(c.configHash)} is not 8 hex digits`);
  if (!isHash8(c.contentHash)) throw fail(`Content Hash ${JSON.stringify(c.contentHash)} is not 8 hex digits`);
  if (!isSha256(c.sha256)) throw fail('bad sha256');
  try {
    assertPackageId({ name: c.name, version: c.version, arch: c.arch });
  } catch (err) {
    throw fail((err as Error).message);
  }
  return c;
}
