// Entry point: parses argv, dispatches, and turns errors into exit codes.
// Nothing else in osforge calls process.exit.
import { parseArgs } from 'node:util';
import { commands } from './commands/index.ts';
import { OsforgeError, formatError } from './errors.ts';

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'usage: osforge <command> [options]',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `osforge <command> --help` for the options of one command.',
    'Errors are one line plus a fix; exit 2 means a usage error, 1 any other failure.',
    'Set OSFORGE_DEBUG=1 to print the stack trace with an error.',
  ].join('\n');
}

/** parseArgs' messages name the flag in their first sentence; the rest is advice we give ourselves. */
function usageError(command: string, err: unknown): OsforgeError {
  const message = (err as Error).message.split(/\.\s+(?=To specify|This command)/)[0]!;
  return new OsforgeError('USAGE', `osforge ${command}: ${message}`, { hint: `see \`osforge ${command} --help\`` }, { cause: err });
}

/** The one place errors become output and exit codes: 2 for usage, 1 for everything else. */
function report(err: unknown, command?: string): number {
  if (err instanceof OsforgeError && err.code === 'USAGE' && !err.context.hint && command) {
    err = new OsforgeError('USAGE', err.message, { ...err.context, hint: `see \`osforge ${command} --help\`` }, { cause: err });
  }
  process.stderr.write(formatError(err) + '\n');
  return err instanceof OsforgeError && err.code === 'USAGE' ? 2 : 1;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name ? 0 : 2;
  }
  const entry = commands.find((c) => c.name === name);
  if (!entry) {
    return report(
      new OsforgeError('USAGE', `unknown command ${JSON.stringify(name)}`, {
        hint: `the commands are: ${commands.map((c) => c.name).join(', ')} (\`osforge --help\` describes them)`,
      }),
    );
  }
  const command = await entry.load();
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: command.positionals ?? false,
      strict: true,
    });
  } catch (err) {
    return report(usageError(name, err));
  }
  // An empty value is never meant: resolve('') is the current directory, so
  // `--prefix ""` or `--output-key-prefix=` would silently act on it.
  for (const [opt, v] of Object.entries(parsed.values)) {
    for (const one of Array.isArray(v) ? v : [v]) {
      if (typeof one === 'string' && one.trim() === '') return report(new OsforgeError('USAGE', `osforge ${name}: option '--${opt}' is empty`), name);
    }
  }
  if (parsed.positionals.some((p) => p.trim() === '')) return report(new OsforgeError('USAGE', `osforge ${name}: an argument is empty`), name);
  if (parsed.values.help) {
    process.stdout.write(command.help + '\n');
    return 0;
  }
  try {
    const code = await command.run(parsed.values, parsed.positionals);
    return code ?? 0;
  } catch (err) {
    return report(err, name);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.exitCode = report(err);
  },
);
