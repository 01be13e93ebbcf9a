// The depth check (json-bounded.ts) stops nested arrays, but a flat one still
// costs: 32 MB of `{},` parses into 11 million objects, 1 GB RSS and 9 s.
// This counts the values a JSON text would create, in one linear pass with a
// counter, so a reader can refuse before JSON.parse allocates anything.
import { OsforgeError } from '../errors.ts';

/** Throws LIMIT_EXCEEDED when `text` holds more than `maxValues` values (each `{`, `[` and `,` outside strings starts one). */
export function assertJsonValueCount(text: string, what: string, maxValues: number, hint: string): void {
  let values = 1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if ((c === 0x2c || c === 0x5b || c === 0x7b) && ++values > maxValues) {
      throw new OsforgeError('LIMIT_EXCEEDED', `${what} holds more than ${maxValues} JSON values; refused before parsing`, { hint });
    }
  }
}
