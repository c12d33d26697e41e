/**
 * Freshness: the time from PutRecords to the row being visible to a query, as a user of
 * `floe query` sees it, at a steady load through the embedded Kinesis endpoint.
 *
 *   node dist/bench/freshness.js --interval 1s --seconds 20 --rate 1000
 *
 * This process runs kinesalite (one shard), a producer sending `rate` events/s in PutRecords calls
 * every 50 ms, and a watcher that, over and over, opens the catalog and a fresh QueryEngine (a new
 * DuckDB instance, as `floe query` does) and counts the rows. The pipeline is the compiled
 * `floe run`, a separate process. One shard keeps the stream in put order, so a count of n means
 * events 0..n-1 are visible; each event's latency is the start of the first query that saw it
 * minus the start of the PutRecords call that sent it (so it includes the PutRecords call and is
 * at most one query round late). At the end every event must be in the table exactly once.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { SqlCatalog } from '../src/catalog/sql/sql-catalog.js';
import { QueryEngine } from '../src/query/engine.js';
import { ensureStream } from '../src/source/kinesis/admin.js';
import { kinesisClientFromEnv } from '../src/source/kinesis/client.js';
import { putRecords, type PutEntry } from '../src/source/kinesis/producer.js';
import { startLocalKinesis } from '../src/source/local-kinesis.js';
import { emitResult, flag, floeMain, liveEvent, percentile, sleep, sorted } from './common.js';
import { REFERENCE_COLUMNS } from './reference.js';

const interval = flag('interval', '1s');
const seconds = Number(flag('seconds', '20'));
const rate = Number(flag('rate', '1000'));
const TICK_MS = 50;

const dir = await mkdtemp(join(tmpdir(), 'floe-bench-fresh-'));
const kinesis = await startLocalKinesis();
const client = kinesisClientFromEnv({ endpoint: kinesis.url, region: 'us-east-1' });
const stream = 'bench-freshness';
await ensureStream(client, { streamName: stream, mode: 'PROVISIONED', shardCount: 1 });

const configPath = join(dir, 'floe.json');
await writeFile(
  configPath,
  JSON.stringify({
    source: { stream, endpoint: kinesis.url, region: 'us-east-1' },
    catalog: { warehouse: dir },
    table: { name: 'bench.fresh' },
    transform: { columns: REFERENCE_COLUMNS },
    commit: { interval },
    dead_letter: { policy: 'fail' },
  }),
);
const floe = spawn(process.execPath, [floeMain(), 'run', '--config', configPath], {
  env: { ...process.env, AWS_REGION: 'us-east-1' },
  stdio: ['ignore', 'pipe', 'pipe'],
});
let stderr = '';
floe.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
const commitDurations: number[] = [];
let started!: () => void;
const startedP = new Promise<void>((resolve) => (started = resolve));
createInterface({ input: floe.stdout }).on('line', (line) => {
  try {
    const e = JSON.parse(line) as { msg?: string; durationMs?: number };
    if (e.msg?.startsWith('started')) started();
    if (e.msg === 'commit' && typeof e.durationMs === 'number') commitDurations.push(e.durationMs);
  } catch {
    // not a log line
  }
});
const exited = new Promise<number | null>((resolve) => floe.on('exit', (code) => resolve(code)));
await Promise.race([startedP, exited.then(() => Promise.reject(new Error(`floe run exited early: ${stderr}`)))]);

// Producer: `rate` events/s, one PutRecords call per tick.
const putStart: number[] = [];
let producing = true;
const producer = (async () => {
  const t0 = performance.now();
  let seq = 0;
  for (let tick = 0; producing; tick++) {
    const due = Math.round(((tick + 1) * TICK_MS * rate) / 1000);
    const entries: PutEntry[] = [];
    const now = performance.now();
    for (; seq < due; seq++) {
      putStart[seq] = now;
      entries.push({ data: liveEvent('fresh', seq), partitionKey: `pk_${seq}` });
    }
    if (entries.length > 0) await putRecords(client, { streamName: stream }, entries);
    const next = t0 + (tick + 1) * TICK_MS;
    await sleep(Math.max(0, next - performance.now()));
    if (performance.now() - t0 >= seconds * 1000) producing = false;
  }
})();

// Watcher: a fresh catalog and QueryEngine per round, as `floe query` would be.
async function visibleCount(): Promise<number> {
  const catalog = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: dir });
  try {
    const engine = await QueryEngine.open({ catalog });
    try {
      const r = await engine.query('SELECT count(*) FROM bench.fresh');
      return Number(r.rows[0]![0]);
    } finally {
      engine.close();
    }
  } catch {
    return 0; // the table does not exist yet
  } finally {
    await catalog.close();
  }
}

const latencies: number[] = [];
const rounds: number[] = [];
let seen = 0;
let deadline = Infinity;
while (seen < putStart.length || producing) {
  const t = performance.now();
  const n = await visibleCount();
  rounds.push(performance.now() - t);
  for (; seen < Math.min(n, putStart.length); seen++) latencies.push(t - putStart[seen]!);
  if (!producing && deadline === Infinity) deadline = performance.now() + 120_000; // a stuck run must not hang the bench
  if (performance.now() > deadline) break;
  await sleep(20);
}
await producer;
floe.kill('SIGTERM');
const code = await exited;

// Every event exactly once.
const catalog = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: dir });
const engine = await QueryEngine.open({ catalog });
const check = await engine.query("SELECT count(*), count(DISTINCT event_id), min(CAST(split_part(event_id, '_', 2) AS BIGINT)), max(CAST(split_part(event_id, '_', 2) AS BIGINT)) FROM bench.fresh");
engine.close();
await catalog.close();
await kinesis.close();
await rm(dir, { recursive: true, force: true });
const [rows, distinct, minSeq, maxSeq] = check.rows[0]!.map(Number) as [number, number, number, number];

const lat = sorted(latencies);
emitResult({
  bench: 'freshness',
  interval,
  seconds,
  rate,
  events: putStart.length,
  measured: lat.length,
  p50Ms: percentile(lat, 50),
  p95Ms: percentile(lat, 95),
  p99Ms: percentile(lat, 99),
  maxMs: lat[lat.length - 1],
  queryRoundMs: percentile(sorted(rounds), 50),
  commits: commitDurations.length,
  commitDurationP50Ms: percentile(sorted(commitDurations), 50),
  exactlyOnce: rows === putStart.length && distinct === putStart.length && minSeq === 0 && maxSeq === putStart.length - 1,
  rows,
  floeExitCode: code,
});
