/**
 * Small helpers over `node:util` parseArgs so every command parses flags the same way and
 * reports bad usage with a clear message naming the flag.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ValidationError } from '../errors.js';

/** Thrown for bad command-line usage; the CLI exits with code 2. */
export class UsageError extends ValidationError {}

/** Option definitions as accepted by parseArgs. */
export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** Parses `argv` (without the command words) against `options`; unknown flags are usage errors. */
export function parse(
  command: string,
  argv: string[],
  options: OptionSpec,
): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: values as Record<string, string | boolean | string[] | undefined>, positionals };
  } catch (e) {
    throw new UsageError(`cli: ${command}: ${(e as Error).message}`);
  }
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
