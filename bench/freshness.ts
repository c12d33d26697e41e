/**
 * Freshness: the time from PutRecords to the row being visible to a query, as a user of
 * `floe query` sees it, at a steady load through the embedded Kinesis endpoint.
 *
 *   node dist/bench/freshness.js --interval 1s --seconds 20 --rate 1000 [--shards 64]
 *
 * This process runs kinesalite (one shard), a producer sending `rate` events/s in PutRecords calls
 * every 50 ms, and a watcher that, over and over, opens the catalog and a fresh QueryEngine (a new
 * DuckDB instance, as `floe query` does) and counts the rows. The pipeline is the compiled
 * `floe run`, a separate process. One shard keeps the stream in put order, so a count of n means
 * events 0..n-1 are visible; each event's latency is the start of the first query that saw it
 * minus the start of the PutRecords call that sent it (so it includes the PutRecords call and is
 * at most one query round late). At the end every event must be in the table exactly once.
 *
 * `--shards N` (N > 1): the stream has N shards and the events spread over them by partition key,
 * so a count no longer says which events are visible (reading every visible id each round made
 * the watcher the machine's load). Each event's latency is then the commit that landed it (its
 * snapshot's `timestamp-ms`, found from the snapshot's added data files) minus the wall-clock
 * start of its PutRecords call: no query round in it; the watcher only counts, to know when all
 * are in. `floe run` is started as users start it (`bin/floe`).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { SqlCatalog } from '../src/catalog/sql/sql-catalog.js';
import { readManifest } from '../src/iceberg/avro/manifest.js';
import { readManifestList } from '../src/iceberg/avro/manifest-list.js';
import { EntryStatus, FileContent } from '../src/iceberg/manifest-types.js';
import { Table } from '../src/table/table.js';
import { QueryEngine } from '../src/query/engine.js';
import { ensureStream } from '../src/source/kinesis/admin.js';
import { kinesisClientFromEnv } from '../src/source/kinesis/client.js';
import { putRecords, type PutEntry } from '../src/source/kinesis/producer.js';
import { startLocalKinesis } from '../src/source/local-kinesis.js';
import { emitResult, flag, floeBin, liveEvent, percentile, sleep, sorted } from './common.js';
import { REFERENCE_COLUMNS } from './reference.js';

const interval = flag('interval', '1s');
const seconds = Number(flag('seconds', '20'));
const rate = Number(flag('rate', '1000'));
const shards = Number(flag('shards', '1'));
const TICK_MS = 50;

const dir = await mkdtemp(join(tmpdir(), 'floe-bench-fresh-'));
const kinesis = await startLocalKinesis();
const client = kinesisClientFromEnv({ endpoint: kinesis.url, region: 'us-east-1' });
const stream = 'bench-freshness';
await ensureStream(client, { streamName: stream, mode: 'PROVISIONED', shardCount: shards });

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
const floe = spawn(floeBin(), ['run', '--config', configPath], {
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
/** The same moments on the wall clock (snapshots' `timestamp-ms` are wall-clock). */
const putWall: number[] = [];
let producing = true;
const producer = (async () => {
  const t0 = performance.now();
  let seq = 0;
  for (let tick = 0; producing; tick++) {
    const due = Math.round(((tick + 1) * TICK_MS * rate) / 1000);
    const entries: PutEntry[] = [];
    const now = performance.now();
    const wall = Date.now();
    for (; seq < due; seq++) {
      putStart[seq] = now;
      putWall[seq] = wall;
      entries.push({ data: liveEvent('fresh', seq), partitionKey: `pk_${seq}` });
    }
    if (entries.length > 0) await putRecords(client, { streamName: stream }, entries);
    const next = t0 + (tick + 1) * TICK_MS;
    await sleep(Math.max(0, next - performance.now()));
    if (performance.now() - t0 >= seconds * 1000) producing = false;
  }
})();

// Watcher: a fresh catalog and QueryEngine per round, as `floe query` would be.
async function visible<T>(sql: string, read: (rows: unknown[][]) => T, none: T): Promise<T> {
  const catalog = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: dir });
  try {
    const engine = await QueryEngine.open({ catalog });
    try {
      return read((await engine.query(sql)).rows);
    } finally {
      engine.close();
    }
  } catch {
    return none; // the table does not exist yet
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
  if (shards === 1) {
    // One shard keeps put order: a count of n means events 0..n-1 are visible.
    const n = await visible('SELECT count(*) FROM bench.fresh', (rows) => Number(rows[0]![0]), 0);
    rounds.push(performance.now() - t);
    for (; seen < Math.min(n, putStart.length); seen++) latencies.push(t - putStart[seen]!);
  } else {
    seen = await visible('SELECT count(*) FROM bench.fresh', (rows) => Number(rows[0]![0]), 0);
    rounds.push(performance.now() - t);
    await sleep(200);
  }
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
if (shards > 1) {
  // Commit landed − PutRecords start, per event: each data file's snapshot time, then its ids.
  const table = await Table.load(catalog, { namespace: ['bench'], name: 'fresh' });
  const landed = new Map<string, number>();
  for (const snap of table.metadata.snapshots) {
    const listPath = snap['manifest-list'];
    if (listPath === undefined) continue; // v1 inline manifests: floe never writes them
    const list = readManifestList(await table.io.read(listPath), listPath);
    for (const m of list) {
      if (m.added_snapshot_id !== BigInt(snap['snapshot-id'])) continue;
      for (const e of readManifest(await table.io.read(m.manifest_path), m.manifest_path).entries) {
        if (e.status === EntryStatus.ADDED && e.data_file.content === FileContent.DATA) landed.set(e.data_file.file_path, snap['timestamp-ms']);
      }
    }
  }
  const paths = [...landed.keys()];
  const sqlList = paths.map((f) => `'${f.replace(/^file:\/\//, '').replaceAll("'", "''")}'`).join(', ');
  const r = await engine.query(`SELECT event_id, filename FROM read_parquet([${sqlList}], filename = true)`);
  const byPlainPath = new Map(paths.map((f) => [f.replace(/^file:\/\//, ''), landed.get(f)!]));
  for (const [id, file] of r.rows) {
    const seq = Number(String(id).split('_')[1]);
    const at = byPlainPath.get(String(file));
    if (at !== undefined && seq < putWall.length) latencies.push(at - putWall[seq]!);
  }
}
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
  shards,
  latency: shards > 1 ? 'commit landed − PutRecords start' : 'first query that saw it − PutRecords start',
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
