import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildStatement, encodeStatement, SLSA_PROVENANCE_V1, STATEMENT_TYPE } from '../../../pipeline/sign/provenance.ts';
import { makeManifest } from './fixture-manifest.ts';

const m = makeManifest('d'.repeat(40), [{ path: 'x.tar.gz', arch: 'amd64', kind: 'rootfs', size: 1, sha256: '1'.repeat(64) }]);
const input = {
  manifest: m,
  subjects: [
    { path: 'x.tar.gz', sha256: '1'.repeat(64) },
    { path: 'SHA256SUMS', sha256: '2'.repeat(64) },
  ],
  configFiles: [
    { path: 'images/sources.json', sha256: '4'.repeat(64) },
    { path: 'images/buckos.json', sha256: '3'.repeat(64) },
  ],
  lockFile: { path: 'images/lock.json', sha256: '5'.repeat(64) },
};

type Pred = {
  buildDefinition: {
    buildType: string;
    externalParameters: Record<string, unknown>;
    resolvedDependencies: { name?: string; uri?: string; digest?: Record<string, string>; annotations?: Record<string, string> }[];
  };
  runDetails: { builder: { id: string } };
};

test('in-toto Statement v1 with SLSA provenance v1 predicate; subjects sorted with sha256', () => {
  const s = buildStatement(input);
  assert.is(s._type, STATEMENT_TYPE);
  assert.is(s.predicateType, SLSA_PROVENANCE_V1);
  assert.is(SLSA_PROVENANCE_V1, 'https://slsa.dev/provenance/v1');
  assert.equal(s.subject, [
    { name: 'SHA256SUMS', digest: { sha256: '2'.repeat(64) } },
    { name: 'x.tar.gz', digest: { sha256: '1'.repeat(64) } },
  ]);
});

test('buildDefinition: commit, config files, lock file; resolvedDependencies: sources, images, buck2', () => {
  const p = buildStatement(input).predicate as Pred;
  const ext = p.buildDefinition.externalParameters;
  assert.is(ext.commit, m.commit);
  assert.equal(ext.configuration, [
    { name: 'images/buckos.json', digest: { sha256: '3'.repeat(64) } },
    { name: 'images/sources.json', digest: { sha256: '4'.repeat(64) } },
  ]);
  assert.equal(ext.lockFile, { name: 'images/lock.json', digest: { sha256: '5'.repeat(64) } });
  const deps = p.buildDefinition.resolvedDependencies;
  assert.equal(deps.find((d) => d.name === 'source')?.digest, { gitCommit: m.commit });
  for (const s of m.sources) {
    const d = deps.find((x) => x.name === s.file);
    assert.equal(d?.digest, { sha256: s.sha256 });
    assert.is(d?.uri, s.urls[0]);
  }
  const img = (name: string) => deps.find((d) => d.name === name);
  assert.equal(img('base-image/amd64')?.digest, { sha256: m.images.base.amd64!.id.slice('sha256:'.length) });
  assert.equal(img('base-image/arm64')?.digest, { sha256: m.images.base.arm64!.id.slice('sha256:'.length) });
  assert.equal(img('tools-image')?.digest, { sha256: m.images.tools.id.slice('sha256:'.length) });
  assert.is(img('tools-image')?.annotations?.ref, m.images.tools.ref);
  assert.equal(img('builder-image')?.digest, { sha256: m.images.builder.id.slice('sha256:'.length) });
  assert.equal(img('buck2')?.digest, { sha256: m.buck2!.sha256 });
  assert.is(p.runDetails.builder.id, 'urn:osforge:builder:local');
  assert.is(
    (buildStatement({ ...input, builderId: 'https://ci.example.invalid/runner' }).predicate as Pred).runDetails.builder.id,
    'https://ci.example.invalid/runner',
  );
});

test('deterministic: same input gives the same bytes regardless of input order; no timestamps', () => {
  const a = encodeStatement(buildStatement(input));
  const b = encodeStatement(buildStatement({ ...input, subjects: [...input.subjects].reverse(), configFiles: [...input.configFiles].reverse() }));
  assert.ok(a.equals(b));
  assert.not.match(a.toString(), /startedOn|finishedOn|invocationId/);
  const noLock = buildStatement({ ...input, lockFile: undefined }).predicate as Pred;
  assert.is(noLock.buildDefinition.externalParameters.lockFile, undefined);
});

test.run();
