/**
 * Overload: a source that always has more records than the pipeline can take (an unbounded
 * MemorySource: every poll is answered in full at once) for `--seconds`. RSS must stay bounded
 * (sampled every 250 ms), and nothing may be lost or duplicated: the rows in the table equal the
 * positions committed with them (positions are record indexes here, so each partition committed
 * at position p holds p + 1 rows), counted both from the snapshot summary and by a query.
 *
 *   node dist/bench/overload.js --seconds 60 --shards 4
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlCatalog } from '../src/catalog/sql/sql-catalog.js';
import { snapshotForRef } from '../src/iceberg/snapshot.js';
import { readCheckpoint } from '../src/pipeline/checkpoint.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import { QueryEngine } from '../src/query/engine.js';
import { MemorySource } from '../src/source/memory.js';
import { Table } from '../src/table/table.js';
import { emitResult, eventPool, flag, peakRss, percentile, sorted } from './common.js';
import { ingestConfig } from './reference.js';

const seconds = Number(flag('seconds', '60'));
const shards = Number(flag('shards', '4'));
const size = Number(flag('size', '150')) as 150 | 1024;

const dir = await mkdtemp(join(tmpdir(), 'floe-bench-over-'));
const pool = eventPool(size);
const source = new MemorySource({
  id: 'bench',
  partitions: Array.from({ length: shards }, (_, s) => ({
    id: `shardId-${String(s).padStart(12, '0')}`,
    length: Infinity,
    record: (i: number) => ({ data: pool[(i + s * 7919) % pool.length]!, arrivalTimeMs: 1_767_885_412_000 }),
  })),
});
const config = ingestConfig('bench', dir, { name: 'bench.over' });
const catalog = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: dir });
let committed = 0;
let commits = 0;
const pipeline = await Pipeline.open({
  config,
  catalog,
  source,
  onEvent: (e) => {
    if (e.type === 'commit') {
      committed += e.records;
      commits++;
    }
  },
});
const samples: { t: number; rss: number; heap: number; external: number }[] = [];
const t0 = performance.now();
const sampler = setInterval(() => {
  const m = process.memoryUsage();
  samples.push({ t: (performance.now() - t0) / 1000, rss: m.rss, heap: m.heapTotal, external: m.external });
}, 250);
setTimeout(() => pipeline.stop(), seconds * 1000);
await pipeline.run();
const elapsed = (performance.now() - t0) / 1000;
clearInterval(sampler);

// Rows vs positions: from the snapshot, and counted by a query.
const table = await Table.load(catalog, { namespace: ['bench'], name: 'over' });
const snapshot = snapshotForRef(table.metadata, 'main');
const positions = readCheckpoint(snapshot, 'bench');
const positionRows = [...positions.values()].reduce((n, p) => n + Number(p) + 1, 0);
const summaryRows = Number(snapshot?.summary['total-records'] ?? NaN);
const engine = await QueryEngine.open({ catalog });
const counted = Number((await engine.query('SELECT count(*) FROM bench.over')).rows[0]![0]);
engine.close();
await catalog.close();
await rm(dir, { recursive: true, force: true });

const rss = samples.map((s) => s.rss / 1e6);
const half = samples.filter((s) => s.t >= elapsed / 2).map((s) => s.rss / 1e6);
emitResult({
  bench: 'overload',
  source: 'memory',
  seconds: elapsed,
  shards,
  size,
  events: committed,
  eventsPerSecond: committed / elapsed,
  commits,
  rssMB: { p50: percentile(sorted(rss), 50), max: Math.max(...rss), firstHalfMax: Math.max(...samples.filter((s) => s.t < elapsed / 2).map((s) => s.rss / 1e6)), secondHalfMax: Math.max(...half) },
  peakRssMB: peakRss() / 1e6,
  rssSeries: samples.filter((_, i) => i % 8 === 0).map((s) => [Number(s.t.toFixed(1)), Math.round(s.rss / 1e6)]),
  /** [seconds, RSS, V8 heap, external (array buffers, native)] in MB, every 2 s. */
  memorySeries: samples.filter((_, i) => i % 8 === 0).map((s) => [Number(s.t.toFixed(1)), Math.round(s.rss / 1e6), Math.round(s.heap / 1e6), Math.round(s.external / 1e6)]),
  positionRows,
  summaryRows,
  countedRows: counted,
  nothingLost: positionRows === summaryRows && summaryRows === counted && counted === committed,
});
