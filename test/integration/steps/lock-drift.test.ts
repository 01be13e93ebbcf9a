import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mmdebstrap, resolveBase } from '../../../pipeline/steps/base.ts';
import { OsforgeError } from '../../../pipeline/errors.ts';
import { engine, plan } from '../fixtures.ts';

const t = suite('lock drift (real mmdebstrap)');

t('a locked version that is not on the mirror stops the build and says which', async () => {
  const drifted = { ...plan.base, name: 'drift-test', pins: { amd64: [...(plan.base.pins.amd64 ?? ['ca-certificates']), 'make=0.0-gone-from-mirror'] } };
  try {
    await resolveBase(engine, drifted, 'amd64', () => undefined);
    assert.unreachable('bootstrapping a missing version must fail');
  } catch (err) {
    assert.instance(err, OsforgeError);
    assert.match((err as Error).message, /no longer on the mirror .*: make=0\.0-gone-from-mirror/);
    assert.match((err as OsforgeError).context.hint ?? '', /osforge lock/);
  }
});

t('a failing mmdebstrap puts its E: line into the message, not only the exit code', async () => {
  const spec = { ...plan.base, name: 'no-suite-test', suite: 'osforge-no-such-suite', pins: {} };
  try {
    await mmdebstrap(spec, 'amd64', '/tmp/osforge-no-such-suite.tar', () => undefined);
    assert.unreachable('a suite the mirror lacks must fail');
  } catch (err) {
    assert.instance(err, OsforgeError);
    assert.match((err as Error).message, /^mmdebstrap exited with \d+: E: .*osforge-no-such-suite/);
  }
});

t.run();
