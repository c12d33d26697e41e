/**
 * Soak and flood with table maintenance on (issue 12, item 5): RSS over time while the pipeline
 * commits small files and the scheduler compacts, merges manifests and expires snapshots beside it.
 *
 * - `--mode soak`: a steady `--rate` events/s (default 100) for `--minutes` (default 60), commits
 *   every `--commit` (default 100ms), compaction and manifest merging every `--maintenance`
 *   (default 5s), expiry every twice that. RSS, V8 heap and external memory are sampled every
 *   `--sample` seconds (default 10). The verdict: does RSS level off below `--goal` MB (default
 *   300)? "Levels off" = the maximum of the last quarter of the run is within 10% of the maximum of
 *   the second quarter (a run whose memory keeps growing fails it), and stays below the goal.
 * - `--mode flood`: an unbounded source (every poll answered in full) for `--seconds` (default
 *   60) with compaction every `--maintenance` (default 10s): peak RSS overall and while a
 *   compaction runs (its span is known from its event: end − duration).
 *
 *   node dist/bench/soak.js --mode soak --minutes 10
 *   node dist/bench/soak.js --mode flood --seconds 60
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { join } from 'node:path';
import { SqlCatalog } from '../src/catalog/sql/sql-catalog.js';
import { parseDuration, validateConfig } from '../src/pipeline/config.js';
import { openPipeline } from '../src/run/run-pipeline.js';
import { MemorySource, type MemoryPartition } from '../src/source/memory.js';
import { emitResult, eventPool, flag, peakRss } from './common.js';
import { REFERENCE_COLUMNS } from './reference.js';

const mode = flag('mode', 'soak');
if (mode !== 'soak' && mode !== 'flood') throw new Error(`soak: --mode must be soak or flood, got ${mode}`);
const flood = mode === 'flood';
const seconds = flood ? Number(flag('seconds', '60')) : Number(flag('minutes', '60')) * 60;
const rate = Number(flag('rate', '100'));
const sampleSeconds = Number(flag('sample', flood ? '1' : '10'));
const goalMB = Number(flag('goal', '300'));
const maintenanceEvery = flag('maintenance', flood ? '10s' : '5s').replace(/^off$/, flood ? '10s' : '5s');
const commitEvery = flag('commit', flood ? '1s' : '100ms');
const memoryLimit = process.argv.includes('--memory-limit') ? flag('memory-limit', '') : undefined;
/** `--maintenance off`: the same load without maintenance (the comparison). */
const maintenanceOn = flag('maintenance', '') !== 'off';

const dir = await mkdtemp(join(tmpdir(), `floe-bench-${mode}-`));
const pool = eventPool(150);
const t0 = performance.now();
const elapsedS = () => (performance.now() - t0) / 1000;

// Soak: the partition grows at `rate` records/s (MemorySource reads `length` at every poll).
const partition: MemoryPartition = flood
  ? { id: 'shardId-000000000000', length: Infinity, record: (i) => ({ data: pool[i % pool.length]! }) }
  : {
      id: 'shardId-000000000000',
      get length() {
        return Math.floor(elapsedS() * rate);
      },
      record: (i) => ({ data: pool[i % pool.length]! }),
    };
const source = new MemorySource({ id: 'bench', partitions: [partition] });

const maintenanceMs = parseDuration(maintenanceEvery, '--maintenance');
const config = validateConfig({
  source: { stream: 'bench' },
  catalog: { warehouse: dir },
  table: { name: `bench.${mode}` },
  transform: { columns: REFERENCE_COLUMNS },
  commit: { interval: commitEvery },
  dead_letter: { policy: 'fail' },
  maintenance: maintenanceOn && {
    compact: { interval: maintenanceEvery, min_files: flood ? 5 : 20 },
    rewrite_manifests: { interval: maintenanceEvery, min_manifests: 20 },
    expire_snapshots: flood
      ? false
      : { interval: `${maintenanceMs * 2}ms`, older_than: `${maintenanceMs * 4}ms`, retain_last: 10 },
    remove_orphans: false,
  },
  ...(memoryLimit !== undefined ? { duckdb: { memory_limit: memoryLimit } } : {}),
});
const catalog = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: dir });

let committed = 0;
let commits = 0;
const maintenance = { compactions: 0, manifestRewrites: 0, expiries: 0, failures: 0, lastError: undefined as string | undefined };
/** Rows written by compactions (what they rewrote), in all and the most one compaction wrote: the size tiers bound both. */
const compacted = { rows: 0, maxRows: 0 };
/** [start, end] of every compaction, in seconds since start. */
const compactions: [number, number][] = [];
const pipeline = await openPipeline({
  config,
  catalog,
  source,
  onEvent: (e) => {
    if (e.type === 'commit') {
      committed += e.records;
      commits++;
    } else if (e.type === 'maintenance') {
      if (e.error !== undefined) {
        maintenance.failures++;
        maintenance.lastError = e.error;
        return;
      }
      if (e.operation === 'compact') {
        maintenance.compactions++;
        const rows = Number(e.details.records ?? 0);
        compacted.rows += rows;
        compacted.maxRows = Math.max(compacted.maxRows, rows);
        const end = elapsedS();
        compactions.push([end - e.durationMs / 1000, end]);
      } else if (e.operation === 'rewrite-manifests') maintenance.manifestRewrites++;
      else if (e.operation === 'expire-snapshots') maintenance.expiries++;
    }
  },
});

/** [seconds, RSS MB, V8 heap used MB, V8 heap total MB, external MB]. */
const series: [number, number, number, number, number][] = [];
/** RSS every 250 ms (flood: to find the peak while compacting). */
const fine: [number, number][] = [];
const mb = (b: number) => Math.round(b / 1e5) / 10;
const sample = () => {
  const m = process.memoryUsage();
  series.push([Math.round(elapsedS()), mb(m.rss), mb(m.heapUsed), mb(m.heapTotal), mb(m.external)]);
  if (!flood) {
    process.stderr.write(
      `  ${Math.round(elapsedS())} s: RSS ${mb(m.rss)} MB, heap ${mb(m.heapUsed)}/${mb(m.heapTotal)} MB, external ${mb(m.external)} MB, ${commits} commits, ${maintenance.compactions} compactions (${compacted.rows} rows rewritten, at most ${compacted.maxRows})\n`,
    );
  }
};
sample();
const sampler = setInterval(sample, sampleSeconds * 1000);
const fineSampler = flood ? setInterval(() => fine.push([elapsedS(), process.memoryUsage().rss]), 250) : undefined;
setTimeout(() => pipeline.stop(), seconds * 1000);
await pipeline.run();
const elapsed = elapsedS();
clearInterval(sampler);
if (fineSampler) clearInterval(fineSampler);
// After the stop (both DuckDB instances closed): reported apart, not as a sample of the run.
const rssAfterStopMB = mb(process.memoryUsage().rss);
await catalog.close();
await rm(dir, { recursive: true, force: true });

/** V8's heap limit (`--max-old-space-size` plus the young generation), MB: the bound the run had. */
const heapLimitMB = () => Math.round(getHeapStatistics().heap_size_limit / 1048576);
const rssAt = (from: number, to: number) => series.filter(([t]) => t >= from && t <= to).map(([, r]) => r);
const max = (xs: number[]) => (xs.length === 0 ? NaN : Math.max(...xs));
if (flood) {
  const during = fine.filter(([t]) => compactions.some(([a, b]) => t >= a && t <= b)).map(([, r]) => r / 1e6);
  emitResult({
    bench: 'flood',
    seconds: elapsed,
    events: committed,
    eventsPerSecond: committed / elapsed,
    commits,
    ...maintenance,
    peakRssMB: peakRss() / 1e6,
    peakRssCompactingMB: max(during),
    compactionSeconds: compactions.map(([a, b]) => Number((b - a).toFixed(1))),
    memoryLimit: memoryLimit ?? 'default',
    heapLimitMB: heapLimitMB(),
    rssAfterStopMB,
    memorySeries: series.filter((_, i) => i % 5 === 0),
  });
} else {
  const second = max(rssAt(elapsed / 4, elapsed / 2));
  const last = max(rssAt((3 * elapsed) / 4, elapsed));
  const levelsOff = last <= second * 1.1;
  emitResult({
    bench: 'soak',
    minutes: elapsed / 60,
    rate,
    commitInterval: commitEvery,
    maintenanceInterval: maintenanceEvery,
    events: committed,
    commits,
    ...maintenance,
    memoryLimit: memoryLimit ?? 'default',
    heapLimitMB: heapLimitMB(),
    // bin/floe sets MALLOC_ARENA_MAX=2 for `floe run`; the bench's parent passes its environment on.
    mallocArenaMax: process.env.MALLOC_ARENA_MAX ?? null,
    compactedRows: compacted.rows,
    compactedRowsMax: compacted.maxRows,
    maintenanceOn,
    rssSecondQuarterMaxMB: second,
    rssLastQuarterMaxMB: last,
    rssAfterStopMB,
    peakRssMB: peakRss() / 1e6,
    goalMB,
    levelsOff,
    belowGoal: peakRss() / 1e6 <= goalMB,
    met: levelsOff && peakRss() / 1e6 <= goalMB,
    memorySeries: series,
  });
}
