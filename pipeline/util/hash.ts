import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Cache key over an ordered list of inputs. Parts are NUL-separated so that
 * ("ab","c") and ("a","bc") never collide (the trick Dagger's hashutil uses).
 */
export function keyOf(parts: readonly string[]): string {
  const h = createHash('sha256');
  for (const p of parts) {
    if (p.includes('\0')) throw new Error(`cache key part contains NUL: ${JSON.stringify(p.slice(0, 40))}`);
    h.update(p).update('\0');
  }
  return h.digest('hex');
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}
