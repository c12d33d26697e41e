/**
 * One topic with 12 partitions (librdkafka's mock cluster with the topic created through its C
 * API, `kafka-mock-topics.ts`: kcat's mock makes every topic 4 partitions), records produced by
 * `kcat -P` to every partition: the source owns all 12 (ids `twelve:0` … `twelve:11`, two-digit
 * partition numbers included), reads every record once in offset order, and each position is
 * its partition's last offset.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { KafkaSource } from '../../src/source/kafka/kafka-source.js';
import { SKIP_NO_KCAT, produce, type MockKafka } from './kafka-mock.js';
import { skipNoMockTopics, startMockKafkaWithTopics } from './kafka-mock-topics.js';
import { pollUntil } from './kinesis-test-helpers.js';

const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
const { Kafka, logLevel } = kafkajs;

describe('KafkaSource: a topic with 12 partitions', { skip: SKIP_NO_KCAT || skipNoMockTopics() }, () => {
  let mock: MockKafka;
  before(async () => {
    mock = await startMockKafkaWithTopics({ twelve: 12 });
  });
  after(async () => {
    await mock?.stop();
  });

  test('every partition owned and read once, in offset order, positions the last offsets', { timeout: 60_000 }, async () => {
    const admin = new Kafka({ brokers: mock.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const md = await admin.fetchTopicMetadata({ topics: ['twelve'] });
      assert.equal(md.topics[0]!.partitions.length, 12, 'the mock made the topic with 12 partitions');
    } finally {
      await admin.disconnect();
    }
    // Partition p gets 5 + p records (ids p*100 + i), so each position differs.
    for (let p = 0; p < 12; p++) await produce(mock.bootstrap, 'twelve', Array.from({ length: 5 + p }, (_, i) => ({ value: JSON.stringify({ id: p * 100 + i }) })), { partition: p });
    const s = new KafkaSource({ brokers: mock.brokers, topics: ['twelve'], group: 'g-twelve', sessionTimeoutMs: 10_000, heartbeatIntervalMs: 500 });
    try {
      await s.start(new Map(), { type: 'TRIM_HORIZON' });
      const total = Array.from({ length: 12 }, (_, p) => 5 + p).reduce((a, b) => a + b, 0);
      const c = await pollUntil(s, (c) => c.records.length >= total, { timeoutMs: 20_000 });
      const more = await s.poll({ maxRecords: 1000, maxBytes: 1 << 20, waitMs: 300 });
      assert.equal(more.records.length, 0, 'nothing twice');
      assert.equal(s.ownedPartitions().size, 12);
      const byPartition = new Map<string, number[]>();
      for (const r of c.records) {
        const id = (JSON.parse(dec(r.data)) as { id: number }).id;
        byPartition.set(r.partitionId, [...(byPartition.get(r.partitionId) ?? []), id]);
        assert.equal(r.meta.partition, r.partitionId.split(':')[1]);
      }
      for (let p = 0; p < 12; p++) {
        const id = `twelve:${p}`;
        assert.deepEqual(byPartition.get(id), Array.from({ length: 5 + p }, (_, i) => p * 100 + i), `${id} in offset order`);
        assert.equal(c.positions.get(id), String(4 + p), `${id} position`);
      }
    } finally {
      await s.close();
    }
  });
});
