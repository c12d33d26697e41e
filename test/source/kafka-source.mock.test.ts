/**
 * The Kafka source against librdkafka's mock cluster (kcat), records produced by `kcat -P`:
 * every record once with its key, headers, offset and timestamp; positions resume exactly; the
 * table's positions win over the group's committed offsets; a latest start; batches in every
 * compression codec librdkafka writes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { KafkaSource } from '../../src/source/kafka/kafka-source.js';
import { SKIP_NO_KCAT, produce, startMockKafka, type MockKafka } from './kafka-mock.js';
import { pollUntil } from './kinesis-test-helpers.js';
import type { SourceRecord } from '../../src/source/source.js';

const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
const { Kafka, logLevel } = kafkajs;

function source(mock: MockKafka, topic: string, group: string, extra: Partial<ConstructorParameters<typeof KafkaSource>[0]> = {}): KafkaSource {
  const log = process.env.FLOE_KAFKA_DEBUG ? (l: string, m: string, f?: unknown) => console.log(l, m, JSON.stringify(f ?? {}).slice(0, 300)) : undefined;
  return new KafkaSource({ brokers: mock.brokers, topics: [topic], group, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 500, ...(log ? { log } : {}), ...extra });
}

function ids(records: SourceRecord[]): number[] {
  return records.map((r) => (JSON.parse(dec(r.data)) as { id: number }).id).sort((a, b) => a - b);
}

describe('KafkaSource against the mock cluster', { skip: SKIP_NO_KCAT }, () => {
  let mock: MockKafka;
  before(async () => {
    mock = await startMockKafka();
  });
  after(async () => {
    await mock?.stop();
  });

  test('reads every record once with key, headers, offset; positions are the last offsets', async () => {
    const records = Array.from({ length: 200 }, (_, i) => ({ value: JSON.stringify({ id: i }), key: `k${i % 7}` }));
    await produce(mock.bootstrap, 't-basic', records);
    await produce(mock.bootstrap, 't-basic', [{ value: '{"id":200}', key: 'h', headers: { trace: 'abc-1', kind: 'x' } }]);
    const s = source(mock, 't-basic', 'g-basic');
    try {
      await s.start(new Map(), { type: 'TRIM_HORIZON' });
      const c = await pollUntil(s, (c) => c.records.length >= 201, { timeoutMs: 20_000 });
      assert.deepEqual(ids(c.records), Array.from({ length: 201 }, (_, i) => i));
      const withHeader = c.records.find((r) => dec(r.data) === '{"id":200}')!;
      assert.equal(withHeader.meta['header:trace'], 'abc-1');
      assert.equal(withHeader.meta['header:kind'], 'x');
      assert.equal(withHeader.meta.key, 'h');
      assert.equal(withHeader.partitionKey, 'h');
      assert.equal(withHeader.meta.topic, 't-basic');
      assert.match(withHeader.partitionId, /^t-basic:[0-3]$/);
      assert.ok(Math.abs(withHeader.arrivalTimeMs - Date.now()) < 60_000, 'timestamp is the record time');
      // Per partition: offsets 0..n-1 in order, and the position is the last one.
      const byPartition = new Map<string, bigint[]>();
      for (const r of c.records) {
        const l = byPartition.get(r.partitionId) ?? [];
        l.push(BigInt(r.position));
        byPartition.set(r.partitionId, l);
        assert.equal(r.meta.offset, r.position);
      }
      assert.ok(byPartition.size > 1, 'keys spread over partitions');
      for (const [p, offs] of byPartition) {
        assert.deepEqual(offs, offs.map((_, i) => BigInt(i)), `offsets of ${p} in order from 0`);
        assert.equal(c.positions.get(p), String(offs.length - 1));
      }
      assert.equal(s.ownedPartitions().size, 4);
    } finally {
      await s.close();
    }
  });

  test('resumes from the positions it is given, not from the group offsets (which it moves after commits)', async () => {
    const records = Array.from({ length: 120 }, (_, i) => ({ value: JSON.stringify({ id: i }), key: `k${i}` }));
    await produce(mock.bootstrap, 't-resume', records);
    const a = source(mock, 't-resume', 'g-resume');
    let firstHalf: SourceRecord[] = [];
    let positions = new Map<string, string>();
    try {
      await a.start(new Map(), { type: 'TRIM_HORIZON' });
      const c = await pollUntil(a, (c) => c.records.length >= 60, { timeoutMs: 20_000, maxRecords: 10 });
      firstHalf = c.records;
      positions = new Map(c.positions);
      // Read further and move the group's offsets past what "the table" (positions) holds: the
      // next member must start from the table's positions, not from the group's.
      const more = await pollUntil(a, (d) => d.records.length >= 20, { timeoutMs: 20_000, maxRecords: 10 });
      const ahead = new Map([...c.positions, ...more.positions]);
      a.markCommitted(ahead);
      const admin = new Kafka({ brokers: mock.brokers, logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      try {
        const expected = [...ahead].map(([id, pos]) => [Number(id.split(':')[1]), String(BigInt(pos) + 1n)]).sort();
        let got: (string | number)[][] = [];
        for (let i = 0; i < 50; i++) {
          const [t] = await admin.fetchOffsets({ groupId: 'g-resume', topics: ['t-resume'] });
          got = t!.partitions.filter((p) => p.offset !== '-1').map((p) => [p.partition, p.offset]).sort();
          if (JSON.stringify(got) === JSON.stringify(expected)) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        assert.deepEqual(got, expected, 'the group holds the next offsets of what was committed (lag tools)');
      } finally {
        await admin.disconnect();
      }
    } finally {
      await a.close();
    }
    const b = source(mock, 't-resume', 'g-resume');
    try {
      await b.start(positions, { type: 'TRIM_HORIZON' });
      const c = await pollUntil(b, (c) => c.records.length >= 120 - firstHalf.length, { timeoutMs: 20_000 });
      await new Promise((r) => setTimeout(r, 500));
      const more = await b.poll({ maxRecords: 1000, maxBytes: 1 << 20, waitMs: 300 });
      assert.equal(more.records.length, 0, 'nothing beyond the rest');
      assert.deepEqual(ids([...firstHalf, ...c.records]), Array.from({ length: 120 }, (_, i) => i));
    } finally {
      await b.close();
    }
    // A third member of a new group with the table's final positions reads nothing again.
    const done = new Map(positions);
    const d = source(mock, 't-resume', 'g-resume-other');
    try {
      const all = await (async () => {
        const x = source(mock, 't-resume', 'g-resume-all');
        try {
          await x.start(new Map(), { type: 'TRIM_HORIZON' });
          return await pollUntil(x, (c) => c.records.length >= 120, { timeoutMs: 20_000 });
        } finally {
          await x.close();
        }
      })();
      for (const [k, v] of all.positions) done.set(k, v);
      await d.start(done, { type: 'TRIM_HORIZON' });
      const none = await d.poll({ maxRecords: 1000, maxBytes: 1 << 20, waitMs: 1500 });
      assert.equal(none.records.length, 0);
    } finally {
      await d.close();
    }
  });

  test('latest skips what is there (a timestamp: kafka-source.timestamp.test.ts, through a proxy)', async () => {
    await produce(mock.bootstrap, 't-latest', Array.from({ length: 20 }, (_, i) => ({ value: JSON.stringify({ id: i }), key: `k${i}` })));
    const s = source(mock, 't-latest', 'g-latest');
    try {
      await s.start(new Map(), { type: 'LATEST' });
      await new Promise((r) => setTimeout(r, 500));
        await produce(mock.bootstrap, 't-latest', Array.from({ length: 10 }, (_, i) => ({ value: JSON.stringify({ id: 100 + i }), key: `k${i}` })));
      const c = await pollUntil(s, (c) => c.records.length >= 10, { timeoutMs: 20_000 });
      assert.deepEqual(ids(c.records), Array.from({ length: 10 }, (_, i) => 100 + i));
    } finally {
      await s.close();
    }
  });

  test('batches compressed with gzip, snappy, lz4 and zstd by librdkafka are read', async () => {
    // One partition per codec of one topic: one consumer (one group join) reads them all.
    const codecs = ['gzip', 'snappy', 'lz4', 'zstd'] as const;
    for (const [k, codec] of codecs.entries()) {
      // Large enough to compress, repetitive enough to shrink; several batches per partition.
      const records = Array.from({ length: 300 }, (_, i) => ({ value: JSON.stringify({ id: k * 1000 + i, pad: 'x'.repeat(200 + (i % 50)) }) }));
      await produce(mock.bootstrap, 't-codecs', records, { compression: codec, partition: k });
    }
    const s = source(mock, 't-codecs', 'g-codecs');
    try {
      await s.start(new Map(), { type: 'TRIM_HORIZON' });
      const c = await pollUntil(s, (c) => c.records.length >= 1200, { timeoutMs: 20_000 });
      assert.deepEqual(ids(c.records), codecs.flatMap((_, k) => Array.from({ length: 300 }, (_, i) => k * 1000 + i)));
      for (const [k, codec] of codecs.entries()) assert.equal(c.positions.get(`t-codecs:${k}`), '299', codec);
    } finally {
      await s.close();
    }
  });
});
