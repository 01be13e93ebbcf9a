import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isSignatureFile, requiredSignedFiles, safeDistPath } from '../../../pipeline/sign/release-files.ts';
import { isSignatureFile as fromIndex } from '../../../pipeline/sign/index.ts';
import { parseSidecar, parseSums } from '../../../pipeline/sign/checksums.ts';
import { makeManifest } from './fixture-manifest.ts';
import { signingOutputs } from '../../../pipeline/sign/sign-dist.ts';

test('isSignatureFile: only .sig and .sigstore.json (SBOM and provenance are reproducible)', () => {
  assert.is(fromIndex, isSignatureFile);
  for (const n of ['a.tar.gz.sig', 'SHA256SUMS.sig', 'sub/dir/x.sigstore.json']) assert.ok(isSignatureFile(n), n);
  for (const n of ['sbom.spdx.json', 'provenance.intoto.jsonl', 'SHA256SUMS', 'a.sha256', 'manifest.json', 'RELEASE_NOTES.md', 'x.signature']) {
    assert.not.ok(isSignatureFile(n), n);
  }
});

test('requiredSignedFiles: manifest artifacts + SHA256SUMS + manifest.json; unsafe paths refused', () => {
  const m = makeManifest('e'.repeat(40), [{ path: 'b.img', arch: 'amd64', kind: 'raw', size: 1, sha256: '0'.repeat(64) }]);
  assert.equal(requiredSignedFiles(m), ['SHA256SUMS', 'b.img', 'manifest.json']);
  for (const bad of ['../x', '/etc/passwd', 'a/../../b', 'a\\b', './a', '']) assert.throws(() => safeDistPath(bad), /unsafe/, bad);
  assert.is(safeDistPath('sub/a.tar.gz'), 'sub/a.tar.gz');
});

test('parseSums reads sha256sum text and binary lines; parseSidecar takes a digest or a sums line', () => {
  const h = 'ab'.repeat(32);
  assert.equal(parseSums(`${h}  a.tar.gz\n${h.toUpperCase()} *b c.img\n\n`), [
    { sha256: h, path: 'a.tar.gz' },
    { sha256: h, path: 'b c.img' },
  ]);
  assert.throws(() => parseSums('deadbeef  a\n'), /line 1/);
  assert.is(parseSidecar(`${h}  a.tar.gz\n`), h);
  assert.is(parseSidecar(h), h);
  assert.throws(() => parseSidecar('nope'), /digest/);
});

test('signingOutputs: what a signing run may replace, and nothing a build or a stranger writes', () => {
  const m = makeManifest('e'.repeat(40), [{ path: 'b.img', arch: 'amd64', kind: 'raw', size: 1, sha256: '0'.repeat(64) }]);
  const out = signingOutputs(m);
  for (const f of [
    'provenance.intoto.jsonl',
    'sbom.spdx.json',
    'RELEASE_NOTES.md',
    'b.img.sig',
    'b.img.sigstore.json',
    'SHA256SUMS.sig',
    'manifest.json.sigstore.json',
    'sbom.spdx.json.sig',
    'RELEASE_NOTES.md.sigstore.json',
  ])
    assert.ok(out.has(f), f);
  for (const f of [
    'b.img',
    'b.img.sha256',
    'SHA256SUMS',
    'manifest.json',
    'install-me.sh.sig',
    'b.img.sha256.sig',
    'provenance.intoto.jsonl.sig',
    'b.img.sig.sig',
  ]) {
    assert.not.ok(out.has(f), f);
  }
});

test.run();
