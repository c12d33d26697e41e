/**
 * `initial_position: timestamp` of the Kafka source. librdkafka's mock cluster (2.0.2) does not
 * look offsets up by time: it answers ListOffsets with a timestamp with offset -1 (checked here
 * first, so a mock that learns it makes this test say so). The source is therefore read through
 * `kafka-metadata-proxy.ts`, which answers those lookups from the partition's own records as the mock
 * stores them (their CreateTime, set by kcat's librdkafka when it produced them): the first offset
 * at or after the timestamp, -1 when there is none. A partition the table has never seen starts
 * there (at the end after a -1); one the table holds starts from the table's position.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { KafkaSource } from '../../src/source/kafka/kafka-source.js';
import { SKIP_NO_KCAT, produce, startMockKafka, type MockKafka } from './kafka-mock.js';
import { startKafkaProxy, type KafkaProxy } from './kafka-metadata-proxy.js';
import { pollUntil } from './kinesis-test-helpers.js';

const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const { Kafka, logLevel } = kafkajs;

describe('KafkaSource: initial position at a timestamp', { skip: SKIP_NO_KCAT }, () => {
  let mock: MockKafka;
  let proxy: KafkaProxy;
  before(async () => {
    mock = await startMockKafka();
    proxy = await startKafkaProxy(mock);
  });
  after(async () => {
    await proxy?.close();
    await mock?.stop();
  });

  test('partitions the table never saw start at the first offset at or after the timestamp; the others at the table position', { timeout: 60_000 }, async () => {
    const topic = 't-time';
    const rec = (id: number) => ({ value: JSON.stringify({ id }) });
    // Before the timestamp: 10 records on each of partitions 0, 1, 2 (ids 0..29).
    for (const p of [0, 1, 2]) await produce(mock.bootstrap, topic, Array.from({ length: 10 }, (_, i) => rec(p * 10 + i)), { partition: p });
    await sleep(50);
    const at = Date.now();
    await sleep(50);
    // At or after it: 10 more on partitions 0 and 1 (ids 100..119); none on 2 and 3.
    for (const p of [0, 1]) await produce(mock.bootstrap, topic, Array.from({ length: 10 }, (_, i) => rec(100 + p * 10 + i)), { partition: p });

    // The mock itself: no lookup by time (offset -1, which kafkajs turns into the end offset).
    const admin = new Kafka({ brokers: mock.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const byTime = await admin.fetchTopicOffsetsByTimestamp(topic, at);
      const ends = await admin.fetchTopicOffsets(topic);
      assert.deepEqual(
        byTime.map((o) => [o.partition, o.offset]).sort(),
        ends.map((o) => [o.partition, o.high]).sort(),
        'the mock answers a timestamp lookup with -1 (kafkajs: the end); if this fails, the mock learned it and the proxy is no longer needed',
      );
    } finally {
      await admin.disconnect();
    }

    // Partition 1 is in the table at offset 4: it resumes at 5, whatever the timestamp.
    const s = new KafkaSource({ brokers: proxy.brokers, topics: [topic], group: 'g-time', sessionTimeoutMs: 10_000, heartbeatIntervalMs: 500 });
    try {
      await s.start(new Map([[`${topic}:1`, '4']]), { type: 'AT_TIMESTAMP', timestampMs: at });
      // Partitions 2 and 3 have nothing after the timestamp: they start at their end, so only
      // what is produced now is read from them.
      await produce(mock.bootstrap, topic, [rec(200), rec(201)], { partition: 2 });
      await produce(mock.bootstrap, topic, [rec(300)], { partition: 3 });
      const expected = [...Array.from({ length: 10 }, (_, i) => 100 + i), ...[5, 6, 7, 8, 9].map((i) => 10 + i), ...Array.from({ length: 10 }, (_, i) => 110 + i), 200, 201, 300].sort((a, b) => a - b);
      const c = await pollUntil(s, (c) => c.records.length >= expected.length, { timeoutMs: 20_000 });
      await sleep(300);
      const more = await s.poll({ maxRecords: 1000, maxBytes: 1 << 20, waitMs: 300 });
      const got = [...c.records, ...more.records].map((r) => (JSON.parse(dec(r.data)) as { id: number }).id).sort((a, b) => a - b);
      assert.deepEqual(got, expected);
      const first = new Map<string, string>();
      for (const r of c.records) if (!first.has(r.partitionId)) first.set(r.partitionId, r.position);
      assert.deepEqual(Object.fromEntries([...first].sort()), { [`${topic}:0`]: '10', [`${topic}:1`]: '5', [`${topic}:2`]: '10', [`${topic}:3`]: '0' });
      // The lookups the proxy answered for the partitions the table lacks.
      const looked = new Map(proxy.lookups.filter((l) => l.topic === topic).map((l) => [l.partition, l.offset]));
      assert.equal(looked.get(0), 10n);
      assert.equal(looked.get(2), -1n);
      assert.equal(looked.get(3), -1n);
      assert.deepEqual(proxy.errors, []);
    } finally {
      await s.close();
    }
  });
});
