/**
 * Small helpers over `node:util` parseArgs so every command parses flags the same way and
 * reports bad usage with a clear message naming the flag.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ValidationError } from '../errors.js';
import { optionsOf, type CommandSpec, type FlagSpecs } from './help.js';

/** Thrown for bad command-line usage; the CLI exits with code 2. */
export class UsageError extends ValidationError {}

/** Option definitions as accepted by parseArgs. */
export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/**
 * Parses `argv` (without the command words) against the flags of `spec`; unknown flags are usage
 * errors naming the flag and pointing to `floe <command> --help`. With `siblings` (the other
 * subcommands of a group), a sibling's flag is named as not applying to this subcommand.
 */
export function parse(
  spec: Pick<CommandSpec, 'name' | 'flags'>,
  argv: string[],
  siblings: readonly Pick<CommandSpec, 'flags'>[] = [],
): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } {
  const hint = `'floe ${spec.name} --help' lists its options`;
  const accepted: FlagSpecs = {};
  for (const s of siblings) Object.assign(accepted, s.flags);
  Object.assign(accepted, spec.flags);
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: optionsOf(accepted), allowPositionals: true, strict: true });
  } catch (e) {
    const message = (e as Error).message;
    // Node's advice about '--' is about positionals; a mistyped flag is the usual cause.
    const unknown = /^Unknown option '([^']+)'/.exec(message);
    throw new UsageError(`cli: ${spec.name}: ${unknown ? `Unknown option '${unknown[1]}'` : message} (${hint})`);
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  const sub = spec.name.split(' ').pop();
  for (const flag of Object.keys(values)) {
    if (!(flag in spec.flags)) throw new UsageError(`cli: ${spec.name}: --${flag} does not apply to ${sub} (${hint})`);
  }
  return { values, positionals: parsed.positionals };
}

/** Reads a string flag. */
export function str(values: Record<string, unknown>, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** Reads a repeatable string flag. */
export function list(values: Record<string, unknown>, name: string): string[] {
  const v = values[name];
  if (Array.isArray(v)) return v.map(String);
  if (typeof v === 'string') return [v];
  return [];
}

/** Splits `A=B` pairs (e.g. `--table NAME=LOCATION`), naming the flag in errors. */
export function pairs(flag: string, items: string[]): [string, string][] {
  return items.map((item) => {
    const i = item.indexOf('=');
    if (i <= 0 || i === item.length - 1) {
      throw new UsageError(`cli: ${flag} expects NAME=VALUE, got '${item}'`);
    }
    return [item.slice(0, i), item.slice(i + 1)];
  });
}
