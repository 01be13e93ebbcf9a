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
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name ? 0 : 2;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`osforge: unknown command ${JSON.stringify(name)}\n\n${usage()}\n`);
    return 2;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: command.positionals ?? false,
      strict: true,
    });
  } catch (err) {
    process.stderr.write(`osforge ${name}: ${(err as Error).message}\n\n${command.help}\n`);
    return 2;
  }
  if (parsed.values.help) {
    process.stdout.write(command.help + '\n');
    return 0;
  }
  const code = await command.run(parsed.values, parsed.positionals);
  return code ?? 0;
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    process.stderr.write(formatError(err) + '\n');
    process.exitCode = err instanceof OsforgeError && err.code === 'USAGE' ? 2 : 1;
  },
);
