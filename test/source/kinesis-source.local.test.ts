/**
 * KinesisSource against a real kinesalite on 127.0.0.1: discovery, starting positions
 * (TRIM_HORIZON, LATEST, AT_TIMESTAMP, resume after a committed position, SHARD_END), record
 * metadata, MillisBehindLatest, and closing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { SplitShardCommand } from '@aws-sdk/client-kinesis';
import { FloeError, ValidationError } from '../../src/errors.js';
import { KinesisSource, type KinesisSourceOptions } from '../../src/source/kinesis/kinesis-source.js';
import { putRecords } from '../../src/source/kinesis/producer.js';
import { SHARD_END } from '../../src/source/source.js';
import { createStream, dec, enc, pollFor, pollUntil, startLocal, waitFor, type LocalEnv } from './kinesis-test-helpers.js';

let env: LocalEnv;
before(async () => {
  env = await startLocal();
});
after(async () => {
  await env.close();
});

let streamNo = 0;
async function newStream(shards = 1): Promise<string> {
  const name = `local-${++streamNo}`;
  await createStream(env.client, name, shards);
  return name;
}

function source(streamName: string, extra: Partial<KinesisSourceOptions> = {}): KinesisSource {
  return new KinesisSource({ client: env.client, streamName, idleDelayMs: 20, minCallIntervalMs: 20, ...extra });
}

async function put(streamName: string, texts: string[], key = (i: number) => `pk_${i}`) {
  return putRecords(env.client, { streamName }, texts.map((t, i) => ({ data: enc(t), partitionKey: key(i) })));
}

test('TRIM_HORIZON reads every record of every shard, in order per shard, with metadata', async () => {
  const stream = await newStream(3);
  const sent = await put(stream, Array.from({ length: 60 }, (_, i) => `r${i}`));
  const s = source(stream);
  try {
    await s.start(new Map(), { type: 'TRIM_HORIZON' });
    const m0 = s.metrics();
    assert.equal(m0.partitions.length, 3, 'three shards discovered');
    assert.equal(m0.discoveries, 1);
    const c = await pollUntil(s, (c) => c.records.length >= 60);
    assert.equal(c.records.length, 60);
    assert.deepEqual(new Set(c.records.map((r) => dec(r.data))), new Set(Array.from({ length: 60 }, (_, i) => `r${i}`)));
    // Per shard, records come in sequence order and positions are their sequence numbers.
    for (const shard of new Set(sent.map((x) => x.shardId))) {
      const expected = sent.filter((x) => x.shardId === shard).map((x) => x.sequenceNumber);
      const got = c.records.filter((r) => r.partitionId === shard).map((r) => r.position);
      assert.deepEqual(got, expected, `order of ${shard}`);
      assert.equal(c.positions.get(shard), expected.at(-1));
    }
    const r0 = c.records.find((r) => dec(r.data) === 'r0');
    assert.ok(r0);
    assert.equal(r0.partitionKey, 'pk_0');
    assert.equal(r0.meta.stream, stream);
    assert.equal(r0.meta.shardId, r0.partitionId);
    assert.equal(r0.meta.sequenceNumber, r0.position);
    assert.ok(Math.abs(r0.arrivalTimeMs - Date.now()) < 60_000, 'arrival time is epoch ms');
    const m = s.metrics();
    assert.equal(m.recordsRead, 60);
    assert.ok(m.bytesRead >= 60 * 2);
    assert.equal(typeof m.millisBehindLatest, 'number', 'MillisBehindLatest reported');
    for (const p of m.partitions) {
      assert.equal(p.state, 'reading');
      assert.equal(typeof p.millisBehindLatest, 'number', `MillisBehindLatest of ${p.partitionId}`);
      assert.ok(p.fetches >= 1);
    }
  } finally {
    await s.close();
  }
});

test('poll respects maxRecords and maxBytes, yet returns one oversize record alone', async () => {
  const stream = await newStream(1);
  await put(stream, ['a'.repeat(100), 'b'.repeat(100), 'c'.repeat(100), 'd'.repeat(1000)], () => 'k');
  const s = source(stream);
  try {
    await s.start(new Map(), { type: 'TRIM_HORIZON' });
    await waitFor(() => s.metrics().bufferedRecords === 4);
    const b1 = await s.poll({ maxRecords: 1, maxBytes: 1 << 20 });
    assert.equal(b1.records.length, 1);
    const b2 = await s.poll({ maxRecords: 10, maxBytes: 250 });
    assert.equal(b2.records.length, 2, 'two 101-byte records fit in 250 bytes, the 1001-byte one does not');
    const b3 = await s.poll({ maxRecords: 10, maxBytes: 10 });
    assert.equal(b3.records.length, 1, 'an oversize record is still delivered');
    assert.equal(dec(b3.records[0]!.data), 'd'.repeat(1000));
    const b4 = await s.poll({ maxRecords: 10, maxBytes: 10, waitMs: 50 });
    assert.equal(b4.records.length, 0);
    assert.equal(b4.positions.size, 0);
  } finally {
    await s.close();
  }
});

test('LATEST reads only records put after the start', async () => {
  const stream = await newStream(2);
  await put(stream, ['old1', 'old2', 'old3']);
  const s = source(stream);
  try {
    await s.start(new Map(), { type: 'LATEST' });
    // Wait until every shard has its LATEST iterator and made a call.
    await pollUntil(s, () => s.metrics().partitions.every((p) => p.fetches > 0));
    await put(stream, ['new1', 'new2']);
    const c = await pollUntil(s, (c) => c.records.length >= 2);
    const extra = await pollFor(s, 300);
    assert.deepEqual([...c.records, ...extra.records].map((r) => dec(r.data)).sort(), ['new1', 'new2']);
  } finally {
    await s.close();
  }
});

test('AT_TIMESTAMP starts at the first record at or after the timestamp', async () => {
  const stream = await newStream(1);
  await put(stream, ['before1', 'before2']);
  await new Promise((r) => setTimeout(r, 50));
  const t = Date.now();
  await new Promise((r) => setTimeout(r, 50));
  await put(stream, ['after1', 'after2']);
  const s = source(stream);
  try {
    await s.start(new Map(), { type: 'AT_TIMESTAMP', timestampMs: t });
    const c = await pollUntil(s, (c) => c.records.length >= 2);
    const extra = await pollFor(s, 300);
    assert.deepEqual([...c.records, ...extra.records].map((r) => dec(r.data)), ['after1', 'after2']);
  } finally {
    await s.close();
  }
});

test('resume: AFTER the committed position, SHARD_END shards are not read, others start at the default', async () => {
  const stream = await newStream(1);
  const sent = await put(stream, ['r0', 'r1', 'r2', 'r3', 'r4'], () => 'k');
  const s = source(stream);
  try {
    const shard = sent[0]!.shardId;
    await s.start(new Map([[shard, sent[1]!.sequenceNumber]]), { type: 'LATEST' });
    const c = await pollUntil(s, (c) => c.records.length >= 3);
    assert.deepEqual(c.records.map((r) => dec(r.data)), ['r2', 'r3', 'r4']);
  } finally {
    await s.close();
  }

  // A shard committed at SHARD_END: after a split, the parent is done and the children read.
  const stream2 = await newStream(1);
  const before = await put(stream2, ['parent'], () => 'k');
  const parent = before[0]!.shardId;
  await env.client.send(new SplitShardCommand({ StreamName: stream2, ShardToSplit: parent, NewStartingHashKey: (2n ** 127n).toString() }));
  await new Promise((r) => setTimeout(r, 50));
  await put(stream2, ['child'], () => 'k');
  const s2 = source(stream2);
  try {
    await s2.start(new Map([[parent, SHARD_END]]), { type: 'TRIM_HORIZON' });
    const c = await pollUntil(s2, (c) => c.records.length >= 1);
    assert.deepEqual(c.records.map((r) => dec(r.data)), ['child']);
    const states = Object.fromEntries(s2.metrics().partitions.map((p) => [p.partitionId, p.state]));
    assert.equal(states[parent], 'done');
  } finally {
    await s2.close();
  }
});

test('bad inputs: malformed start positions, unknown stream, options', async () => {
  const stream = await newStream(1);
  const s = source(stream);
  await assert.rejects(
    s.start(new Map([['shardId-000000000000', 'garbage']]), { type: 'TRIM_HORIZON' }),
    (e: unknown) => e instanceof ValidationError && /start position of shard shardId-000000000000/.test(e.message),
  );
  await s.close();
  const missing = source('no-such-stream');
  await assert.rejects(missing.start(new Map(), { type: 'TRIM_HORIZON' }), (e: unknown) => e instanceof FloeError && /stream no-such-stream not found/.test(e.message));
  await missing.close();
  assert.throws(() => source(stream, { maxRecordsPerCall: 20_000 }), /maxRecordsPerCall/);
  assert.throws(() => source(stream, { maxBufferedBytes: -1 }), /maxBufferedBytes/);
  assert.throws(() => new KinesisSource({ client: env.client }), /exactly one of streamName and streamArn/);
});

test('a checkpoint the stream rejects fails the source with a clear error', async () => {
  const b = await newStream(1);
  const s = source(b);
  try {
    // Well-formed for floe, but not a sequence number this stream ever issued.
    await s.start(new Map([['shardId-000000000000', '12345']]), { type: 'TRIM_HORIZON' });
    await assert.rejects(pollUntil(s, () => false, { timeoutMs: 3000 }), (e: unknown) => e instanceof FloeError && /GetShardIterator AFTER_SEQUENCE_NUMBER/.test(e.message));
    assert.equal(s.metrics().partitions[0]!.state, 'failed');
  } finally {
    await s.close();
  }
});

test('close ends a pending poll with an empty batch and stops readers', async () => {
  const stream = await newStream(1);
  const s = source(stream);
  await s.start(new Map(), { type: 'TRIM_HORIZON' });
  const pending = s.poll({ maxRecords: 10, maxBytes: 1000, waitMs: 10_000 });
  const t0 = Date.now();
  setTimeout(() => void s.close(), 50);
  const b = await pending;
  assert.equal(b.records.length, 0);
  assert.ok(Date.now() - t0 < 2000);
  await s.close();
});
