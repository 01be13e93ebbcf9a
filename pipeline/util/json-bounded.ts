// JSON from outside (a mirror index, TUF metadata, a cache entry's meta.json,
// a tools-cache index) is size-capped by its reader, but JSON.parse of a few
// MB of nested arrays still costs gigabytes, and so does a flat one: 32 MB of
// `{},` parses into 11 million objects, 1 GB RSS and 9 s. So the nesting
// depth (and, where asked, the number of values) is checked first, in one
// linear pass that keeps nothing but two counters.
import { OsforgeError } from '../errors.ts';

export const DEFAULT_MAX_JSON_DEPTH = 64;

interface Shape {
  maxDepth: number;
  maxValues?: number;
  valuesHint?: string;
}

function assertJsonShape(text: string, what: string, { maxDepth, maxValues = Infinity, valuesHint }: Shape): void {
  let depth = 0;
  let values = 1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) {
        throw new OsforgeError('LIMIT_EXCEEDED', `${what} nests deeper than ${maxDepth} levels; refused before parsing`, {
          hint: 'the file is not what osforge writes: check where it came from',
        });
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
    // Each `{`, `[` and `,` outside strings starts one more value.
    if ((c === 0x2c || c === 0x5b || c === 0x7b) && ++values > maxValues) {
      throw new OsforgeError('LIMIT_EXCEEDED', `${what} holds more than ${maxValues} JSON values; refused before parsing`, {
        hint: valuesHint ?? 'the file is not what osforge writes: check where it came from',
      });
    }
  }
}

/** Throws LIMIT_EXCEEDED when `text` nests objects/arrays deeper than `maxDepth` (strings are skipped). */
export function assertJsonDepth(text: string, what: string, maxDepth = DEFAULT_MAX_JSON_DEPTH): void {
  assertJsonShape(text, what, { maxDepth });
}

/** Throws LIMIT_EXCEEDED when `text` nests deeper than the default depth or holds more than `maxValues` values. */
export function assertJsonValueCount(text: string, what: string, maxValues: number, hint: string): void {
  assertJsonShape(text, what, { maxDepth: DEFAULT_MAX_JSON_DEPTH, maxValues, valuesHint: hint });
}

/** JSON.parse after the depth check; a syntax error names `what`. */
export function parseJsonBounded(text: string, what: string, maxDepth = DEFAULT_MAX_JSON_DEPTH): unknown {
  assertJsonDepth(text, what, maxDepth);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new OsforgeError('CONFIG_INVALID', `${what} is not valid JSON: ${(err as Error).message}`, {}, { cause: err });
  }
}
