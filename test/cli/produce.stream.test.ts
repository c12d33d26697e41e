/**
 * `floe produce` against a real Kinesis-compatible endpoint: --count sends reference-shaped
 * events with keys pk_<i>, --stdin sends one record per line, --rate paces the sending.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { KinesisSource } from '../../src/source/kinesis/kinesis-source.js';
import { REFERENCE_EVENT_TYPES } from '../../src/source/kinesis/reference-events.js';
import type { SourceRecord } from '../../src/source/source.js';
import { clientFor, createStream, dec, pollUntil, startLocal, type LocalEnv } from '../source/kinesis-test-helpers.js';
import { assertFails, runCli } from './helpers.js';
import { childEnv, killStrayCliProcesses, runCliProcess } from './spawn.js';

let local: LocalEnv;
let streamNo = 0;

before(async () => {
  local = await startLocal();
});

after(async () => {
  killStrayCliProcesses();
  await local.close();
});

async function newStream(shards = 2): Promise<string> {
  const name = `produce-${++streamNo}`;
  await createStream(local.client, name, shards);
  return name;
}

/** Reads the whole stream until `count` records arrived (and a little longer, to catch extras). */
async function readAll(stream: string, count: number): Promise<SourceRecord[]> {
  const source = new KinesisSource({ client: clientFor(local.url, 3), streamName: stream, minCallIntervalMs: 20, idleDelayMs: 20 });
  try {
    await source.start(new Map(), { type: 'TRIM_HORIZON' });
    const got = await pollUntil(source, (c) => c.records.length >= count, { timeoutMs: 15_000 });
    const end = Date.now() + 600;
    const extra = await pollUntil(source, () => Date.now() > end, { timeoutMs: 5_000 });
    return [...got.records, ...extra.records];
  } finally {
    await source.close();
  }
}

// No credentials in the environment: floe gives a local endpoint dummy ones.
const env = () => ({ AWS_ENDPOINT_URL_KINESIS: local.url, AWS_REGION: 'us-east-1', HOME: '/nonexistent' });

test('floe produce --count N: N reference events with keys pk_0..pk_N-1', async () => {
  const stream = await newStream(2);
  const r = await runCli(['produce', '--stream', stream, '--count', '1234'], env());
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `sent 1234 records to ${stream}\n`);
  assert.equal(r.stderr, '', 'no progress bar without a TTY');

  const records = await readAll(stream, 1234);
  assert.equal(records.length, 1234);
  const keys = new Set(records.map((x) => x.partitionKey));
  assert.deepEqual([...keys].sort(), Array.from({ length: 1234 }, (_, i) => `pk_${i}`).sort());
  const shards = new Set(records.map((x) => x.partitionId));
  assert.equal(shards.size, 2, 'keys spread over both shards');
  for (const rec of records) {
    const i = Number(rec.partitionKey.slice(3));
    const e = JSON.parse(dec(rec.data)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(e), ['event_id', 'user_id', 'event_type', 'page', 'timestamp']);
    assert.match(String(e.event_id), new RegExp(`^evt_\\d{10}_${i}$`));
    assert.match(String(e.user_id), /^user_00[0-4]$/);
    assert.ok((REFERENCE_EVENT_TYPES as readonly string[]).includes(String(e.event_type)), String(e.event_type));
    assert.equal(e.page, `/products/${100 + i}`);
    assert.match(String(e.timestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.ok(Math.abs(Date.parse(String(e.timestamp)) - Date.now()) < 120_000, 'timestamp is now');
  }
  assert.ok(new Set(records.map((x) => (JSON.parse(dec(x.data)) as { user_id: string }).user_id)).size > 1, 'users vary');
});

test('floe produce: default count is 10', async () => {
  const stream = await newStream(1);
  const r = await runCli(['produce', '--stream', stream], env());
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `sent 10 records to ${stream}\n`);
  assert.equal((await readAll(stream, 10)).length, 10);
});

test('floe produce --rate R: not faster than the rate allows', async () => {
  const stream = await newStream(1);
  const started = Date.now();
  const r = await runCli(['produce', '--stream', stream, '--count', '30', '--rate', '20'], env());
  const elapsed = Date.now() - started;
  assert.equal(r.code, 0, r.stderr);
  // 30 records at 20/s: the last ones cannot go before 1.5 s (loosely: scheduling may round).
  assert.ok(elapsed >= 1400, `30 records at 20/s took only ${elapsed} ms`);
  const records = await readAll(stream, 30);
  assert.equal(records.length, 30);
  // Sent in small paced batches, not one burst: arrivals spread over more than a second.
  const arrivals = records.map((x) => x.arrivalTimeMs);
  assert.ok(Math.max(...arrivals) - Math.min(...arrivals) >= 1000, `arrivals span ${Math.max(...arrivals) - Math.min(...arrivals)} ms`);
});

test('floe produce --stdin: one record per non-empty line, keys pk_<line>', { timeout: 60_000 }, async () => {
  const stream = await newStream(1);
  const lines = ['{"event_id":"a"}', 'plain text, not JSON', '', 'ünïcödé ✓', '{"n":1}'];
  const r = await runCliProcess(['produce', '--stream', stream, '--stdin'], {
    env: childEnv({ AWS_ENDPOINT_URL_KINESIS: local.url }),
    stdin: lines.join('\n') + '\n',
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `sent 4 records to ${stream}\n`);
  const records = await readAll(stream, 4);
  assert.deepEqual(
    records.map((x) => [x.partitionKey, dec(x.data)]),
    [
      ['pk_0', '{"event_id":"a"}'],
      ['pk_1', 'plain text, not JSON'],
      ['pk_2', 'ünïcödé ✓'],
      ['pk_3', '{"n":1}'],
    ],
  );
});

test('floe produce --stdin --rate: many lines, in order, paced', { timeout: 60_000 }, async () => {
  const stream = await newStream(1);
  const lines = Array.from({ length: 60 }, (_, i) => `line ${i}`);
  const started = Date.now();
  const r = await runCliProcess(['produce', '--stream', stream, '--stdin', '--rate', '40'], {
    env: childEnv({ AWS_ENDPOINT_URL_KINESIS: local.url }),
    stdin: lines.join('\r\n'),
  });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(Date.now() - started >= 1400, 'paced');
  const records = await readAll(stream, 60);
  assert.deepEqual(records.map((x) => dec(x.data)), lines);
});

test('floe produce: bad usage exits 2', async () => {
  assertFails(await runCli(['produce'], env()), 2, /^floe: cli: produce needs --stream/);
  assertFails(await runCli(['produce', '--stream', 's', '--count', 'many'], env()), 2, /--count must be a positive number, got 'many'/);
  assertFails(await runCli(['produce', '--stream', 's', '--count', '0'], env()), 2, /--count must be a positive number/);
  assertFails(await runCli(['produce', '--stream', 's', '--count', '2.5'], env()), 2, /--count must be a positive integer, got '2\.5'/);
  assertFails(await runCli(['produce', '--stream', 's', '--rate=-5'], env()), 2, /--rate must be a positive number/);
  assertFails(await runCli(['produce', '--stream', 's', '--shards', '2'], env()), 2, /Unknown option '--shards'/);
});

test('floe produce: a stream that does not exist is an error naming it (exit 1)', async () => {
  const r = await runCli(['produce', '--stream', 'no-such-stream', '--count', '1'], env());
  assertFails(r, 1, /no-such-stream/);
});
