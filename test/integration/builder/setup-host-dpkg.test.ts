// builder/setup-host.sh survives an interrupted install: in a container from
// the local Debian base image, dpkg is really interrupted (a package whose
// postinst kills dpkg, as a Ctrl-C would, leaving it half-configured with
// journal entries in /var/lib/dpkg/updates/), apt is shown to refuse, then
// setup's own apt_install (the script sourced, as it runs) must notice, run
// `dpkg --configure -a` once, say so, and install from a local file: repo
// (the steps are in interrupted-dpkg.sh).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LABEL_RUN } from '../../../pipeline/engine/engine.ts';
import { packEntries } from '../../../pipeline/util/tar.ts';
import { repoRoot } from '../../../pipeline/paths.ts';
import { engine, base, runId } from '../fixtures.ts';

const t = suite('setup-host.sh: an interrupted dpkg (real dpkg in a Debian container)');
t.after(async () => {
  await engine.removeByLabel(`${LABEL_RUN}=${runId}`).catch(() => undefined);
});

const script = readFileSync(join(import.meta.dirname, 'interrupted-dpkg.sh'));

t('an interrupted dpkg is repaired once, said so, and the install goes on; a clean dpkg is left alone', async () => {
  const b = await base('amd64');
  const lines: string[] = [];
  const inputs = await packEntries(
    [
      { path: 'osforge/builder/setup-host.sh', type: 'file', mode: 0o755, data: readFileSync(join(repoRoot, 'builder/setup-host.sh')) },
      { path: 'osforge/test.sh', type: 'file', mode: 0o755, data: script },
    ],
    0,
  );
  const r = await engine.run({
    image: b.ref,
    cmd: ['bash', '/osforge/test.sh'],
    network: 'none',
    labels: { [LABEL_RUN]: runId },
    platform: 'amd64',
    inputs: [{ dir: '/', tar: inputs }],
    onLog: (l) => lines.push(l),
  });
  const out = lines.join('\n');
  assert.is(r.exitCode, 0, out);
  // The state is the real one a Ctrl-C leaves, and apt refuses in it, as every later setup did.
  assert.match(out, /STATE: install ok half-configured/, out);
  assert.match(out, /APT: refused: dpkg was interrupted/, out);
  const setup = out.slice(out.indexOf('--- setup'), out.indexOf('--- after'));
  assert.match(setup, /^setup: dpkg was interrupted \(an earlier apt-get or dpkg run was stopped\); running dpkg --configure -a once$/m, out);
  assert.is(setup.match(/running dpkg --configure -a/g)?.length, 1, 'once');
  assert.match(setup, /SETUP-RC=0/, out);
  assert.match(out, /PROBE: install ok installed/);
  assert.match(out, /CRASH: install ok installed/, 'the interrupted package was configured');
  assert.match(out, /AUDIT: \[\]/);
  assert.match(out, /APT-AFTER: works/);
  const again = out.slice(out.indexOf('--- setup again'));
  assert.match(again, /SETUP2-RC=0/, out);
  assert.not.match(again, /dpkg was interrupted/, 'a clean dpkg is not "repaired"');
});

t.run();
