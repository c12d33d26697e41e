/**
 * `floe run` as a process against a real Kinesis-compatible endpoint: without a TTY it logs one
 * JSON object per line (started, commit, stopped), and SIGTERM/SIGINT make a final commit of
 * what is buffered and exit 0.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { QueryEngine } from '../../src/query/engine.js';
import { putRecords } from '../../src/source/kinesis/producer.js';
import { clientFor, createStream, enc, startLocal, type LocalEnv } from '../source/kinesis-test-helpers.js';
import { childEnv, killStrayCliProcesses, spawnCli } from './spawn.js';

let local: LocalEnv;
let dir: string;

before(async () => {
  local = await startLocal();
  dir = await mkdtemp(join(tmpdir(), 'floe-run-proc-'));
});

after(async () => {
  killStrayCliProcesses();
  await local.close();
  await rm(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface LogLine {
  ts: string;
  level: string;
  msg: string;
  [k: string]: unknown;
}

function logLines(stdout: string): LogLine[] {
  return stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      try {
        return JSON.parse(l) as LogLine;
      } catch {
        throw new Error(`test: stdout line is not JSON: ${l}`);
      }
    });
}

async function setup(name: string, maxRecords: number) {
  const stream = `run-${name}`;
  await createStream(local.client, stream, 1);
  const warehouse = join(dir, name);
  const config = join(dir, `${name}.yaml`);
  await writeFile(
    config,
    [
      'source:',
      `  stream: ${stream}`,
      '  discovery_interval: 1s',
      'catalog:',
      `  warehouse: ${warehouse}`,
      'table:',
      `  name: db.${name}`,
      'transform:',
      '  columns:',
      '    id: { type: long, required: true }',
      '    shard: { type: string, value: shard }',
      'commit:',
      '  interval: 1h', // only max_records and the stop signal commit
      `  max_records: ${maxRecords}`,
      '',
    ].join('\n'),
  );
  const put = async (from: number, count: number) => {
    const client = clientFor(local.url, 3);
    try {
      await putRecords(
        client,
        { streamName: stream },
        Array.from({ length: count }, (_, k) => ({ data: enc(JSON.stringify({ id: from + k })), partitionKey: `pk_${from + k}` })),
      );
    } finally {
      client.destroy();
    }
  };
  const rows = async (): Promise<[bigint, bigint]> => {
    const catalog = new SqlCatalog({ name: 'floe', uri: join(warehouse, 'catalog.db'), warehouse });
    const engine = await QueryEngine.open({ catalog });
    try {
      const r = await engine.query(`SELECT count(*), count(DISTINCT id) FROM db.${name}`);
      return r.rows[0] as [bigint, bigint];
    } finally {
      engine.close();
      await catalog.close();
    }
  };
  return { stream, config, put, rows };
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`floe run: JSON log lines without a TTY; ${signal} commits what is buffered and exits 0`, { timeout: 90_000 }, async () => {
    const s = await setup(signal.toLowerCase(), 20);
    await s.put(0, 45);
    const p = spawnCli(['run', '--config', s.config], { env: childEnv({ AWS_ENDPOINT_URL_KINESIS: local.url }), cwd: dir });
    // 45 records with max_records 20: two commits of 20 while running; 5 stay buffered (interval 1h).
    await p.waitForStdout((out) => logLines(out).filter((l) => l.msg === 'commit').length >= 2, 40_000, 'two commit lines');
    await sleep(1500); // the last 5 records are read and buffered
    assert.equal(logLines(p.stdout()).filter((l) => l.msg === 'commit').length, 2, 'nothing else committed before the signal');
    p.child.kill(signal);
    const end = await p.exited;
    assert.deepEqual(end, { code: 0, signal: null }, `exit after ${signal}; stderr: ${p.stderr()}`);

    const lines = logLines(p.stdout());
    for (const l of lines) {
      assert.ok(!Number.isNaN(Date.parse(l.ts)), `ts is ISO-8601: ${JSON.stringify(l)}`);
      assert.equal(typeof l.level, 'string');
      assert.equal(typeof l.msg, 'string');
    }
    const main = lines.filter((l) => l.level !== 'debug' && (l.msg.startsWith('started') || l.msg === 'commit' || l.msg === 'stopped'));
    assert.deepEqual(
      main.map((l) => l.msg),
      [`started: writing db.${signal.toLowerCase()}`, 'commit', 'commit', 'commit', 'stopped'],
    );
    assert.deepEqual(main[0]!.positions, {});
    // The native scanner reads (a string computed column: rows appended one by one, not staged).
    assert.equal(main[0]!.jsonFastPath, 'native');
    const commits = main.filter((l) => l.msg === 'commit');
    assert.deepEqual(
      commits.map((c) => c.records),
      [20, 20, 5],
      'the final commit holds what was buffered at the signal',
    );
    for (const c of commits) {
      assert.match(String(c.snapshotId), /^-?\d+$/);
      assert.equal(c.deadLetters, 0);
      assert.ok(Number(c.files) >= 1);
      assert.equal(typeof c.durationMs, 'number');
    }
    assert.deepEqual(Object.keys(commits[2]!.positions as object), ['shardId-000000000000']);
    assert.deepEqual({ records: main[4]!.records, deadLetters: main[4]!.deadLetters, commits: main[4]!.commits }, { records: 45, deadLetters: 0, commits: 3 });
    // The signal is said in the log; nothing else (no status line off a terminal) on stderr.
    assert.ok(
      lines.some((l) => l.level === 'info' && l.msg === `${signal}: committing and stopping (send again to exit at once)` && l.signal === signal),
      p.stdout(),
    );
    assert.deepEqual(lines.filter((l) => l.level === 'debug'), [], 'no debug lines by default');
    assert.equal(p.stderr(), '');
    assert.deepEqual(await s.rows(), [45n, 45n]);

    // A second run resumes from the table's positions: only new records, exactly once.
    await s.put(45, 10);
    // … read by the JavaScript scanner this time (FLOE_JSON_SCANNER): the same rows.
    const q = spawnCli(['run', '--config', s.config], { env: childEnv({ AWS_ENDPOINT_URL_KINESIS: local.url, FLOE_JSON_SCANNER: 'javascript' }), cwd: dir });
    await q.waitForStdout((out) => out.includes('"msg":"started'), 30_000, 'started line');
    await sleep(2000);
    q.child.kill(signal);
    assert.deepEqual(await q.exited, { code: 0, signal: null }, q.stderr());
    const started = logLines(q.stdout()).find((l) => l.msg.startsWith('started'))!;
    assert.deepEqual(Object.keys(started.positions as object), ['shardId-000000000000']);
    assert.equal(started.jsonFastPath, 'javascript');
    assert.deepEqual(await s.rows(), [55n, 55n]);
  });
}

test('floe run: a bad FLOE_JSON_SCANNER fails before any work, naming the variable', { timeout: 60_000 }, async () => {
  const s = await setup('badscanner', 20);
  const p = spawnCli(['run', '--config', s.config], { env: childEnv({ AWS_ENDPOINT_URL_KINESIS: local.url, FLOE_JSON_SCANNER: 'turbo' }), cwd: dir });
  const end = await p.exited;
  assert.deepEqual(end, { code: 2, signal: null }, p.stderr()); // a configuration error, as a bad config file
  assert.match(p.stderr(), /^floe: config: FLOE_JSON_SCANNER: expected native, javascript or off, got "turbo"/m);
  assert.doesNotMatch(p.stdout(), /"msg":"started/, 'nothing started');
});

test('floe run: a stream that does not exist is an error naming it (exit 1, no hanging process)', { timeout: 60_000 }, async () => {
  const config = join(dir, 'missing-stream.yaml');
  await writeFile(
    config,
    ['source:', '  stream: no-such-stream', 'catalog:', `  warehouse: ${join(dir, 'missing')}`, 'table:', '  name: db.t', 'transform:', '  columns:', '    a: string', ''].join('\n'),
  );
  const p = spawnCli(['run', '--config', config], { env: childEnv({ AWS_ENDPOINT_URL_KINESIS: local.url }), cwd: dir });
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 40_000);
  const end = await p.exited;
  clearTimeout(timer);
  assert.deepEqual(end, { code: 1, signal: null }, p.stderr());
  // One JSON line (stderr is a pipe), the error's code with it.
  const errLines = p.stderr().split('\n').filter(Boolean);
  assert.equal(errLines.length, 1, p.stderr());
  const fatal = JSON.parse(errLines[0]!) as LogLine;
  assert.equal(fatal.level, 'error');
  assert.match(fatal.msg, /^kinesis: stream no-such-stream not found/);
  assert.equal(fatal.fatal, true);
  assert.equal(typeof fatal.code, 'string');
  assert.doesNotMatch(p.stderr(), /\n\s+at .+:\d+:\d+/, 'no stack trace');
});
