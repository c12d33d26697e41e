/**
 * Ingest throughput of the pipeline after the source: pre-generated records in the shape
 * GetRecords returns → decode → transform → Parquet → Iceberg commits on local disk.
 *
 *   node dist/bench/throughput.js --events 1000000 --size 150 --shards 1 --partitioned false
 *
 * Prints one JSON line: events/s, MB/s, CPU seconds per GB, peak RSS, commits.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlCatalog } from '../src/catalog/sql/sql-catalog.js';
import { validateConfig } from '../src/pipeline/config.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import { MemorySource } from '../src/source/memory.js';
import { averageSize, emitResult, eventPool, flag, peakRss } from './common.js';

const events = Number(flag('events', '1000000'));
const size = Number(flag('size', '150')) as 150 | 1024;
const shards = Number(flag('shards', '1'));
const partitioned = flag('partitioned', 'false') === 'true';
const interval = flag('interval', '1s');

const dir = await mkdtemp(join(tmpdir(), 'floe-bench-'));
const pool = eventPool(size);
const perShard = Math.ceil(events / shards);
const source = new MemorySource({
  id: 'bench',
  partitions: Array.from({ length: shards }, (_, s) => ({
    id: `shardId-${String(s).padStart(12, '0')}`,
    length: Math.min(perShard, events - s * perShard),
    record: (i: number) => ({ data: pool[(i + s * 7919) % pool.length]!, arrivalTimeMs: 1_767_885_412_000 }),
  })),
});
const config = validateConfig({
  source: { stream: 'bench' },
  catalog: { warehouse: dir },
  table: { name: 'bench.events', ...(partitioned ? { partition_by: 'event_type, day(event_time)' } : {}) },
  transform: {
    columns: {
      event_id: 'string',
      user_id: 'string',
      event_type: 'string',
      page: 'string',
      event_time: { type: 'timestamptz', path: 'timestamp' },
      processed_time: { type: 'timestamptz', value: 'processing_time' },
    },
  },
  commit: { interval },
  dead_letter: { policy: 'fail' },
});
const catalog = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: dir });
let committed = 0;
let commits = 0;
let files = 0;
const pipeline = await Pipeline.open({
  config,
  catalog,
  source,
  onEvent: (e) => {
    if (e.type === 'commit') {
      committed += e.records;
      commits++;
      files += e.files;
      if (committed >= events) pipeline.stop();
    }
  },
});
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await pipeline.run();
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
const bytes = events * averageSize(pool);
await catalog.close();
await rm(dir, { recursive: true, force: true });
emitResult({
  bench: 'throughput',
  events: committed,
  size,
  shards,
  partitioned,
  seconds,
  eventsPerSecond: committed / seconds,
  mbPerSecond: bytes / 1e6 / seconds,
  cpuSecondsPerGB: cpuSeconds / (bytes / 1e9),
  peakRssMB: peakRss() / 1e6,
  commits,
  files,
});
