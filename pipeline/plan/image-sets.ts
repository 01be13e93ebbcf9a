// How an image set (plan/profiles.ts) names its stages and artifacts. The
// default set keeps the plain names (<name>-<version>-<arch>-..., rootfs/<arch>),
// so a tree without profiles builds exactly what it built before; a profile's
// set is <name>-<profile>-<version>-... and rootfs/<arch>/<profile>.
import type { ImageSet, Plan } from './types.ts';

export const setArtifactName = (plan: Pick<Plan, 'name'>, set: ImageSet) => (set.profile ? `${plan.name}-${set.profile}` : plan.name);

/** The stage-id suffix of the set's rootfs and image steps. */
export const setIdSuffix = (set: ImageSet) => (set.profile ? `/${set.profile}` : '');

export const setLabel = (set: ImageSet) => (set.profile ? `profile ${set.profile}` : 'default set');
