import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { describeMismatches, fragmentsFor, missingOptions, parseConfig, type Fragment } from '../../../pipeline/steps/kernel-config.ts';
import { loadFragments } from '../../../pipeline/steps/kernel.ts';
import { paths } from '../../../pipeline/paths.ts';

const frag = (path: string, ...lines: string[]): Fragment => ({ path, text: lines.join('\n') + '\n' });

test('parseConfig: values, "is not set" as n, comments skipped; a stray line is an error naming file and line', () => {
  const v = parseConfig('# a comment\nCONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C="x y"\n\nCONFIG_D=437\n');
  assert.equal(
    [...v],
    [
      ['CONFIG_A', 'y'],
      ['CONFIG_B', 'n'],
      ['CONFIG_C', '"x y"'],
      ['CONFIG_D', '437'],
    ],
  );
  assert.throws(() => parseConfig('CONFIG_A=y\nA=y\n', 'x.config'), /x\.config:2: expected CONFIG_X=value/);
});

test('every request landed: no mismatches', () => {
  const f = [frag('base.config', 'CONFIG_A=y', '# CONFIG_B is not set', 'CONFIG_S="buckos"')];
  assert.equal(missingOptions(f, 'CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_S="buckos"\nCONFIG_OTHER=y\n'), []);
});

test('"is not set" is met by an absent option (its menu is off)', () => {
  assert.equal(missingOptions([frag('base.config', '# CONFIG_MODULE_SIG is not set')], 'CONFIG_A=y\n'), []);
});

test('a requested option missing from .config fails, naming the fragment', () => {
  const m = missingOptions([frag('efi.config', 'CONFIG_EFI=y')], 'CONFIG_A=y\n');
  assert.equal(m, [{ option: 'CONFIG_EFI', requested: 'y', actual: undefined, fragment: 'efi.config' }]);
  assert.is(describeMismatches(m), 'CONFIG_EFI: efi.config requests y, .config has absent');
});

test('=y requested but =m or not set fails', () => {
  const f = [frag('virtio.config', 'CONFIG_VIRTIO_BLK=y', 'CONFIG_VIRTIO_NET=y')];
  const m = missingOptions(f, 'CONFIG_VIRTIO_BLK=m\n# CONFIG_VIRTIO_NET is not set\n');
  assert.equal(
    m.map((x) => [x.option, x.actual]),
    [
      ['CONFIG_VIRTIO_BLK', 'm'],
      ['CONFIG_VIRTIO_NET', 'n'],
    ],
  );
  assert.match(describeMismatches(m), /CONFIG_VIRTIO_NET: virtio\.config requests y, \.config has not set/);
});

test('"is not set" requested but the option is set fails', () => {
  const m = missingOptions([frag('base.config', '# CONFIG_MODULES is not set')], 'CONFIG_MODULES=y\n');
  assert.equal(m, [{ option: 'CONFIG_MODULES', requested: 'n', actual: 'y', fragment: 'base.config' }]);
});

test('a different string or number fails', () => {
  const m = missingOptions(
    [frag('vfat.config', 'CONFIG_FAT_DEFAULT_CODEPAGE=437', 'CONFIG_FAT_DEFAULT_IOCHARSET="iso8859-1"')],
    'CONFIG_FAT_DEFAULT_CODEPAGE=850\nCONFIG_FAT_DEFAULT_IOCHARSET="utf8"\n',
  );
  assert.is(m.length, 2);
});

test("fragmentsFor: base first, shared sorted, then only this arch's file; an unknown arch fails", () => {
  const all = [frag('virtio.config'), frag('arch/arm64.config'), frag('base.config'), frag('ext4.config'), frag('arch/amd64.config')];
  assert.equal(
    fragmentsFor(all, 'amd64').map((f) => f.path),
    ['base.config', 'ext4.config', 'virtio.config', 'arch/amd64.config'],
  );
  assert.equal(
    fragmentsFor(all, 'arm64').map((f) => f.path),
    ['base.config', 'ext4.config', 'virtio.config', 'arch/arm64.config'],
  );
  assert.throws(() => fragmentsFor(all, 'riscv64'), /unknown arch "riscv64"/);
});

test("the repo's fragments parse, and no two of them request one option differently (merge_config -s would fail)", async () => {
  const all = await loadFragments(join(paths.images, 'kernel', 'config'));
  for (const arch of ['amd64', 'arm64']) {
    const seen = new Map<string, string>();
    for (const f of fragmentsFor(all, arch)) {
      for (const [k, v] of parseConfig(f.text, f.path)) {
        assert.ok(!seen.has(k) || seen.get(k) === v, `${k} requested as ${seen.get(k)} and ${v}`);
        seen.set(k, v);
      }
    }
    assert.is(seen.get('CONFIG_MODULES'), 'n');
  }
});

test.run();
