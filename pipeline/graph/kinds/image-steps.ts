// The image steps (per arch and image set, one per outputs/images/steps.ts
// entry: prepare, iso, raw, qcow2): each runs an imager script over the
// rootfs, kernel and GRUB, and the outputs of the steps it needs. Named
// inputs: the step, the arch, the imager and its scripts, the rootfs, GRUB
// and kernel keys, the set's name, the version, the epoch, the needed steps.
// Ships the boot artifacts (outputs/images/index.ts), tagged with the profile.
import { imageSteps } from '../../outputs/images/steps.ts';
import { bootArtifacts, stepContext } from '../../outputs/images/index.ts';
import { imageStep } from '../../steps/image-step.ts';
import { node, type StageNode } from '../keys.ts';
import { ref, type Outputs } from '../stage.ts';
import { cached, result, sizeOf, type ForSet, type StageKind } from './kind.ts';
import { imagerNode, imagerOut, imagerScriptsKey } from './imager.ts';
import { kernelOut } from './kernel.ts';
import { grubOut } from './grub.ts';
import { rootfsNode, rootfsOut } from './rootfs.ts';
import { profileTag } from './rootfs-formats.ts';

/** The output directory of image step `step`. */
export const imageStepOut = (c: ForSet, step: string) => ref<string>(`image/${c.arch}${c.sfx}/${step}`);

/** What a step's script reads (outputs/images/index.ts), given the steps it needs. */
const contextFor = (c: ForSet, deps: Outputs, needs: readonly string[]) =>
  stepContext({
    name: c.setName,
    version: c.plan.version,
    arch: c.arch,
    grub: deps.get(grubOut(c)),
    kernel: deps.get(kernelOut(c)),
    rootfs: deps.get(rootfsOut(c)),
    imager: deps.get(imagerOut),
    outputs: new Map(needs.map((n) => [n, deps.get(imageStepOut(c, n))])),
  });

export const imageStepsKind: StageKind = {
  name: 'image-steps',
  scope: 'set',
  expand(c) {
    const { plan, arch, label, nodes, sde } = c;
    const imager = imagerNode(c);
    const scripts = imagerScriptsKey(c);
    const rootfs = rootfsNode(c);
    const stepNodes = new Map<string, StageNode>();
    for (const [step, spec] of Object.entries(imageSteps)) {
      const out = imageStepOut(c, step);
      // node() keys by the id's first segment, so the step and arch must be inputs: iso and raw share everything else.
      const n = node(out.id, [
        ['step', step],
        ['arch', arch],
        ['imager', imager.key],
        ['scripts', scripts],
        ['rootfs', rootfs.key],
        ['grub', nodes.grub.key],
        ['kernel', nodes.kernel.key],
        ['name', c.setName],
        ['version', plan.version],
        ['source-date-epoch', sde],
        ...spec.needs.map((need): [string, string] => [`step:${need}`, stepNodes.get(need)!.key]),
      ]);
      stepNodes.set(step, n);
      c.add(out, {
        ...n,
        deps: [rootfs.id, nodes.grub.id, nodes.kernel.id, imager.id, ...spec.needs.map((need) => imageStepOut(c, need).id)],
        title: `image ${arch}${label}: ${step}`,
        cost: 60,
        storeKey: n.key,
        present: async (p) => p.store.has(n.key),
        run: async (env, deps) => {
          const e = await imageStep({
            store: env.store,
            key: n.key,
            engine: env.engine,
            imager: deps.get(imagerOut),
            step,
            ctx: contextFor(c, deps, spec.needs),
            runId: env.runId,
            logDir: env.logDir,
            sourceDateEpoch: Number(sde),
          });
          return result(e.path, e.hit, `image ${arch}${label}: ${step}${cached(e.hit)}`, await sizeOf(e.path));
        },
      });
    }
    c.ship(async (_env, deps, parts) => {
      parts.artifacts.push(...(await bootArtifacts(contextFor(c, deps, Object.keys(imageSteps)), c.set.profile)).map(profileTag(c)));
    });
  },
};
