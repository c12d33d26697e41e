/**
 * The fast Kinesis endpoint (`kinesis-fast-endpoint.ts`) in a process of its own, so that it can
 * be pinned to another core than the reader (`kinesis-path.ts` starts it under `taskset -c 1`).
 *
 *   node dist/bench/kinesis-fast-server.js --shards 16 --events 1000000 [--size 150]
 *        [--limits] [--write-bytes-per-second 2000000] [--backlog-ms 0] [--stream bench-path]
 *
 * `--events` reference events (bench/common.ts's pool) are spread evenly over the shards, with
 * partition keys `pk_<n>`. Prints `{"url", …}` once listening, `{"allServedAtMs", …}` when every
 * record has been served once; answers a `stats` line on stdin with the endpoint's counters and
 * its own CPU; exits when stdin closes.
 */
import { createInterface } from 'node:readline';
import { emitResult, eventPool, flag } from './common.js';
import { startFastKinesis, type FastShardSpec } from './kinesis-fast-endpoint.js';

const shards = Number(flag('shards', '1'));
const events = Number(flag('events', '100000'));
const size = Number(flag('size', '150')) as 150 | 1024;
const limits = process.argv.includes('--limits');
const writeRate = Number(flag('write-bytes-per-second', '0'));
const backlogMs = Number(flag('backlog-ms', '0'));
const stream = flag('stream', 'bench-path');
if (!(shards >= 1) || !(events >= 0)) throw new Error('kinesis-fast-server: --shards must be >= 1 and --events >= 0');

const t0 = performance.now();
const pool = eventPool(size);
const perShard = Math.floor(events / shards);
const specs: FastShardSpec[] = Array.from({ length: shards }, (_, s) => {
  const count = perShard + (s < events % shards ? 1 : 0);
  return {
    records: {
      count,
      record: (i: number) => {
        const n = i * shards + s;
        return { data: pool[n % pool.length]!, partitionKey: `pk_${n % 1_000_000}` };
      },
    },
  };
});
const endpoint = await startFastKinesis({
  streamName: stream,
  shards: specs,
  limits,
  ...(writeRate > 0 ? { writeBytesPerSecond: writeRate, backlogMs } : {}),
});
const cpu0 = process.cpuUsage();
emitResult({
  url: endpoint.url,
  stream,
  shards,
  events,
  prepareSeconds: (performance.now() - t0) / 1000,
  rssMB: process.memoryUsage().rss / 1e6,
  startedAtMs: Date.now(),
  /** The last record's sequence number in each shard (what a reader's checkpoint ends at). */
  lastSequenceNumbers: specs.map((spec, s) => {
    const count = (spec.records as { count: number }).count;
    return count > 0 ? endpoint.sequenceNumber(s, count - 1) : null;
  }),
});
void endpoint.allServed().then(() => emitResult({ allServedAtMs: endpoint.stats().allServedAtMs }));

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line.trim() === 'stats') {
    const cpu = process.cpuUsage(cpu0);
    emitResult({ stats: endpoint.stats(), serverCpuSeconds: (cpu.user + cpu.system) / 1e6 });
  }
});
lines.on('close', () => {
  void endpoint.close().then(() => process.exit(0));
});
