// Where the key password comes from: $COSIGN_PASSWORD (as cosign does; an
// empty value counts as set) or, on a terminal, a prompt that does not echo.
import { OsforgeError } from '../errors.ts';
import { settings } from '../settings.ts';

export const PASSWORD_ENV = 'COSIGN_PASSWORD';

export interface PasswordRequest {
  /** Shown in the prompt and in errors, e.g. "cosign.key". */
  keyPath: string;
  /** Ask twice and require a match (key generation). */
  confirm: boolean;
  env?: NodeJS.ProcessEnv;
  input?: NodeJS.ReadStream;
  output?: NodeJS.WriteStream;
}

export async function readPassword(req: PasswordRequest): Promise<string> {
  const fromEnv = settings(req.env).cosign.password;
  if (fromEnv !== undefined) return fromEnv;
  const input = req.input ?? process.stdin;
  const output = req.output ?? process.stderr;
  if (!input.isTTY) {
    throw new OsforgeError('CONFIG_INVALID', `no password for ${req.keyPath}: ${PASSWORD_ENV} is not set and stdin is not a terminal`, {
      hint: `export ${PASSWORD_ENV}=... (the password of ${req.keyPath})`,
    });
  }
  const first = await promptHidden(`Enter password for private key ${req.keyPath}: `, input, output);
  if (!req.confirm) return first;
  const second = await promptHidden(`Enter password for private key ${req.keyPath} again: `, input, output);
  if (first !== second) throw new OsforgeError('USAGE', 'passwords do not match');
  return first;
}

/** Reads one line from a TTY in raw mode, echoing nothing. Ctrl-C aborts. */
export function promptHidden(question: string, input: NodeJS.ReadStream, output: NodeJS.WriteStream): Promise<string> {
  output.write(question);
  const wasRaw = input.isRaw;
  input.setRawMode(true);
  input.resume();
  return new Promise((resolve, reject) => {
    let buf = '';
    const finish = (err: Error | null) => {
      input.off('data', onData);
      input.setRawMode(wasRaw);
      input.pause();
      output.write('\n');
      if (err) reject(err);
      else resolve(buf);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish(null);
        if (ch === '\u0003') return finish(new OsforgeError('INTERRUPTED', 'password prompt interrupted'));
        if (ch === '\u007f' || ch === '\b') buf = [...buf].slice(0, -1).join('');
        else buf += ch;
      }
    };
    input.on('data', onData);
  });
}
