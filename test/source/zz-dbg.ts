import { KafkaSource } from '../../src/source/kafka/kafka-source.js';
import { produce, startMockKafka } from './kafka-mock.js';
const mock = await startMockKafka();
await produce(mock.bootstrap, 't', Array.from({ length: 20 }, (_, i) => ({ value: JSON.stringify({ id: i }), key: `k${i}` })));
const s = new KafkaSource({ brokers: mock.brokers, topics: ['t'], group: 'g', sessionTimeoutMs: 10000, heartbeatIntervalMs: 3000, log: (l, m, f) => console.log(l, m, JSON.stringify(f ?? {})) });
await s.start(new Map(), { type: 'LATEST' });
console.log('started'); await new Promise((r) => setTimeout(r, 1000));
await produce(mock.bootstrap, 't', Array.from({ length: 10 }, (_, i) => ({ value: JSON.stringify({ id: 100 + i }), key: `k${i}` })));
for (let i = 0; i < 10; i++) { const b = await s.poll({ maxRecords: 100, maxBytes: 1e6, waitMs: 200 }); console.log('poll', b.records.length, JSON.stringify(s.metrics().partitions.map(p=>[p.partitionId,p.fetches,p.recordsRead]))); }
await s.close(); await mock.stop();
