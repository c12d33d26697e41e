/**
 * Ingest throughput of the pipeline after the source: pre-generated records in the shape
 * GetRecords returns (MemorySource) → decode → transform → Parquet → Iceberg commits on local disk.
 *
 *   node dist/bench/throughput.js --events 1000000 --size 150 --shards 1 --partitioned false
 *
 * The clock runs from `run()` to the last commit; once every record is read the pipeline is stopped,
 * which commits the rest at once (the time to open the catalog and create the table is not
 * counted; start-up has its own scenario). Prints one JSON line: events/s, MB/s,
 * CPU seconds per GB (all threads, DuckDB's included), peak RSS, commits and files.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlCatalog } from '../src/catalog/sql/sql-catalog.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import { sharedDuckDB } from '../src/duckdb/instance.js';
import { MemorySource, type MemoryPartition } from '../src/source/memory.js';
import { averageSize, emitResult, eventPool, flag, peakRss, RssSampler, threadCpuSeconds } from './common.js';
import { ingestConfig } from './reference.js';

const events = Number(flag('events', '1000000'));
const size = Number(flag('size', '150')) as 150 | 1024;
const shards = Number(flag('shards', '1'));
const partitioned = flag('partitioned', 'false') === 'true';
const interval = flag('interval', '1s');
const maxRecords = flag('max-records', '');
const native = flag('native', 'true') !== 'false';
/**
 * `--rate N`: the source hands out at most N events a second (in total, from the pipeline's
 * start), like a live stream, instead of all at once; the pipeline then idles between records as
 * it does behind a paced Kinesis reader, and its CPU per event compares with that path's at the
 * same rate.
 */
const rate = Number(flag('rate', '0'));
const duckdbThreads = flag('duckdb-threads', '');
const duckdbMemory = flag('duckdb-memory', '');
/** `transform.unmapped` (ignore, add_columns, dead_letter): the cost of watching for new fields on records without any. */
const unmapped = flag('unmapped', 'ignore') as 'ignore' | 'add_columns' | 'dead_letter';
if (duckdbThreads || duckdbMemory) {
  // Settings of the process-wide DuckDB instance (experiments; floe itself uses the defaults).
  await sharedDuckDB({ ...(duckdbThreads ? { threads: Number(duckdbThreads) } : {}), ...(duckdbMemory ? { memoryLimit: duckdbMemory } : {}) });
}

let t0 = performance.now();
/** A shard of the source; with --rate its `length` is a getter: the records readable so far (its share of rate × elapsed). */
function paced(p: MemoryPartition): MemoryPartition {
  if (!(rate > 0)) return p;
  const total = p.length;
  return Object.defineProperty(p, 'length', { get: () => Math.min(total, Math.floor((((performance.now() - t0) / 1000) * rate) / shards)) });
}

const dir = await mkdtemp(join(tmpdir(), 'floe-bench-'));
const pool = eventPool(size);
const perShard = Math.ceil(events / shards);
const source = new MemorySource({
  id: 'bench',
  partitions: Array.from({ length: shards }, (_, s) =>
    paced({
      id: `shardId-${String(s).padStart(12, '0')}`,
      length: Math.max(0, Math.min(perShard, events - s * perShard)),
      record: (i: number) => ({ data: pool[(i + s * 7919) % pool.length]!, arrivalTimeMs: 1_767_885_412_000 }),
    }),
  ),
});
const config = ingestConfig(
  'bench',
  dir,
  { name: 'bench.events', ...(partitioned ? { partition_by: 'event_type, day(event_time)' } : {}) },
  { interval, ...(maxRecords ? { max_records: Number(maxRecords) } : {}) },
);
config.transform.unmapped = unmapped;
const catalog = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: dir });
let committed = 0;
/**
 * Steady state: from the first commit at least `--steady-after-seconds` (default 4) after the
 * start to the last, as `kinesis-path.ts` measures the real path: it leaves out the first
 * seconds' one-time costs (V8 compiling the hot functions); absent when the run is shorter.
 */
const steadyAfterMs = Number(flag('steady-after-seconds', '4')) * 1000;
let steadyStart: { at: number; cpu: NodeJS.CpuUsage; committed: number; commits: number } | undefined;
let commits = 0;
let files = 0;
const pipeline = await Pipeline.open({
  config,
  catalog,
  source,
  nativeScanner: native,
  onEvent: (e) => {
    if (e.type === 'commit') {
      committed += e.records;
      commits++;
      if (steadyStart === undefined && performance.now() - t0 >= steadyAfterMs && committed < events) steadyStart = { at: performance.now(), cpu: process.cpuUsage(), committed, commits };
      files += e.files;
      if (committed >= events) pipeline.stop();
    }
  },
});
const rssAtStartMB = process.memoryUsage().rss / 1e6;
const rss = new RssSampler(100);
// Once every record is read, stop: the final commit then happens at once rather than when the
// commit interval comes round, so the clock measures the work, not the interval.
const drained = setInterval(() => {
  if (source.drained && (!(rate > 0) || performance.now() - t0 >= (events / rate) * 1000)) pipeline.stop();
}, 5);
const cpu0 = process.cpuUsage();
const threads0 = threadCpuSeconds();
t0 = performance.now();
await pipeline.run();
const threads1 = threadCpuSeconds();
clearInterval(drained);
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const steadyCpu = steadyStart ? process.cpuUsage(steadyStart.cpu) : undefined;
const steadyEndAt = performance.now();
const sampledPeak = rss.stop();
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
const bytes = events * averageSize(pool);
await catalog.close();
await rm(dir, { recursive: true, force: true });
emitResult({
  bench: 'throughput',
  events: committed,
  size,
  averageEventBytes: averageSize(pool),
  shards,
  partitioned,
  unmapped,
  ...(rate > 0 ? { rate } : {}),
  seconds,
  eventsPerSecond: committed / seconds,
  mbPerSecond: bytes / 1e6 / seconds,
  cpuSeconds,
  cpuSecondsPerGB: cpuSeconds / (bytes / 1e9),
  peakRssMB: Math.max(peakRss(), sampledPeak) / 1e6,
  /** RSS once the pipeline is open, before the first record (modules, DuckDB, catalog, event pool). */
  rssAtStartMB,
  /** At the sampled RSS peak: V8 heap and external (array buffers) memory; the rest is native (DuckDB, code). */
  atPeakMB: { heap: rss.atPeak.heap / 1e6, external: rss.atPeak.external / 1e6 },
  commits,
  files,
  /** Steady state (see `--steady-after-seconds`): events, events/s and CPU per event after the first seconds. */
  steady:
    steadyStart && steadyCpu && committed > steadyStart.committed
      ? {
          afterSeconds: Math.round(steadyStart.at - t0) / 1000,
          commits: commits - steadyStart.commits,
          events: committed - steadyStart.committed,
          eventsPerSecond: ((committed - steadyStart.committed) * 1000) / (steadyEndAt - steadyStart.at),
          cpuMicrosPerEvent: (steadyCpu.user + steadyCpu.system) / (committed - steadyStart.committed),
        }
      : undefined,
  /** CPU seconds of the run by thread: `main` is JavaScript (ingest), the rest DuckDB's and libuv's. */
  threadCpuSeconds: Object.fromEntries(
    Object.entries(threads1)
      .map(([k, v]) => [k, Number((v - (threads0[k] ?? 0)).toFixed(2))] as const)
      .filter(([, v]) => v > 0),
  ),
});
