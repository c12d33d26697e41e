/**
 * Many writers, one table (issue #14 part 3, a first measurement): N pipelines on disjoint
 * partitions of one stream commit every second into one table of the embedded SQLite catalog,
 * as N workers sharing a stream through leases do (per-shard fencing: they never fence each other,
 * their commits only race in the catalog). Reports commits/s, conflicts (attempts beyond the
 * first) per commit, and record freshness (commit landed − record made available) p50/p99.
 *
 *   npx tsx bench/many-writers.ts --writers 1,2,4,8 --seconds 12 --rate 200 [--catalog sqlite|rest] [--min-wait 100 --max-wait 60000] [--json]
 *
 * `--catalog rest`: the writers commit through the REST catalog, a `floe catalog serve` child
 * process (over a SQLite catalog) on 127.0.0.1, as workers on many machines would. `--json`: one
 * JSON line per writer count (what `npm run bench` reads) instead of the Markdown table.
 *
 * Without `--min-wait`, commits retry conflicts as `floe run` does for workers sharing a stream
 * (10 ms doubling to 200 ms, 100 attempts); `--min-wait 100 --max-wait 60000` is Java's backoff.
 *
 * Limits of this first figure: the N pipelines share one process and its event loop (separate
 * processes do not), and the source is in memory (no Kinesis reads); what it isolates is the
 * catalog: commit conflicts and their retries as writers are added.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlCatalog } from '../src/catalog/sql/sql-catalog.js';
import { openCatalog } from '../src/catalog/open.js';
import type { Catalog } from '../src/catalog/catalog.js';
import { validateConfig } from '../src/pipeline/config.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import type { InitialPosition, PollOptions, Source, SourceBatch, SourceMetrics, SourceRecord } from '../src/source/source.js';
import { flag, floeMain, percentile, sleep, sorted } from './common.js';

const enc = new TextEncoder();

/** One partition whose record i becomes available at start + i / rate. */
class RateSource implements Source {
  readonly id = 'bench';
  private next = 0;
  private readonly startMs = Date.now();
  constructor(
    private readonly partition: string,
    private readonly rate: number,
  ) {}
  /** When record i became available. */
  availableAt(i: number): number {
    return this.startMs + (i * 1000) / this.rate;
  }
  async start(positions: ReadonlyMap<string, string>, _initial: InitialPosition): Promise<void> {
    const p = positions.get(this.partition);
    this.next = p === undefined ? 0 : Number(p) + 1;
  }
  async rewind(positions: ReadonlyMap<string, string>): Promise<void> {
    await this.start(positions, { type: 'TRIM_HORIZON' });
  }
  async poll(options: PollOptions): Promise<SourceBatch> {
    const due = Math.floor(((Date.now() - this.startMs) * this.rate) / 1000);
    const n = Math.min(options.maxRecords, due - this.next);
    if (n <= 0) {
      await sleep(Math.min(options.waitMs ?? 50, 20));
      return { records: [], positions: new Map() };
    }
    const records: SourceRecord[] = [];
    for (let i = this.next; i < this.next + n; i++) {
      records.push({ partitionId: this.partition, position: String(i), data: enc.encode(`{"id":"${this.partition}-${i}"}`), partitionKey: this.partition, arrivalTimeMs: this.availableAt(i), meta: {} });
    }
    this.next += n;
    return { records, positions: new Map([[this.partition, String(this.next - 1)]]) };
  }
  markCommitted(): void {}
  comparePositions(a: string, b: string): number {
    return Number(a) - Number(b);
  }
  metrics(): SourceMetrics {
    return { recordsRead: this.next, bytesRead: 0, throttles: 0, retries: 0, bufferedRecords: 0, bufferedBytes: 0, peakBufferedBytes: 0, millisBehindLatest: undefined, discoveries: 0, partitions: [] };
  }
  async close(): Promise<void> {}
}

/**
 * `floe catalog serve --port 0` over `dir`'s SQLite catalog, in a child process: the compiled CLI
 * next to the compiled benchmark, else (run through tsx) the TypeScript one.
 */
async function serveCatalog(dir: string): Promise<{ url: string; child: ChildProcess }> {
  const compiled = floeMain();
  const cli = existsSync(compiled) ? [compiled] : ['--import', 'tsx', new URL('../src/cli/main.ts', import.meta.url).pathname];
  const child = spawn(process.execPath, [...cli, 'catalog', 'serve', '--port', '0', '--warehouse', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /http:\/\/127\.0\.0\.1:\d+/.exec(out);
      if (m) resolve(m[0]);
    });
    child.on('exit', (code) => reject(new Error(`bench: floe catalog serve exited (${code}): ${err.trim()}`)));
  });
  return { url, child };
}

async function measure(writers: number, seconds: number, rate: number, catalogKind: 'sqlite' | 'rest'): Promise<Record<string, number | string>> {
  const dir = await mkdtemp(join(tmpdir(), 'floe-bench-writers-'));
  let server: { url: string; child: ChildProcess } | undefined;
  let catalog: Catalog;
  if (catalogKind === 'rest') {
    // The server's SQLite catalog must exist first (a SQLite catalog creates its file itself).
    await new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: dir }).close();
    server = await serveCatalog(dir);
    catalog = await openCatalog({ uri: server.url, warehouse: dir });
  } else catalog = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: dir });
  try {
    const config = validateConfig({
      // As workers sharing a stream are configured (the pipeline's conflict retries follow it).
      source: { stream: 'bench', application: 'bench-writers' },
      catalog: { warehouse: dir },
      table: { name: 'bench.t', properties: backoff },
      transform: { columns: { id: 'string' } },
      commit: { interval: '1s' },
      dead_letter: { policy: 'fail' },
      maintenance: false,
    });
    // Created once, before the writers start (as the first worker would).
    await (await Pipeline.open({ config, catalog, source: new RateSource('p-init', 1) })).targetTable.refresh();
    const freshness: number[] = [];
    /** Freshness of the records of commits that landed at the first attempt / after a conflict. */
    const freshFirst: number[] = [];
    const freshRetried: number[] = [];
    /** Seal → landed of every commit (its write and every attempt). */
    const commitMs: number[] = [];
    const attemptsHistogram: Record<string, number> = {};
    let commits = 0;
    let conflicts = 0;
    let outageRetries = 0;
    let rewinds = 0;
    const runs: Promise<unknown>[] = [];
    const pipelines: Pipeline[] = [];
    for (let w = 0; w < writers; w++) {
      const partition = `p${w}`;
      const source = new RateSource(partition, rate);
      let committedUpTo = -1;
      const pipeline = await Pipeline.open({
        config,
        catalog,
        source,
        onEvent: (e) => {
          if (e.type === 'rewound') rewinds++;
          if (e.type === 'commit-retry') outageRetries++;
          if (e.type !== 'commit') return;
          const landed = Date.now();
          commits++;
          conflicts += e.attempts - 1;
          commitMs.push(e.durationMs);
          attemptsHistogram[String(e.attempts)] = (attemptsHistogram[String(e.attempts)] ?? 0) + 1;
          const last = Number(e.positions[partition]);
          const into = e.attempts > 1 ? freshRetried : freshFirst;
          for (let i = committedUpTo + 1; i <= last; i++) {
            freshness.push(landed - source.availableAt(i));
            into.push(landed - source.availableAt(i));
          }
          committedUpTo = last;
        },
      });
      pipelines.push(pipeline);
      runs.push(pipeline.run());
    }
    // The writers share this process's event loop: how late it ran (a starved loop delays every
    // commit alike, conflicts or not).
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const load0 = loadavg()[0]!;
    const t0 = Date.now();
    await sleep(seconds * 1000);
    for (const p of pipelines) p.stop();
    await Promise.all(runs);
    loopDelay.disable();
    const elapsed = (Date.now() - t0) / 1000;
    const f = sorted(freshness);
    const c = sorted(commitMs);
    return {
      bench: 'many-writers',
      catalog: catalogKind,
      writers,
      seconds,
      rate,
      commitsPerSecond: commits / elapsed,
      conflictsPerCommit: conflicts / Math.max(1, commits),
      // Conflicted attempts plus waits for an unavailable catalog.
      retriesPerCommit: (conflicts + outageRetries) / Math.max(1, commits),
      rewinds,
      freshnessP50Ms: percentile(f, 50),
      freshnessP99Ms: percentile(f, 99),
      records: freshness.length,
      // What decides the tail: commits that needed retries against those that did not, the
      // commit's own time (write + attempts), and the event loop's lateness.
      freshnessP99FirstAttemptMs: percentile(sorted(freshFirst), 99),
      freshnessP99RetriedMs: percentile(sorted(freshRetried), 99),
      retriedCommitShare: 1 - (attemptsHistogram['1'] ?? 0) / Math.max(1, commits),
      attemptsHistogram: JSON.stringify(attemptsHistogram),
      commitP50Ms: percentile(c, 50),
      commitP99Ms: percentile(c, 99),
      loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
      loopDelayMaxMs: loopDelay.max / 1e6,
      load: `${load0.toFixed(2)}→${loadavg()[0]!.toFixed(2)}`,
    };
  } finally {
    await catalog.close();
    if (server) {
      server.child.kill('SIGTERM');
      await new Promise((r) => server!.child.once('exit', r));
    }
    await rm(dir, { recursive: true, force: true });
  }
}

const writersList = flag('writers', '1,2,4,8').split(',').map(Number);
/**
 * The conflict backoff as table properties (`--min-wait 100 --max-wait 60000`: Java's defaults);
 * without: the pipeline's defaults for workers sharing a stream.
 */
const backoff: Record<string, string> = process.argv.includes('--min-wait')
  ? { 'commit.retry.num-retries': '100', 'commit.retry.min-wait-ms': flag('min-wait', '100'), 'commit.retry.max-wait-ms': flag('max-wait', '60000') }
  : {};
const seconds = Number(flag('seconds', '12'));
const rate = Number(flag('rate', '200'));
const catalogKind = flag('catalog', 'sqlite');
if (catalogKind !== 'sqlite' && catalogKind !== 'rest') throw new Error(`bench: --catalog must be sqlite or rest, got ${catalogKind}`);
const json = process.argv.includes('--json');
if (!json) {
  console.log(`catalog: ${catalogKind}`);
  console.log('| writers | commits/s | conflicts per commit | retries per commit | rewinds | freshness p50 | freshness p99 | p99 first attempt / retried | commits retried | commit p50 / p99 | loop delay p99 / max | load | records |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
}
for (const n of writersList) {
  const r = await measure(n, seconds, rate, catalogKind);
  const x = (k: string) => Number(r[k]);
  if (json) console.log(JSON.stringify(r));
  else {
    console.log(
      `| ${r.writers} | ${x('commitsPerSecond').toFixed(2)} | ${x('conflictsPerCommit').toFixed(2)} | ${x('retriesPerCommit').toFixed(2)} | ${r.rewinds} | ${Math.round(x('freshnessP50Ms'))} ms | ${Math.round(x('freshnessP99Ms'))} ms | ${Math.round(x('freshnessP99FirstAttemptMs'))} / ${Math.round(x('freshnessP99RetriedMs'))} ms | ${Math.round(100 * x('retriedCommitShare'))}% | ${Math.round(x('commitP50Ms'))} / ${Math.round(x('commitP99Ms'))} ms | ${Math.round(x('loopDelayP99Ms'))} / ${Math.round(x('loopDelayMaxMs'))} ms | ${r.load} | ${r.records} |`,
    );
  }
}
