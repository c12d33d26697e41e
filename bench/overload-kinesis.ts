/**
 * Overload through the embedded Kinesis endpoint: a producer process (`kinesis-feeder.ts`) sends
 * as fast as kinesalite accepts for `--seconds` while the pipeline (in this process, with the real
 * KinesisSource and its per-shard read limits) consumes. RSS and the source's buffers are sampled
 * every 250 ms; when the producer is done the pipeline stops (final commit) and the table is
 * checked against the producer's log: for each shard, exactly the events at or before the
 * committed sequence number are in the table, each once.
 *
 * With `--prefill` (the Kinesis rows of "scale with the work"), the producer fills the stream
 * first and the pipeline then drains it: the rate is the pipeline's through real shard readers
 * (GetRecords per shard, the byte budget, rotation over shards), bounded by what kinesalite serves.
 *
 *   node dist/bench/overload-kinesis.js --seconds 60 --shards 1
 *   node dist/bench/overload-kinesis.js --prefill --seconds 5 --shards 64
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { SqlCatalog } from '../src/catalog/sql/sql-catalog.js';
import { snapshotForRef } from '../src/iceberg/snapshot.js';
import { readCheckpoint } from '../src/pipeline/checkpoint.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import { QueryEngine } from '../src/query/engine.js';
import { sqlString } from '../src/duckdb/instance.js';
import { kinesisClientFromEnv } from '../src/source/kinesis/client.js';
import { KinesisSource } from '../src/source/kinesis/kinesis-source.js';
import { Table } from '../src/table/table.js';
import { emitResult, flag, peakRss, percentile, sorted } from './common.js';
import { ingestConfig } from './reference.js';

const seconds = Number(flag('seconds', '60'));
const shards = Number(flag('shards', '1'));
const rate = flag('rate', '0');
/** Read limit per shard (bytes/s): below the producer's rate, the pipeline is the slower side. */
const readLimit = Number(flag('read-limit', '2000000'));
/** Fill the stream first, then drain it (see the file comment). */
const prefill = process.argv.includes('--prefill');

const dir = await mkdtemp(join(tmpdir(), 'floe-bench-overk-'));
const putsLog = join(dir, 'puts.csv');
const feeder = spawn(
  process.execPath,
  [new URL('./kinesis-feeder.js', import.meta.url).pathname, '--shards', String(shards), '--seconds', String(seconds), '--rate', rate, '--out', putsLog],
  { stdio: ['pipe', 'pipe', 'inherit'] },
);
const lines = createInterface({ input: feeder.stdout })[Symbol.asyncIterator]();
const ready = JSON.parse(((await lines.next()).value as string) ?? '{}') as { url: string; stream: string };
const produced = (async () => JSON.parse(((await lines.next()).value as string) ?? '{}') as { produced: number; seconds: number; eventsPerSecond: number })();
if (prefill) await produced;

const client = kinesisClientFromEnv({ endpoint: ready.url, region: 'us-east-1', maxAttempts: 1 });
const log: string[] = [];
const source = new KinesisSource({
  client,
  streamName: ready.stream,
  maxBytesPerSecond: readLimit,
  log: (level, message) => {
    if (level !== 'debug') log.push(`${level} ${message}`);
  },
});
const config = ingestConfig(ready.stream, dir, { name: 'bench.overk' });
const catalog = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: dir });
let committed = 0;
const pipeline = await Pipeline.open({
  config,
  catalog,
  source,
  onEvent: (e) => {
    if (e.type === 'commit') committed += e.records;
  },
});
const samples: { t: number; rss: number; buffered: number }[] = [];
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const sampler = setInterval(() => {
  samples.push({ t: (performance.now() - t0) / 1000, rss: process.memoryUsage().rss, buffered: source.metrics().bufferedBytes });
}, 250);
const running = pipeline.run();
const feed = await produced;
if (prefill) {
  // Drained: every produced event committed (or the run failed, or it is stuck for 3 minutes).
  let failed = false;
  running.catch(() => (failed = true));
  const deadline = performance.now() + 180_000;
  while (committed < feed.produced && !failed && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}
pipeline.stop();
await running;
const elapsed = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
clearInterval(sampler);
const peakBufferedBytes = source.metrics().peakBufferedBytes;

// The table against the producer's log.
const table = await Table.load(catalog, { namespace: ['bench'], name: 'overk' });
const positions = readCheckpoint(snapshotForRef(table.metadata, 'main'), ready.stream);
const posValues = [...positions].map(([shard, p]) => `(${sqlString(shard)}, ${sqlString(p)})`).join(', ');
const engine = await QueryEngine.open({ catalog });
const check = await engine.query(`
  WITH puts AS (SELECT * FROM read_csv(${sqlString(putsLog)}, header = false, columns = {'seq': 'BIGINT', 'shard': 'VARCHAR', 'sn': 'VARCHAR'})),
       pos AS (SELECT * FROM (VALUES ${posValues || "('', '0')"}) t(shard, p)),
       expected AS (SELECT 'ov_' || seq AS event_id FROM puts JOIN pos USING (shard) WHERE lpad(sn, 80, '0') <= lpad(p, 80, '0')),
       got AS (SELECT event_id FROM bench.overk)
  SELECT (SELECT count(*) FROM expected), (SELECT count(*) FROM got), (SELECT count(DISTINCT event_id) FROM got),
         (SELECT count(*) FROM expected WHERE event_id NOT IN (SELECT event_id FROM got)),
         (SELECT count(*) FROM got WHERE event_id NOT IN (SELECT event_id FROM expected))`);
engine.close();
await catalog.close();
feeder.stdin.end();
await new Promise<void>((resolve) => feeder.on('exit', () => resolve()));
await rm(dir, { recursive: true, force: true });
const [expected, rows, distinct, missing, unexpected] = check.rows[0]!.map(Number) as [number, number, number, number, number];

const rss = samples.map((s) => s.rss / 1e6);
emitResult({
  bench: prefill ? 'scale-kinesis' : 'overload',
  source: 'kinesis',
  seconds: elapsed,
  shards,
  readLimitBytesPerSecond: readLimit,
  produced: feed.produced,
  producedPerSecond: feed.eventsPerSecond,
  events: committed,
  eventsPerSecond: committed / elapsed,
  /** CPU of this process (the pipeline and the SDK's client; kinesalite runs in the feeder) per event. */
  cpuMicrosPerEvent: committed > 0 ? (cpu.user + cpu.system) / committed : null,
  backlog: feed.produced - committed,
  rssMB: {
    p50: percentile(sorted(rss), 50),
    max: Math.max(...rss),
    firstHalfMax: Math.max(...samples.filter((s) => s.t < elapsed / 2).map((s) => s.rss / 1e6)),
    secondHalfMax: Math.max(...samples.filter((s) => s.t >= elapsed / 2).map((s) => s.rss / 1e6)),
  },
  peakRssMB: peakRss() / 1e6,
  peakBufferedMB: peakBufferedBytes / 1e6,
  sourceLog: log.slice(0, 20),
  rssSeries: samples.filter((_, i) => i % 8 === 0).map((s) => [Number(s.t.toFixed(1)), Math.round(s.rss / 1e6)]),
  expectedRows: expected,
  rows,
  nothingLost: expected === rows && rows === distinct && missing === 0 && unexpected === 0 && rows === committed,
});
