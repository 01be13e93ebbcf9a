import * as assert from 'uvu/assert';

/** uvu has no assert.rejects: awaits `fn`, requires it to throw, and checks the error class or message. */
export async function rejects(fn: () => Promise<unknown>, expected: (new (...a: never[]) => Error) | RegExp): Promise<Error> {
  try {
    await fn();
  } catch (err) {
    if (expected instanceof RegExp) assert.match((err as Error).message, expected);
    else assert.instance(err, expected);
    return err as Error;
  }
  assert.unreachable('expected a rejection');
  throw new Error('unreachable');
}
