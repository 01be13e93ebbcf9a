// What the stage2 and stage1 stages hand their dependents (and dist/'s
// assembly): a module of its own so compile.ts and assemble-dist.ts share
// the types without importing each other.
import type { PackageMeta, Stage1Meta } from '../steps/bootstrap.ts';

export interface PackageValue { meta: PackageMeta; path: string; key: string }
export interface Stage1Value { meta: Stage1Meta; path: string }
