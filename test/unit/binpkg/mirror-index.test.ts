import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { buildIndex, parseIndex, serializeIndex, type IndexEntry } from '../../../pipeline/binpkg/mirror-index.ts';

const test = suite('binpkg/mirror-index');
const sha = (c: string) => c.repeat(64);
const e = (name: string, version: string, cfg: string, arch = 'amd64', s = 'a'): IndexEntry => ({
  name,
  version,
  arch,
  config_hash: cfg,
  file_hash: sha(s).slice(0, 8),
  filename: `${name}-${version}-${cfg}-bin.tar.gz`,
  size: 10,
  sha256: sha(s),
});

test('sorted packages, total and by_name without the name', () => {
  const idx = buildIndex([e('vim', '9.1.0', '11111111'), e('bash', '5.3', 'e5f6a7b8'), e('bash', '5.10', 'a1b2c3d4'), e('bash', '5.3', 'a1b2c3d4', 'arm64')]);
  assert.is(idx.total, 4);
  assert.equal(
    idx.packages.map((p) => `${p.name}-${p.version}-${p.arch}-${p.config_hash}`),
    ['bash-5.3-amd64-e5f6a7b8', 'bash-5.3-arm64-a1b2c3d4', 'bash-5.10-amd64-a1b2c3d4', 'vim-9.1.0-amd64-11111111'],
  );
  assert.equal(Object.keys(idx.by_name), ['bash', 'vim']);
  assert.is(idx.by_name.bash!.length, 3);
  assert.not.ok('name' in idx.by_name.bash![0]!);
  assert.is(idx.by_name.vim![0]!.filename, 'vim-9.1.0-11111111-bin.tar.gz');
});

test('serialisation is independent of input order, and re-adding an entry changes nothing', () => {
  const a = [e('bash', '5.3', 'a1b2c3d4'), e('vim', '9.1.0', '11111111')];
  assert.is(serializeIndex(buildIndex(a)), serializeIndex(buildIndex([...a].reverse())));
  assert.is(serializeIndex(buildIndex([...a, a[0]!])), serializeIndex(buildIndex(a)));
  assert.equal(parseIndex(serializeIndex(buildIndex(a)), 'x'), buildIndex(a));
});

test('refuses entries whose filename does not follow from name/version/config hash', () => {
  const hostile = { ...e('bash', '5.3', 'a1b2c3d4'), filename: '../../etc/passwd' };
  assert.throws(() => parseIndex(JSON.stringify({ packages: [hostile] }), 'x'), /filename/);
  const seedStyle = { ...e('bash', '5.3', 'a1b2c3d4'), filename: 'bash-5.3-a1b2c3d4-aaaaaaaa.tar.gz' };
  assert.throws(() => parseIndex(JSON.stringify({ packages: [seedStyle] }), 'x'), /should be "bash-5.3-a1b2c3d4-bin.tar.gz"/);
  assert.throws(() => parseIndex(JSON.stringify({ packages: [{ ...e('bash', '5.3', 'a1b2c3d4'), file_hash: 'bbbbbbbb' }] }), 'x'), /file_hash/);
  assert.throws(() => parseIndex('{"packages": [{"name": "bash"}]}', 'x'), /malformed/);
  assert.throws(() => parseIndex('nope', 'x'), /not JSON/);
});

test.run();
