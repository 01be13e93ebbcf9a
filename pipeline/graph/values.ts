// What the bootstrap stages hand their dependents (the other kinds' values are
// their steps' own types): a module of its own so the kinds, compile.ts and
// the tests share them without importing a kind.
import type { PackageMeta, Stage1Meta } from '../steps/bootstrap.ts';

export interface PackageValue {
  meta: PackageMeta;
  path: string;
  key: string;
}
export interface Stage1Value {
  meta: Stage1Meta;
  path: string;
}
