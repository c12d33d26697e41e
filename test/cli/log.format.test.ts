/**
 * The log of the long-running commands (`cli/log.ts`, `RunReporter`): levels, the JSON and text
 * formats, the settings from `--log-level` / `FLOE_LOG_LEVEL` / `FLOE_LOG_FORMAT`, the fatal line,
 * and the status line only on a terminal. The terminal case is tested here on the functions (a
 * process test has pipes, never a terminal); `run.logs.test.ts` runs the processes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../../src/cli/args.js';
import { RunReporter } from '../../src/cli/commands/run.js';
import type { CommandIO } from '../../src/cli/io.js';
import { fatalErrorLine, formatFor, formatLogLine, Logger, logSettings } from '../../src/cli/log.js';
import { ValidationError } from '../../src/errors.js';
import type { PipelineStats } from '../../src/pipeline/pipeline.js';

const T = new Date('2026-12-07T06:01:02.345Z');

test('JSON line: ts, level, msg first, then the fields at the top level; bigint as text; one line whatever the values', () => {
  const line = formatLogLine('json', 'warn', 'commit: catalog unavailable', { snapshotId: 2n ** 63n - 1n, error: 'a\nb', table: 'db.t' }, T);
  assert.ok(line.endsWith('}\n'));
  assert.equal(line.split('\n').length, 2, 'a newline inside a value is escaped');
  assert.equal(line.slice(0, line.indexOf(',"msg"')), '{"ts":"2026-12-07T06:01:02.345Z","level":"warn"');
  assert.deepEqual(JSON.parse(line), {
    ts: '2026-12-07T06:01:02.345Z',
    level: 'warn',
    msg: 'commit: catalog unavailable',
    snapshotId: '9223372036854775807',
    error: 'a\nb',
    table: 'db.t',
  });
});

test('JSON line: a field named ts, level or msg never hides the line\'s own (written as _ts, _level, _msg)', () => {
  const o = JSON.parse(formatLogLine('json', 'info', 'real', { level: 'fake', msg: 'fake', ts: 'fake', n: 1 }, T)) as Record<string, unknown>;
  assert.deepEqual(o, { ts: '2026-12-07T06:01:02.345Z', level: 'info', msg: 'real', _level: 'fake', _msg: 'fake', _ts: 'fake', n: 1 });
});

test('text line (a terminal): time of day, level padded, message, fields as JSON only when there are any', () => {
  assert.equal(formatLogLine('text', 'info', 'started: writing db.t', {}, T), '06:01:02 info  started: writing db.t\n');
  assert.equal(formatLogLine('text', 'error', 'x', { shard: 's-1', n: 5n }, T), '06:01:02 error x {"shard":"s-1","n":"5"}\n');
});

test('format by stream: text on a terminal, JSON on a pipe; FLOE_LOG_FORMAT forces either', () => {
  assert.equal(formatFor(undefined, true), 'text');
  assert.equal(formatFor(undefined, false), 'json');
  assert.equal(formatFor('json', true), 'json');
  assert.equal(formatFor('text', false), 'text');
  assert.equal(logSettings({}, { FLOE_LOG_FORMAT: ' JSON ' }).format, 'json');
  assert.equal(logSettings({}, { FLOE_LOG_FORMAT: 'text' }).format, 'text');
  assert.equal(logSettings({}, {}).format, undefined);
});

test('level: info by default (no debug lines), FLOE_LOG_LEVEL sets it, --log-level wins', () => {
  assert.equal(logSettings({}, {}).level, 'info');
  assert.equal(logSettings({}, { FLOE_LOG_LEVEL: 'DEBUG' }).level, 'debug');
  assert.equal(logSettings({}, { FLOE_LOG_LEVEL: '' }).level, 'info');
  assert.equal(logSettings({ 'log-level': 'warn' }, { FLOE_LOG_LEVEL: 'debug' }).level, 'warn');
  const lines: string[] = [];
  const logger = new Logger({ level: 'info', format: 'json', write: (t) => lines.push(t) });
  for (const level of ['debug', 'info', 'warn', 'error'] as const) logger.log(level, level);
  assert.deepEqual(lines.map((l) => (JSON.parse(l) as { msg: string }).msg), ['info', 'warn', 'error']);
  const warnOnly: string[] = [];
  const w = new Logger({ level: 'warn', format: 'text', write: (t) => warnOnly.push(t) });
  for (const level of ['debug', 'info', 'warn', 'error'] as const) w.log(level, level);
  assert.equal(warnOnly.length, 2);
});

test('a bad level or format is a usage error naming the flag or the variable', () => {
  const fails = (values: Record<string, unknown>, env: NodeJS.ProcessEnv, message: RegExp) =>
    assert.throws(() => logSettings(values, env), (e: unknown) => e instanceof UsageError && message.test(e.message));
  fails({ 'log-level': 'verbose' }, {}, /^cli: --log-level: expected debug, info, warn or error, got "verbose"$/);
  fails({}, { FLOE_LOG_LEVEL: 'trace' }, /^cli: FLOE_LOG_LEVEL: expected debug, info, warn or error, got "trace"$/);
  fails({}, { FLOE_LOG_FORMAT: 'xml' }, /^cli: FLOE_LOG_FORMAT: expected json or text, got "xml"$/);
  // The flag wins even over a bad variable (the variable is not read then).
  assert.equal(logSettings({ 'log-level': 'error' }, { FLOE_LOG_LEVEL: 'trace' }).level, 'error');
});

test('fatal line: `floe: message` as text, one JSON error line with the code otherwise; the cause only with FLOE_DEBUG', () => {
  const e = new ValidationError('pipeline: record at shard s position 1: decode: bad', { cause: new Error('inner') });
  assert.equal(fatalErrorLine('text', e, { expected: true, code: e.code }), 'floe: pipeline: record at shard s position 1: decode: bad\n');
  const json = fatalErrorLine('json', e, { expected: true, code: e.code });
  assert.equal(json.split('\n').length, 2);
  const o = JSON.parse(json) as Record<string, unknown>;
  assert.deepEqual({ level: o.level, msg: o.msg, code: o.code, fatal: o.fatal, cause: o.cause }, {
    level: 'error',
    msg: 'pipeline: record at shard s position 1: decode: bad',
    code: 'VALIDATION',
    fatal: true,
    cause: undefined,
  });
  assert.match(String((JSON.parse(fatalErrorLine('json', e, { expected: true, debug: true })) as { cause: string }).cause), /^Error: inner\n\s+at /);
  assert.match(fatalErrorLine('text', e, { expected: true, debug: true }), /^floe: pipeline: .*\ncause: Error: inner\n/);
  // An unexpected error keeps its stack: in one JSON line, as a field.
  const u = JSON.parse(fatalErrorLine('json', new TypeError('x is undefined'), { expected: false })) as Record<string, unknown>;
  assert.equal(u.msg, 'unexpected error: x is undefined');
  assert.match(String(u.stack), /^TypeError: x is undefined\n\s+at /);
});

/** A CommandIO recording what goes to stdout and stderr apart. */
function capture(stdoutTTY: boolean, stderrTTY: boolean): { io: CommandIO; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    io: { stdout: (t) => (out += t), stderr: (t) => (err += t), env: {}, isTTY: stdoutTTY, stderrIsTTY: stderrTTY },
    out: () => out,
    err: () => err,
  };
}

const stats = {
  records: 10,
  deadLetters: 0,
  skipped: 0,
  commits: 1,
  source: { millisBehindLatest: 0 },
} as unknown as PipelineStats;

const commit = { type: 'commit' as const, table: 'db.t', records: 10, files: 1, snapshotId: 5n, durationMs: 3, deadLetters: 0, positions: { s: '1' } };

test('run reporter on a terminal: text lines on stdout, the status line on stderr, cleared before each line; no debug, no commit lines', () => {
  const c = capture(true, true);
  const r = new RunReporter(c.io);
  r.status(stats);
  assert.equal(c.out(), '');
  // The rate is 10 records over the milliseconds since the reporter began: any size, 1,000s too.
  assert.match(c.err(), /^\r\x1b\[2K[\d,]+ rec\/s \| 10 rows \| behind 0 ms \| last commit no commit yet/);
  r.log('debug', 'kinesis: discovered shard s');
  r.event(commit as never);
  assert.equal(c.out(), '', 'the status line shows commits; debug lines are off');
  const before = c.err().length;
  r.log('warn', 'dead letter', { shard: 's' });
  assert.match(c.out(), /^\d\d:\d\d:\d\d warn  dead letter \{"shard":"s"\}\n$/);
  assert.equal(c.err().slice(before), '\r\x1b[2K', 'the status line is cleared before the log line');
  r.status(stats);
  assert.match(c.err(), /last commit \d\d:\d\d:\d\d \(10 rows, 3 ms\)/);
  r.finish();
  assert.ok(c.err().endsWith('\n'));
});

test('run reporter off a terminal: JSON lines (commits included), never a status line; --log-level debug shows debug lines', () => {
  const c = capture(false, false);
  const r = new RunReporter(c.io);
  r.status(stats);
  r.log('debug', 'kinesis: discovered shard s');
  r.event(commit as never);
  r.finish();
  assert.equal(c.err(), '', 'no status line, no escape sequences');
  const lines = c.out().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(lines.map((l) => [l.level, l.msg, l.snapshotId]), [['info', 'commit', '5']]);
  const d = capture(false, false);
  new RunReporter(d.io, { level: 'debug', format: undefined }).log('debug', 'kinesis: discovered shard s', { shardId: 's' });
  assert.equal((JSON.parse(d.out()) as { level: string }).level, 'debug');
});

test('run reporter: the status line follows stderr, the format stdout (a terminal with stderr redirected, and the reverse)', () => {
  const a = capture(true, false); // floe run 2>err.log
  const ra = new RunReporter(a.io);
  ra.status(stats);
  ra.event(commit as never);
  assert.equal(a.err(), '');
  assert.match(a.out(), /^\d\d:\d\d:\d\d info  commit /, 'no status line to show commits: a line each');
  const b = capture(false, true); // floe run > log.jsonl
  const rb = new RunReporter(b.io);
  rb.status(stats);
  rb.event(commit as never);
  assert.match(b.err(), /rows \| behind/);
  assert.equal(b.out(), '', 'the commit is on the status line');
  rb.log('info', 'x');
  assert.equal((JSON.parse(b.out()) as { msg: string }).msg, 'x');
});

test('run reporter: the pipeline\'s error event is not logged (main writes the fatal error once)', () => {
  const c = capture(false, false);
  new RunReporter(c.io).event({ type: 'error', error: 'pipeline: boom', code: 'VALIDATION' });
  assert.equal(c.out() + c.err(), '');
});
