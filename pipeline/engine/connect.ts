// The one place a Docker client is created (testcontainers-node's
// container-runtime/clients/client.ts): the local engine from the
// environment (DOCKER_HOST, else the local socket), or a builder's endpoint
// as engine/builders.ts resolved it. Everything else receives an Engine.
import Docker from 'dockerode';
import { DockerEngine } from './docker.ts';
import { currentOwner } from '../util/owner.ts';

/** `options`: a resolved builder endpoint (engine/builders.ts); none: the local engine. `name` is how messages call it. */
export function connectEngine(o: { options?: object; name?: string } = {}): DockerEngine {
  return new DockerEngine(new Docker(o.options as Docker.DockerOptions | undefined), currentOwner(), o.name);
}
