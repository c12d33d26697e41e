/**
 * Backpressure: with a slow consumer, the readers stop fetching when their buffers are full, so
 * memory stays within the configured bounds (per shard and across shards) and nothing is lost.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { KinesisSource, type KinesisSourceOptions } from '../../src/source/kinesis/kinesis-source.js';
import { putRecords } from '../../src/source/kinesis/producer.js';
import { clientFor, createStream, dec, enc, startFaultProxy, startLocal, waitFor, type FaultProxy, type LocalEnv } from './kinesis-test-helpers.js';

let env: LocalEnv;
let proxy: FaultProxy;
before(async () => {
  env = await startLocal();
  proxy = await startFaultProxy(env.kinesis.url);
});
after(async () => {
  await proxy.close();
  await env.close();
});

let streamNo = 0;
async function newStream(shards: number, records: number, size: number): Promise<string> {
  const name = `bp-${++streamNo}`;
  await createStream(env.client, name, shards);
  const entries = Array.from({ length: records }, (_, i) => ({ data: enc(String(i).padStart(size, '0')), partitionKey: `key-${i}` }));
  for (let i = 0; i < entries.length; i += 500) await putRecords(env.client, { streamName: name }, entries.slice(i, i + 500));
  return name;
}

function source(streamName: string, extra: Partial<KinesisSourceOptions>): KinesisSource {
  return new KinesisSource({ client: clientFor(proxy.url), streamName, minCallIntervalMs: 10, idleDelayMs: 20, ...extra });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a slow consumer keeps each shard buffer within its record bound and loses nothing', async () => {
  const stream = await newStream(1, 300, 20);
  const s = source(stream, { maxBufferedRecordsPerShard: 40 });
  const callsBefore = proxy.calls.length;
  try {
    await s.start(new Map(), { type: 'TRIM_HORIZON' });
    // Nobody consumes yet: the buffer fills to the bound and the reader stops calling.
    await waitFor(() => s.metrics().bufferedRecords === 40, 5000, 'buffer full');
    await sleep(50);
    const idleCalls = proxy.calls.length;
    await sleep(300);
    assert.equal(proxy.calls.length, idleCalls, 'no GetRecords while the buffer is full');
    assert.equal(s.metrics().bufferedRecords, 40);
    const got: number[] = [];
    let maxSeen = 0;
    while (got.length < 300) {
      const m = s.metrics();
      maxSeen = Math.max(maxSeen, m.bufferedRecords);
      assert.ok(m.bufferedRecords <= 40, `buffered ${m.bufferedRecords} records`);
      const b = await s.poll({ maxRecords: 10, maxBytes: 1 << 20, waitMs: 1000 });
      got.push(...b.records.map((r) => Number(dec(r.data))));
      await sleep(15); // the slow consumer
    }
    assert.deepEqual(got, Array.from({ length: 300 }, (_, i) => i));
    const p = s.metrics().partitions[0]!;
    assert.ok(p.peakBufferedRecords <= 40, `peak ${p.peakBufferedRecords}`);
    assert.ok(p.peakBufferedRecords >= 30, `the buffer did fill up (peak ${p.peakBufferedRecords})`);
    // GetRecords calls asked only for the room left.
    const limits = proxy.calls.slice(callsBefore).filter((c) => c.op === 'GetRecords').map((c) => Number(c.body.Limit));
    assert.ok(limits.every((l) => l >= 1 && l <= 40), `limits ${limits.join(',')}`);
    assert.ok(limits.some((l) => l < 40), 'calls were sized down as the buffer filled');
  } finally {
    await s.close();
  }
});

test('a full buffer stops the fetching altogether until the consumer takes records', async () => {
  const stream = await newStream(1, 100, 1000);
  const s = source(stream, { maxBufferedBytesPerShard: 10_000 });
  try {
    await s.start(new Map(), { type: 'TRIM_HORIZON' });
    await waitFor(() => s.metrics().bufferedBytes > 8_000, 5000, 'buffer filled');
    await sleep(100);
    const calls = proxy.calls.filter((c) => c.op === 'GetRecords').length;
    const m1 = s.metrics();
    await sleep(500);
    assert.equal(proxy.calls.filter((c) => c.op === 'GetRecords').length, calls, 'no GetRecords while full');
    assert.equal(s.metrics().bufferedBytes, m1.bufferedBytes);
    assert.ok(m1.bufferedBytes <= 10_000, `buffered ${m1.bufferedBytes} bytes`);
    // Take some: fetching resumes.
    const b = await s.poll({ maxRecords: 5, maxBytes: 1 << 20 });
    assert.equal(b.records.length, 5);
    await waitFor(() => proxy.calls.filter((c) => c.op === 'GetRecords').length > calls, 3000, 'fetching resumed');
    // Drain everything, in order, never above the bound.
    const got = b.records.map((r) => Number(dec(r.data)));
    while (got.length < 100) {
      const x = await s.poll({ maxRecords: 7, maxBytes: 1 << 20, waitMs: 1000 });
      got.push(...x.records.map((r) => Number(dec(r.data))));
    }
    assert.deepEqual(got, Array.from({ length: 100 }, (_, i) => i));
    assert.ok(s.metrics().partitions[0]!.peakBufferedBytes <= 10_000, `peak ${s.metrics().partitions[0]!.peakBufferedBytes}`);
  } finally {
    await s.close();
  }
});

test('the source-wide byte budget bounds all shards together', async () => {
  const stream = await newStream(4, 400, 500);
  const s = source(stream, { maxBufferedBytes: 8_000, maxBufferedBytesPerShard: 1 << 20 });
  try {
    await s.start(new Map(), { type: 'TRIM_HORIZON' });
    await waitFor(() => s.metrics().bufferedBytes > 6_000, 5000, 'buffers filled');
    await sleep(300);
    const m = s.metrics();
    assert.ok(m.bufferedBytes <= 8_000, `buffered ${m.bufferedBytes}`);
    const got = new Set<string>();
    while (got.size < 400) {
      const b = await s.poll({ maxRecords: 13, maxBytes: 1 << 20, waitMs: 1000 });
      for (const r of b.records) got.add(dec(r.data));
      assert.ok(s.metrics().peakBufferedBytes <= 8_000, `peak ${s.metrics().peakBufferedBytes}`);
    }
    assert.equal(got.size, 400);
    // Every shard got its turn: no shard starved while others filled the budget.
    for (const p of s.metrics().partitions) assert.ok(p.recordsRead > 0, `${p.partitionId} read`);
  } finally {
    await s.close();
  }
});
