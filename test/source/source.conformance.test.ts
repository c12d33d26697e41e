/**
 * The Source conformance suite (`conformance.ts`) run by the memory source, the Kinesis source
 * (kinesalite on 127.0.0.1) and the Kafka source (librdkafka's mock cluster through kcat).
 */
import { randomUUID } from 'node:crypto';
import { MemorySource, type MemoryPartition } from '../../src/source/memory.js';
import { KinesisSource } from '../../src/source/kinesis/kinesis-source.js';
import { putRecords } from '../../src/source/kinesis/producer.js';
import { KafkaSource } from '../../src/source/kafka/kafka-source.js';
import { sourceConformance, type SourceHarness } from './conformance.js';
import { createStream, enc, startLocal } from './kinesis-test-helpers.js';
import { SKIP_NO_KCAT, produce, startMockKafka } from './kafka-mock.js';

const json = (id: number): string => JSON.stringify({ id });

sourceConformance('memory', async (): Promise<SourceHarness> => ({
  async stream() {
    // Partitions that grow as records are put (MemorySource reads `length` at every poll).
    const data: Uint8Array[][] = [[], [], []];
    const partitions: MemoryPartition[] = data.map((recs, k) => ({
      id: `p${k}`,
      get length() {
        return recs.length;
      },
      record: (i: number) => ({ data: recs[i]! }),
    }));
    return {
      open: () => new MemorySource({ id: 'mem', partitions }),
      async put(from, n) {
        for (let i = from; i < from + n; i++) data[i % data.length]!.push(enc(json(i)));
      },
    };
  },
}));

sourceConformance('kinesis (kinesalite)', async (): Promise<SourceHarness> => {
  const env = await startLocal();
  return {
    async stream() {
      const streamName = `conf-${randomUUID().slice(0, 8)}`;
      await createStream(env.client, streamName, 2);
      return {
        open: () => new KinesisSource({ client: env.client, streamName, idleDelayMs: 20, minCallIntervalMs: 20 }),
        async put(from, n) {
          await putRecords(env.client, { streamName }, Array.from({ length: n }, (_, k) => ({ data: enc(json(from + k)), partitionKey: `pk_${from + k}` })));
        },
      };
    },
    cleanup: () => env.close(),
  };
});

sourceConformance(
  'kafka (librdkafka mock cluster)',
  async (): Promise<SourceHarness> => {
    const mock = await startMockKafka();
    return {
      async stream() {
        const topic = `conf-${randomUUID().slice(0, 8)}`;
        let members = 0;
        return {
          // A group per reader: each starts from the positions it is given, as after a restart.
          open: () => new KafkaSource({ brokers: mock.brokers, topics: [topic], group: `${topic}-${members++}`, sessionTimeoutMs: 6000, heartbeatIntervalMs: 1000 }),
          async put(from, n) {
            await produce(mock.bootstrap, topic, Array.from({ length: n }, (_, k) => ({ value: json(from + k), key: `k${from + k}` })));
          },
        };
      },
      cleanup: () => mock.stop(),
      timeoutMs: 20_000,
    };
  },
  { skip: SKIP_NO_KCAT },
);
