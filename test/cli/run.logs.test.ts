/**
 * The logs of the long-running commands as processes (stdout and stderr are pipes, never a
 * terminal): a failing `floe run` writes its error once, JSON lines with no debug line by default,
 * `--log-level` / `FLOE_LOG_LEVEL` / `FLOE_LOG_FORMAT` (a bad value: exit 2 before any work, naming
 * it), and `floe catalog serve`'s log on stderr. The terminal case: `log.format.test.ts`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { putRecords } from '../../src/source/kinesis/producer.js';
import { clientFor, createStream, enc, startLocal, type LocalEnv } from '../source/kinesis-test-helpers.js';
import { runCli } from './helpers.js';
import { childEnv, killStrayCliProcesses, runCliProcess, spawnCli } from './spawn.js';

let local: LocalEnv;
let dir: string;

before(async () => {
  local = await startLocal();
  dir = await mkdtemp(join(tmpdir(), 'floe-run-logs-'));
});

after(async () => {
  killStrayCliProcesses();
  await local.close();
  await rm(dir, { recursive: true, force: true });
});

interface LogLine {
  ts: string;
  level: string;
  msg: string;
  [k: string]: unknown;
}

/** Every non-empty line as JSON (a line that is not JSON fails the test, naming it). */
function jsonLines(text: string, what: string): LogLine[] {
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      try {
        return JSON.parse(l) as LogLine;
      } catch {
        throw new Error(`test: ${what} line is not JSON: ${l}`);
      }
    });
}

/**
 * A stream holding one record that is not JSON, and a config that stops at the first bad record
 * (`dead_letter.policy: fail`): the run starts, reads it and fails once running (exit 1).
 */
async function failingRun(name: string): Promise<string> {
  const stream = `logs-${name}`;
  await createStream(local.client, stream, 1);
  const client = clientFor(local.url, 3);
  try {
    await putRecords(client, { streamName: stream }, [{ data: enc('not json'), partitionKey: 'pk' }]);
  } finally {
    client.destroy();
  }
  const config = join(dir, `${name}.yaml`);
  await writeFile(
    config,
    [
      'source:',
      `  stream: ${stream}`,
      '  initial_position: trim_horizon',
      'catalog:',
      `  warehouse: ${join(dir, name)}`,
      'table:',
      `  name: db.${name}`,
      'transform:',
      '  columns:',
      '    a: string',
      'dead_letter:',
      '  policy: fail',
      '',
    ].join('\n'),
  );
  return config;
}

const BAD_RECORD = /^pipeline: record at shard shardId-000000000000 position \d+: decode: record is not JSON: .*\(dead_letter\.policy is 'fail'\)$/;

test('floe run failing once running: the error is one line (JSON on stderr), the log on stdout JSON without debug lines', { timeout: 60_000 }, async () => {
  const config = await failingRun('fatal-json');
  const r = await runCliProcess(['run', '--config', config], { env: childEnv({ AWS_ENDPOINT_URL_KINESIS: local.url }), cwd: dir, timeoutMs: 40_000 });
  assert.equal(r.code, 1, `exit code; stderr: ${r.stderr}; stdout: ${r.stdout}`);
  const err = jsonLines(r.stderr, 'stderr');
  assert.equal(err.length, 1, `one line on stderr: ${r.stderr}`);
  assert.equal(err[0]!.level, 'error');
  assert.match(err[0]!.msg, BAD_RECORD);
  assert.equal(err[0]!.code, 'VALIDATION');
  assert.equal(err[0]!.fatal, true);
  assert.ok(!Number.isNaN(Date.parse(err[0]!.ts)));
  const out = jsonLines(r.stdout, 'stdout');
  assert.ok(out.some((l) => l.msg === 'started: writing db.fatal-json'), r.stdout);
  // Not repeated in the log (it used to be: once there, once on stderr).
  assert.deepEqual(out.filter((l) => l.level === 'error' || /not JSON/.test(l.msg)), []);
  assert.deepEqual(out.filter((l) => l.level === 'debug'), [], 'debug lines are off by default');
  // Every error line in all the process wrote: one.
  assert.equal(`${r.stdout}\n${r.stderr}`.split('\n').filter((l) => /decode: record is not JSON/.test(l)).length, 1);
});

test('floe run with --log-level debug and FLOE_LOG_FORMAT=text: debug lines, text on pipes, the error still once', { timeout: 60_000 }, async () => {
  const config = await failingRun('fatal-text');
  const r = await runCliProcess(['run', '--config', config, '--log-level', 'debug'], {
    env: childEnv({ AWS_ENDPOINT_URL_KINESIS: local.url, FLOE_LOG_FORMAT: 'text' }),
    cwd: dir,
    timeoutMs: 40_000,
  });
  assert.equal(r.code, 1, `exit code; stderr: ${r.stderr}`);
  const err = r.stderr.split('\n').filter(Boolean);
  assert.equal(err.length, 1, r.stderr);
  assert.match(err[0]!, /^floe: pipeline: record at shard .*decode: record is not JSON/);
  const out = r.stdout.split('\n').filter(Boolean);
  for (const l of out) assert.match(l, /^\d\d:\d\d:\d\d (debug|info |warn |error) /, `a text line: ${l}`);
  assert.ok(out.some((l) => /^\S+ debug kinesis: discovered shard shardId-000000000000/.test(l)), r.stdout);
  assert.ok(out.some((l) => / info  started: writing db\.fatal-text/.test(l)), r.stdout);
  assert.equal(out.filter((l) => /not JSON/.test(l)).length, 0);
});

test('FLOE_LOG_LEVEL=warn drops info and debug lines; the fatal error is still written (a process, JSON)', { timeout: 60_000 }, async () => {
  const config = await failingRun('level-warn');
  const r = await runCliProcess(['run', '--config', config], { env: childEnv({ AWS_ENDPOINT_URL_KINESIS: local.url, FLOE_LOG_LEVEL: 'warn' }), cwd: dir, timeoutMs: 40_000 });
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual(jsonLines(r.stdout, 'stdout').filter((l) => l.level === 'info' || l.level === 'debug'), []);
  assert.equal(jsonLines(r.stderr, 'stderr').length, 1, 'the fatal error whatever the level');
});

test('a bad --log-level, FLOE_LOG_LEVEL or FLOE_LOG_FORMAT: exit 2 before any work, naming it', async () => {
  // The config does not exist: the log settings are checked first, so the error is theirs.
  const missing = join(dir, 'no-such-config.yaml');
  const warehouse = join(dir, 'untouched');
  const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
    [['run', '--config', missing, '--log-level', 'verbose'], {}, /^floe: cli: --log-level: expected debug, info, warn or error, got "verbose"\n$/],
    [['run', '--config', missing], { FLOE_LOG_LEVEL: 'trace' }, /^floe: cli: FLOE_LOG_LEVEL: expected debug, info, warn or error, got "trace"\n$/],
    [['run', '--config', missing], { FLOE_LOG_FORMAT: 'xml' }, /^floe: cli: FLOE_LOG_FORMAT: expected json or text, got "xml"\n$/],
    [['catalog', 'serve', '--port', '0', '--warehouse', warehouse, '--log-level', 'loud'], {}, /^floe: cli: --log-level: expected debug, info, warn or error, got "loud"\n$/],
    [['catalog', 'serve', '--port', '0', '--warehouse', warehouse], { FLOE_LOG_LEVEL: 'all' }, /^floe: cli: FLOE_LOG_LEVEL: expected/],
  ];
  for (const [argv, env, message] of cases) {
    const r = await runCli(argv, env);
    assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stdout, '');
  }
  assert.equal(existsSync(warehouse), false, 'catalog serve opened no catalog');
});

test('floe catalog serve off a terminal: its log on stderr is JSON lines (start with the URL and the generated token, stop)', { timeout: 60_000 }, async () => {
  const p = spawnCli(['catalog', 'serve', '--port', '0', '--auth', '--warehouse', join(dir, 'serve')], { cwd: dir });
  await p.waitForStdout((out) => /^http:\/\/127\.0\.0\.1:\d+\n/.test(out), 30_000, 'the URL');
  const url = p.stdout().trim();
  const deadline = Date.now() + 10_000;
  while (!p.stderr().includes('\n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  const start = jsonLines(p.stderr(), 'stderr');
  assert.equal(start.length, 1, p.stderr());
  assert.equal(start[0]!.level, 'info');
  assert.match(start[0]!.msg, /^catalog: Iceberg REST catalog on http:\/\/127\.0\.0\.1:\d+ serving .*catalog\.db$/);
  assert.equal(start[0]!.url, url);
  assert.equal(start[0]!.auth, 'bearer');
  assert.match(String(start[0]!.token), /^[A-Za-z0-9_-]{43}$/);
  const res = await fetch(`${url}/v1/namespaces`, { headers: { authorization: `Bearer ${String(start[0]!.token)}` } });
  assert.equal(res.status, 200);
  p.child.kill('SIGTERM');
  assert.deepEqual(await p.exited, { code: 0, signal: null });
  const all = jsonLines(p.stderr(), 'stderr');
  assert.deepEqual(all.map((l) => [l.level, l.msg]).slice(1), [['info', 'catalog: REST catalog stopped (SIGTERM)']]);
});
