import { KafkaSource } from '../../src/source/kafka/kafka-source.js';
import { startMockKafka } from './kafka-mock.js';
import { spawn } from 'node:child_process';
const N = 200_000;
const mock = await startMockKafka();
const line = (i: number) => JSON.stringify({ event_id: `evt_${i}`, user_id: `user_00${i % 5}`, event_type: 'page_view', page: `/products/${i % 1000}`, timestamp: '2026-12-07T05:00:00Z' });
const t0 = Date.now();
await new Promise<void>((resolve, reject) => {
  const c = spawn('kcat', ['-P', '-b', mock.bootstrap, '-t', 'bench', '-X', 'linger.ms=20', '-X', 'topic.partitioner=random'], { stdio: ['pipe', 'ignore', 'inherit'] });
  c.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(String(code)))));
  const chunk: string[] = [];
  for (let i = 0; i < N; i++) chunk.push(line(i));
  c.stdin!.end(chunk.join('\n') + '\n');
});
console.log(`kcat -P: ${N} records in ${Date.now() - t0} ms`);
const s = new KafkaSource({ brokers: mock.brokers, topics: ['bench'], group: 'bench', sessionTimeoutMs: 10000, heartbeatIntervalMs: 1000 });
await s.start(new Map(), { type: 'TRIM_HORIZON' });
const cpu0 = process.cpuUsage();
const t1 = Date.now();
let n = 0;
while (n < N) {
  const b = await s.poll({ maxRecords: 10000, maxBytes: 1 << 26, waitMs: 500 });
  n += b.records.length;
}
const ms = Date.now() - t1;
const cpu = process.cpuUsage(cpu0);
console.log(`KafkaSource: ${n} records in ${ms} ms = ${Math.round(n / (ms / 1000))} records/s; CPU ${((cpu.user + cpu.system) / n).toFixed(2)} us/record`);
await s.close();
await mock.stop();
