// The vocabulary of a stage key: a stage's stable id and the *named* inputs
// its key is a sha256 over (NUL-separated, util/hash.ts keyOf), so
// `osforge explain` and the journal can say which input changed. A leaf
// (model/): graph/ computes keys with it, cache/ records them, steps/ read them.
import { keyOf } from '../util/hash.ts';

export type Inputs = [name: string, value: string][];

export interface StageNode {
  /** Stable identity across builds, e.g. "stage2/amd64/zlib". */
  id: string;
  key: string;
  inputs: Inputs;
}

export function node(id: string, inputs: Inputs): StageNode {
  return { id, inputs, key: keyOf([id.replace(/\/.*$/, ''), ...inputs.map(([n, v]) => `${n}=${v}`)]) };
}

/** A source is identified by its pins, not by which location served it. */
export function sourcePin(spec: { sha256: string; debian?: { sha256?: string } }): string {
  return spec.debian?.sha256 ? `${spec.sha256}+debian:${spec.debian.sha256}` : spec.sha256;
}
