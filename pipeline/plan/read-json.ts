// Reads one JSON file of images/, or fails in one line naming the file and
// what to do. Shared by the plan loader and the profiles.
import { readFileSync } from 'node:fs';
import { OsforgeError } from '../errors.ts';

/** `missing`: why the file is wanted and what to do without it (default: restore images/). */
export function readJson(file: string, missing?: { why: string; hint: string }): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new OsforgeError(
      'CONFIG_INVALID',
      `${file}: ${code === 'ENOENT' ? `file not found${missing ? ` (${missing.why})` : ''}` : `cannot read (${code ?? (err as Error).message})`}`,
      {
        hint: missing?.hint ?? 'restore it (git checkout images/), or point $OSFORGE_IMAGES at a complete images directory',
      },
    );
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new OsforgeError('CONFIG_INVALID', `${file}: not valid JSON (${(err as Error).message.split('\n')[0]})`, { hint: `edit ${file}` });
  }
}
