/**
 * putRecords against a real kinesalite (through a fault-injecting proxy where Kinesis failures are
 * needed): batching within the PutRecords limits, retry of refused entries (FailedRecordCount)
 * without duplicates, and the reference-system event generator.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { FloeError, ValidationError } from '../../src/errors.js';
import { KinesisSource } from '../../src/source/kinesis/kinesis-source.js';
import { planBatches, putRecords, PUT_RECORDS_MAX_BYTES, type PutEntry } from '../../src/source/kinesis/producer.js';
import { isoSeconds, referenceEntries, referenceEvent } from '../../src/source/kinesis/reference-events.js';
import { clientFor, createStream, dec, enc, pollUntil, startFaultProxy, startLocal, type LocalEnv } from './kinesis-test-helpers.js';

let env: LocalEnv;
before(async () => {
  env = await startLocal();
});
after(async () => {
  await env.close();
});

let streamNo = 0;
async function newStream(shards = 2): Promise<string> {
  const name = `prod-${++streamNo}`;
  await createStream(env.client, name, shards);
  return name;
}

const entries = (n: number, size = 8): PutEntry[] => Array.from({ length: n }, (_, i) => ({ data: enc(String(i).padStart(size, '0')), partitionKey: `pk_${i}` }));

async function readRecords(stream: string, n: number): Promise<{ text: string; seq: string }[]> {
  const s = new KinesisSource({ client: env.client, streamName: stream, idleDelayMs: 20, minCallIntervalMs: 20 });
  try {
    await s.start(new Map(), { type: 'TRIM_HORIZON' });
    const c = await pollUntil(s, (c) => c.records.length >= n);
    await new Promise((r) => setTimeout(r, 200));
    const extra = await s.poll({ maxRecords: 10_000, maxBytes: 1 << 30, waitMs: 100 });
    return [...c.records, ...extra.records].map((r) => ({ text: dec(r.data), seq: r.position }));
  } finally {
    await s.close();
  }
}

async function readAll(stream: string, n: number): Promise<string[]> {
  return (await readRecords(stream, n)).map((r) => r.text);
}

/** Checks that result i names the sequence number under which entry i was stored. */
function assertResultsMatch(read: { text: string; seq: string }[], sent: PutEntry[], res: { sequenceNumber: string }[]): void {
  const bySeq = new Map(read.map((r) => [r.seq, r.text]));
  sent.forEach((e, i) => assert.equal(bySeq.get(res[i]!.sequenceNumber), dec(e.data), `result ${i}`));
}

test('planBatches: at most 500 records and 5 MiB (data + partition keys) per request', () => {
  assert.deepEqual(planBatches(entries(1200)).map((b) => b.length), [500, 500, 200]);
  const big = Array.from({ length: 7 }, (_, i) => ({ data: new Uint8Array(1024 * 1024 - 4), partitionKey: `k${i}xx` }));
  // Each is exactly 1 MiB with its key: five fit in 5 MiB.
  assert.deepEqual(planBatches(big).map((b) => b.length), [5, 2]);
  const over = [{ data: new Uint8Array(PUT_RECORDS_MAX_BYTES + 1), partitionKey: 'k' }, ...entries(2)];
  assert.deepEqual(planBatches(over), [[0], [1, 2]], 'an oversize record goes alone (Kinesis will judge it)');
  assert.deepEqual(planBatches([]), []);
  // Partition keys count in UTF-8 bytes.
  const utf = Array.from({ length: 3 }, () => ({ data: new Uint8Array(10), partitionKey: 'é'.repeat(5) }));
  assert.deepEqual(planBatches(utf, 500, 40).map((b) => b.length), [2, 1]);
});

test('1,200 records go out in 3 requests and land once each, results in input order', async () => {
  const stream = await newStream();
  const proxy = await startFaultProxy(env.kinesis.url);
  const client = clientFor(proxy.url);
  try {
    const progress: number[] = [];
    const res = await putRecords(client, { streamName: stream, onProgress: (n) => progress.push(n) }, entries(1200));
    const puts = proxy.calls.filter((c) => c.op === 'PutRecords');
    assert.deepEqual(puts.map((c) => (c.body.Records as unknown[]).length), [500, 500, 200]);
    assert.deepEqual(progress, [500, 1000, 1200]);
    assert.equal(res.length, 1200);
    assert.ok(res.every((r) => /^shardId-\d{12}$/.test(r.shardId) && /^\d+$/.test(r.sequenceNumber)));
    const read = await readRecords(stream, 1200);
    assert.equal(read.length, 1200);
    assert.equal(new Set(read.map((r) => r.text)).size, 1200);
    assertResultsMatch(read, entries(1200), res);
  } finally {
    client.destroy();
    await proxy.close();
  }
});

test('entries refused individually are retried alone, with no duplicates', async () => {
  const stream = await newStream();
  // On the first PutRecords, only even entries reach Kinesis; odd ones come back as throttled.
  const proxy = await startFaultProxy(env.kinesis.url, (op, body, n) => {
    if (op !== 'PutRecords' || n !== 1) return undefined;
    const all = body.Records as unknown[];
    return {
      body: { ...body, Records: all.filter((_, i) => i % 2 === 0) },
      response: (json) => {
        const ok = [...(json.Records as unknown[])];
        const records = all.map((_, i) => (i % 2 === 0 ? ok.shift() : { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded for shard' }));
        return { ...json, FailedRecordCount: Math.floor(all.length / 2), Records: records };
      },
    };
  });
  const client = clientFor(proxy.url);
  try {
    const res = await putRecords(client, { streamName: stream, backoff: { baseDelayMs: 10, maxDelayMs: 50 } }, entries(10));
    const puts = proxy.calls.filter((c) => c.op === 'PutRecords');
    assert.equal(puts.length, 2);
    assert.deepEqual(
      (puts[1]!.body.Records as { Data: string }[]).map((r) => Buffer.from(r.Data, 'base64').toString()),
      ['00000001', '00000003', '00000005', '00000007', '00000009'],
    );
    assert.equal(res.length, 10);
    assert.ok(res.every((r) => r && r.sequenceNumber));
    const read = await readRecords(stream, 10);
    assert.deepEqual(read.map((r) => r.text).sort(), entries(10).map((e) => dec(e.data)));
    assertResultsMatch(read, entries(10), res);
  } finally {
    client.destroy();
    await proxy.close();
  }
});

test('a throttled request is retried; persistent refusal fails with a count', async () => {
  const stream = await newStream();
  const proxy = await startFaultProxy(env.kinesis.url, (op, _b, n) => (op === 'PutRecords' && n === 1 ? { error: { status: 400, type: 'ProvisionedThroughputExceededException' } } : undefined));
  const client = clientFor(proxy.url);
  try {
    const res = await putRecords(client, { streamName: stream, backoff: { baseDelayMs: 10, maxDelayMs: 50 } }, entries(3));
    assert.equal(res.length, 3);
    proxy.rule = (op) => (op === 'PutRecords' ? { error: { status: 500, type: 'InternalFailure' } } : undefined);
    await assert.rejects(
      putRecords(client, { streamName: stream, maxAttempts: 3, backoff: { baseDelayMs: 5, maxDelayMs: 10 } }, entries(4)),
      (e: unknown) => e instanceof FloeError && e.code === 'KINESIS_PUT_FAILED' && e.retriable && /4 of 4 records still refused after 3 attempts/.test(e.message) && /InternalFailure/.test(e.message),
    );
    proxy.rule = (op) => (op === 'PutRecords' ? { error: { status: 400, type: 'ResourceNotFoundException', message: 'Stream x not found' } } : undefined);
    await assert.rejects(putRecords(client, { streamName: stream }, entries(1)), (e: unknown) => e instanceof FloeError && /ResourceNotFoundException/.test(e.message));
  } finally {
    client.destroy();
    await proxy.close();
  }
});

test('partition keys are validated before sending', async () => {
  await assert.rejects(putRecords(env.client, { streamName: 'x' }, [{ data: enc('a'), partitionKey: '' }]), ValidationError);
  await assert.rejects(putRecords(env.client, { streamName: 'x' }, [{ data: enc('a'), partitionKey: 'k'.repeat(257) }]), /record 0 has a partition key of 257 characters/);
  await assert.rejects(putRecords(env.client, {}, [{ data: enc('a'), partitionKey: 'k' }]), /exactly one of streamName and streamArn/);
});

test('reference events have the reference system shape', async () => {
  const now = Date.parse('2026-01-08T15:16:52.789Z');
  let seed = 1;
  const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
  const e = referenceEvent(3, now, random);
  assert.equal(e.event_id, `evt_${Math.floor(now / 1000)}_3`);
  assert.match(e.user_id, /^user_00[0-4]$/);
  assert.ok(['click', 'page_view', 'purchase'].includes(e.event_type));
  assert.equal(e.page, '/products/103');
  assert.equal(e.timestamp, '2026-01-08T15:16:52Z');
  assert.deepEqual(Object.keys(e), ['event_id', 'user_id', 'event_type', 'page', 'timestamp']);
  assert.equal(isoSeconds(Date.parse('2026-01-08T00:00:00.999Z')), '2026-01-08T00:00:00Z');

  const list = referenceEntries(10, { nowMs: now, first: 0 });
  assert.deepEqual(list.map((x) => x.partitionKey), Array.from({ length: 10 }, (_, i) => `pk_${i}`));
  const users = new Set<string>();
  const types = new Set<string>();
  for (const x of referenceEntries(300, { nowMs: now })) {
    const ev = JSON.parse(dec(x.data)) as { user_id: string; event_type: string };
    users.add(ev.user_id);
    types.add(ev.event_type);
  }
  assert.deepEqual([...users].sort(), ['user_000', 'user_001', 'user_002', 'user_003', 'user_004']);
  assert.deepEqual([...types].sort(), ['click', 'page_view', 'purchase']);

  // End to end: 10 reference events through the stream.
  const stream = await newStream(1);
  await putRecords(env.client, { streamName: stream }, referenceEntries(10));
  const got = (await readAll(stream, 10)).map((t) => JSON.parse(t) as { page: string });
  assert.deepEqual(got.map((g) => g.page), Array.from({ length: 10 }, (_, i) => `/products/${100 + i}`));
});
