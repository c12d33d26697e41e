/**
 * `floe run` with its metrics endpoint, as a process against a local Kinesis: `/metrics` serves
 * Prometheus text whose figures move with the records, `/healthz` answers 200 while it runs, and
 * `/readyz` goes idle-ready → ready → stalled (503) when records wait longer than
 * `metrics.ready_commit_age` without a commit; bad ports are refused before any work.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { putRecords } from '../../src/source/kinesis/producer.js';
import { clientFor, createStream, enc, startLocal, type LocalEnv } from '../source/kinesis-test-helpers.js';
import { childEnv, killStrayCliProcesses, runCliProcess, spawnCli } from './spawn.js';

let local: LocalEnv;
let dir: string;

before(async () => {
  local = await startLocal();
  dir = await mkdtemp(join(tmpdir(), 'floe-run-metrics-'));
});

after(async () => {
  killStrayCliProcesses();
  await local.close();
  await rm(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function config(name: string, metrics: string[]): Promise<string> {
  const path = join(dir, `${name}.yaml`);
  await writeFile(
    path,
    [
      'source:',
      `  stream: ${name}`,
      '  discovery_interval: 1s',
      'catalog:',
      `  warehouse: ${join(dir, name)}`,
      'table:',
      `  name: db.${name}`,
      'transform:',
      '  columns:',
      '    id: { type: long, required: true }',
      'commit:',
      '  interval: 1h', // only max_records and the stop signal commit
      '  max_records: 10',
      'maintenance: false',
      ...metrics,
      '',
    ].join('\n'),
  );
  return path;
}

/** The value of one sample (`name{labels} value`) in Prometheus text; undefined when absent. */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

async function get(url: string, init?: RequestInit): Promise<{ status: number; body: string; type: string | null }> {
  const r = await fetch(url, init);
  return { status: r.status, body: await r.text(), type: r.headers.get('content-type') };
}

async function waitForStatus(url: string, status: number, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const r = await get(url);
    if (r.status === status) return r.body;
    last = `${r.status} ${r.body}`;
    await sleep(100);
  }
  throw new Error(`test: ${url} did not answer ${status} within ${timeoutMs} ms (last: ${last})`);
}

test('floe run --metrics-port: /metrics moves with the records, /healthz alive, /readyz idle → ready → stalled', { timeout: 90_000 }, async () => {
  const name = 'metrics_flow';
  await createStream(local.client, name, 1);
  const path = await config(name, ['metrics:', '  port: 1', '  ready_commit_age: 3s']);
  // --metrics-port overrides the config's port (1 would need root): 0 = any free port.
  const p = spawnCli(['run', '--config', path, '--metrics-port', '0'], { env: childEnv({ AWS_ENDPOINT_URL_KINESIS: local.url }), cwd: dir });
  await p.waitForStdout((out) => out.includes('"msg":"started'), 40_000, 'the started line');
  const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(p.stdout());
  assert.ok(m, `a metrics: listening line with the URL; stdout: ${p.stdout()}`);
  const base = m[1]!;

  assert.deepEqual(await get(`${base}/healthz`), { status: 200, body: 'alive: running\n', type: 'text/plain; charset=utf-8' });
  // Nothing in the stream: idle, ready.
  const idle = await get(`${base}/readyz`);
  assert.equal(idle.status, 200, idle.body);
  assert.match(idle.body, /^ready: idle/);

  // 24 good records and 1 bad (the 13th): commits at 10 and 20 rows, the dead letter in the second;
  // 4 rows wait (interval 1h).
  const client = clientFor(local.url, 3);
  try {
    const entries = Array.from({ length: 24 }, (_, k) => ({ data: enc(JSON.stringify({ id: k })), partitionKey: `pk${k}` }));
    entries.splice(12, 0, { data: enc('{"id": "not a number"}'), partitionKey: 'bad' });
    await putRecords(client, { streamName: name }, entries);
  } finally {
    client.destroy();
  }
  await p.waitForStdout((out) => out.split('\n').filter((l) => l.includes('"msg":"commit"')).length >= 2, 40_000, 'two commits');

  const deadline = Date.now() + 20_000;
  let text = '';
  while (Date.now() < deadline) {
    const r = await get(`${base}/metrics`);
    assert.equal(r.status, 200);
    assert.match(r.type ?? '', /^text\/plain; version=0\.0\.4/);
    text = r.body;
    if (sample(text, 'floe_records_read_total{partition="shardId-000000000000"}') === 25 && sample(text, 'floe_uncommitted_records') === 4) break;
    await sleep(100);
  }
  assert.equal(sample(text, 'floe_records_read_total{partition="shardId-000000000000"}'), 25, text);
  assert.equal(sample(text, 'floe_commits_total'), 2);
  assert.equal(sample(text, 'floe_records_written_total'), 20);
  assert.equal(sample(text, 'floe_records_ingested_total'), 24);
  assert.equal(sample(text, 'floe_dead_letters_total{action="dlq"}'), 1);
  assert.equal(sample(text, 'floe_uncommitted_records'), 4);
  assert.equal(sample(text, 'floe_dead_letters_written_total'), 1);
  assert.equal(sample(text, 'floe_commit_duration_seconds_count'), 2);
  assert.ok(sample(text, 'floe_bytes_read_total{partition="shardId-000000000000"}')! > 0);
  assert.ok(sample(text, 'floe_file_bytes_written_total')! > 0);
  assert.equal(typeof sample(text, 'floe_millis_behind_latest{partition="shardId-000000000000"}'), 'number');
  assert.equal(sample(text, 'floe_source_partitions{state="reading"}'), 1);
  assert.ok(sample(text, 'floe_process_resident_memory_bytes')! > 10_000_000, 'process metrics, prefixed');
  assert.ok(sample(text, 'floe_last_commit_timestamp_seconds')! > Date.now() / 1000 - 60);

  // Records wait and no commit comes (interval 1h): stalled after ready_commit_age (3 s).
  const stalled = await waitForStatus(`${base}/readyz`, 503, 15_000);
  assert.match(stalled, /^stalled: 4 records wait, last commit \d+ s ago \(bound 3000 ms\)/);
  assert.equal(sample((await get(`${base}/metrics`)).body, 'floe_ready'), 0);
  assert.equal((await get(`${base}/healthz`)).status, 200, 'stalled is not dead: liveness stays');

  assert.equal((await get(`${base}/nope`)).status, 404);
  assert.equal((await get(`${base}/metrics`, { method: 'POST', body: 'x' })).status, 405);

  p.child.kill('SIGTERM');
  const end = await p.exited;
  assert.deepEqual(end, { code: 0, signal: null }, `stderr: ${p.stderr()}`);
  // The server is closed with the run.
  await assert.rejects(fetch(`${base}/healthz`));
});

test('floe run: a metrics port that cannot be had fails before any work; a bad --metrics-port is a usage error', { timeout: 60_000 }, async () => {
  const name = 'metrics_port';
  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  const port = (taken.address() as { port: number }).port;
  try {
    const path = await config(name, ['metrics:', `  port: ${port}`]);
    const r = await runCliProcess(['run', '--config', path], { env: childEnv({ AWS_ENDPOINT_URL_KINESIS: local.url }), cwd: dir });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`metrics: cannot listen on 127\\.0\\.0\\.1:${port}: EADDRINUSE`));
    assert.ok(!r.stdout.includes('started'), 'nothing started');

    const bad = await runCliProcess(['run', '--config', path, '--metrics-port', '70000'], { env: childEnv({ AWS_ENDPOINT_URL_KINESIS: local.url }), cwd: dir });
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /--metrics-port: must be a port number 0-65535, got "70000"/);
  } finally {
    taken.close();
  }
});
