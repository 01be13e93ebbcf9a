import type { ParseArgsConfig } from 'node:util';

/** One subcommand. cli.ts parses argv with `options` and is the only place that exits. */
export interface Command {
  name: string;
  summary: string;
  /** Full help text, printed by `osforge <name> --help`. Must describe every option truthfully. */
  help: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** Whether positional arguments are accepted. */
  positionals?: boolean;
  run(values: Record<string, string | boolean | string[] | boolean[] | undefined>, positionals: string[]): Promise<number | void>;
}
