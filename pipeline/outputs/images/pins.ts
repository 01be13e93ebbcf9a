// images/kernel.json: the pinned GRUB .debs per arch. Validated here so a
// bad pin fails before any container starts. (The kernel is built from
// source: stages/kernel.ts.)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OsforgeError } from '../../errors.ts';
import { paths } from '../../paths.ts';
import type { Arch } from '../../plan/types.ts';

export interface DebPin { package: string; version: string; sha256: string; arch: Arch }
export interface GrubPin extends DebPin { platform: string }
export interface BootPins { grub: GrubPin[] }

/** The cache file name of a pinned .deb (dpkg's own naming, epoch colon escaped). */
export function debFileName(p: DebPin): string {
  return `${p.package}_${p.version.replace(/:/g, '%3a')}_${p.arch}.deb`;
}

export function parseBootPins(json: unknown, arch: Arch): BootPins {
  const bad = (m: string) => new OsforgeError('CONFIG_INVALID', `images/kernel.json: ${m}`, { arch });
  const root = json as { grub?: Record<string, unknown> };
  const deb = (v: unknown, what: string): DebPin => {
    const o = v as Record<string, unknown> | undefined;
    if (!o || typeof o.package !== 'string' || typeof o.version !== 'string') throw bad(`${what}: package and version are required`);
    if (typeof o.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(o.sha256)) throw bad(`${what}: sha256 must be 64 hex digits`);
    if (!/^[a-z0-9][a-z0-9.+-]*$/.test(o.package) || !/^[A-Za-z0-9.+~:-]+$/.test(o.version)) throw bad(`${what}: unexpected characters in package or version`);
    return { package: o.package, version: o.version, sha256: o.sha256, arch };
  };
  const grubList = root.grub?.[arch];
  if (!Array.isArray(grubList) || grubList.length === 0) throw bad(`grub.${arch} must list the GRUB platform packages`);
  const grub = grubList.map((g, n) => {
    const platform = (g as { platform?: unknown }).platform;
    if (typeof platform !== 'string') throw bad(`grub.${arch}[${n}].platform is required`);
    return { ...deb(g, `grub.${arch}[${n}]`), platform };
  });
  return { grub };
}

export function loadBootPins(arch: Arch, file = join(paths.images, 'kernel.json')): BootPins {
  return parseBootPins(JSON.parse(readFileSync(file, 'utf8')), arch);
}
