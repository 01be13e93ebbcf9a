// Makes the "new machine" image for the fresh-host rehearsal the way osforge
// makes every base image (mmdebstrap minbase from the host's apt mirror,
// loaded as a docker-archive we write), and prints its reference. It holds
// only what a new machine of our kind has before setup: make, git and CA
// certificates; Node and the Docker client are bind-mounted from the host,
// since the machine kind ships them.
import { loadPlan } from '../../pipeline/plan/load.ts';
import { paths } from '../../pipeline/paths.ts';
import { resolveBase } from '../../pipeline/steps/base.ts';
import { connectEngine } from '../../pipeline/engine/connect.ts';

const plan = loadPlan(paths.images);
const engine = connectEngine();
await engine.ping();
const spec = {
  name: 'fresh-host',
  suite: plan.base.suite,
  variant: 'minbase',
  include: ['make', 'git', 'ca-certificates', 'procps'],
  pins: {},
  pull: {},
  sourceDateEpoch: plan.base.sourceDateEpoch,
};
const image = await resolveBase(engine, spec, 'amd64', (l) => process.stderr.write(`bare image: ${l}\n`));
process.stdout.write(`${image.ref}\n`);
