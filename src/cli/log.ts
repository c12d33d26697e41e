/**
 * The log of the long-running commands (`floe run`, `floe catalog serve`): levels, the two line
 * formats and the one logger both use.
 *
 * A line written to a terminal is text for a person (`12:00:01 info  msg {fields}`); a line written
 * to a pipe or a file is one JSON object (`ts`, `level`, `msg`, then the line's own fields at the
 * top level), the shape log collectors (CloudWatch Logs Insights, Loki, jq) read without a parser
 * of ours. `FLOE_LOG_FORMAT=json|text` forces one. `--log-level` / `FLOE_LOG_LEVEL` drop lines
 * below a level; debug lines are off by default.
 */
import { UsageError } from './args.js';
import type { FlagSpecs } from './help.js';

/** The levels, least severe first. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** A log line's level. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** How a line is written: one JSON object, or text for a terminal. */
export type LogFormat = 'json' | 'text';

/** The level below which lines are dropped when neither the flag nor the variable says. */
export const DEFAULT_LOG_LEVEL: LogLevel = 'info';

/**
 * The keys every JSON line has, in this order. A line's field with one of these names is written
 * as `_<name>` so that it never hides them.
 */
export const LOG_KEYS = ['ts', 'level', 'msg'] as const;

/** `--log-level`, for every long-running command. */
export const LOG_FLAGS: FlagSpecs = {
  'log-level': {
    type: 'string',
    value: 'LEVEL',
    help:
      'the least severe lines logged: debug, info, warn or error (default FLOE_LOG_LEVEL, else info: no debug lines). ' +
      'Lines are JSON objects off a terminal, text on one (FLOE_LOG_FORMAT=json|text forces)',
  },
};

/** The log settings of one command. */
export interface LogSettings {
  level: LogLevel;
  /** The format forced by `FLOE_LOG_FORMAT`; undefined: by the stream (text on a terminal). */
  format: LogFormat | undefined;
}

function parseLevel(text: string, what: string): LogLevel {
  const v = text.trim().toLowerCase();
  if ((LOG_LEVELS as readonly string[]).includes(v)) return v as LogLevel;
  throw new UsageError(`cli: ${what}: expected debug, info, warn or error, got ${JSON.stringify(text)}`);
}

/**
 * `FLOE_LOG_FORMAT` when set to a valid value, else undefined (never throws: the fatal error of a
 * command that refused the variable is written whatever it says).
 */
export function forcedLogFormat(env: NodeJS.ProcessEnv): LogFormat | undefined {
  const v = env.FLOE_LOG_FORMAT?.trim().toLowerCase();
  return v === 'json' || v === 'text' ? v : undefined;
}

/**
 * The log settings from `--log-level` (wins), `FLOE_LOG_LEVEL` and `FLOE_LOG_FORMAT`. A bad value is
 * a usage error naming the flag or the variable; commands call this before any work.
 */
export function logSettings(values: Record<string, unknown>, env: NodeJS.ProcessEnv): LogSettings {
  const flag = values['log-level'];
  const fromEnv = env.FLOE_LOG_LEVEL;
  let level = DEFAULT_LOG_LEVEL;
  if (typeof flag === 'string') level = parseLevel(flag, '--log-level');
  else if (fromEnv !== undefined && fromEnv.trim() !== '') level = parseLevel(fromEnv, 'FLOE_LOG_LEVEL');
  const format = env.FLOE_LOG_FORMAT;
  if (format !== undefined && format.trim() !== '' && forcedLogFormat(env) === undefined) {
    throw new UsageError(`cli: FLOE_LOG_FORMAT: expected json or text, got ${JSON.stringify(format)}`);
  }
  return { level, format: forcedLogFormat(env) };
}

/** The format of lines written to a stream: the forced one, else text on a terminal only. */
export function formatFor(forced: LogFormat | undefined, isTerminal: boolean): LogFormat {
  return forced ?? (isTerminal ? 'text' : 'json');
}

/** True when a line of `level` passes the threshold `min`. */
export function levelEnabled(level: LogLevel, min: LogLevel): boolean {
  return LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(min);
}

/** Field values as JSON has them: bigint as its decimal text, an Error as its message. */
function jsonValue(_key: string, v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Error) return v.message;
  return v;
}

/**
 * One log line, newline included. JSON: `{"ts","level","msg",...fields}` on one line (newlines
 * inside values escaped, so a stack trace never splits a line). Text: `HH:MM:SS level msg` and
 * the fields as JSON when there are any.
 */
export function formatLogLine(format: LogFormat, level: LogLevel, msg: string, fields: Readonly<Record<string, unknown>> = {}, time: Date = new Date()): string {
  if (format === 'json') {
    const out: Record<string, unknown> = { ts: time.toISOString(), level, msg };
    for (const [k, v] of Object.entries(fields)) out[(LOG_KEYS as readonly string[]).includes(k) ? `_${k}` : k] = v;
    return JSON.stringify(out, jsonValue) + '\n';
  }
  const extra = Object.keys(fields).length > 0 ? ' ' + JSON.stringify(fields, jsonValue) : '';
  return `${time.toISOString().slice(11, 19)} ${level.padEnd(5)} ${msg}${extra}\n`;
}

/** Where a logger writes and how. */
export interface LoggerOptions {
  /** Lines below this level are dropped. */
  level: LogLevel;
  format: LogFormat;
  write: (text: string) => void;
  /** Called before each line is written (e.g. to clear a status line drawn on a terminal). */
  beforeWrite?: () => void;
}

/** Writes log lines at or above its level in its format. */
export class Logger {
  constructor(readonly options: LoggerOptions) {}

  /** True when lines of `level` are written. */
  enabled(level: LogLevel): boolean {
    return levelEnabled(level, this.options.level);
  }

  /** Writes one line (dropped below the level). */
  log(level: LogLevel, msg: string, fields: Readonly<Record<string, unknown>> = {}): void {
    if (!this.enabled(level)) return;
    this.options.beforeWrite?.();
    this.options.write(formatLogLine(this.options.format, level, msg, fields));
  }
}

/**
 * The one line of a fatal error (the command's failure once running): `floe: <message>` as text,
 * or a JSON line of level `error` with the error's `code` (and `cause` with `debug`, the stack of
 * an unexpected error) so that a log collector finds it by level.
 */
export function fatalErrorLine(format: LogFormat, e: unknown, options: { expected: boolean; code?: string; debug?: boolean } = { expected: true }): string {
  const err = e instanceof Error ? e : new Error(String(e));
  const cause = options.debug && err.cause !== undefined ? String((err.cause as Error).stack ?? err.cause) : undefined;
  if (format === 'text') {
    if (!options.expected) return `floe: unexpected error: ${err.stack ?? err.message}\n`;
    return `floe: ${err.message}\n` + (cause !== undefined ? `cause: ${cause}\n` : '');
  }
  return formatLogLine('json', 'error', options.expected ? err.message : `unexpected error: ${err.message}`, {
    ...(options.code !== undefined ? { code: options.code } : {}),
    fatal: true,
    ...(!options.expected && err.stack ? { stack: err.stack } : {}),
    ...(cause !== undefined ? { cause } : {}),
  });
}
