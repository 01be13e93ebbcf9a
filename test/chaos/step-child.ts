// A stand-in orchestrator for kill tests: runs one step through Engine.run
// (argv: image, shell command, run id, [platform]) and prints its output.
// Tests SIGKILL this process and then look for the step's container.
import { LABEL_RUN, LABEL_STAGE } from '../../pipeline/engine/docker.ts';
import { connectEngine } from '../../pipeline/engine/connect.ts';

const [image, script, runId, platform] = process.argv.slice(2);
const engine = connectEngine();
const res = await engine.run({
  image: image!,
  cmd: ['sh', '-c', script!],
  network: 'none',
  labels: { [LABEL_RUN]: runId!, [LABEL_STAGE]: 'kill-test' },
  ...(platform ? { platform: platform as 'arm64' } : {}),
  onLog: (l) => process.stdout.write(`${l}\n`),
});
process.stdout.write(`exit=${res.exitCode}\n`);
