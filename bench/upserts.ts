/**
 * Reads of an upsert table (issue 18): query time (`floe query`'s engine: a fresh `QueryEngine`
 * per query, as the CLI opens one, so planning is included) of a count and a filtered aggregate
 * over a table of `--rows` rows,
 *  - while it receives upserts of `--fraction` of its keys every second (one row delta per second:
 *    data files and an equality delete file, `writeEqualityDeletes` + `Table.newRowDelta`) with
 *    maintenance on (the defaults of `floe run`, delete-file trigger included), against
 *  - the same table append-only (the same number of new rows every second, new keys), with the
 *    same maintenance;
 *  - and, maintenance off, the same queries after 0, 1, 5, 20, 50 upserts (uncompacted delete files),
 *    then (`--convert-deletes true`) the same with the equality deletes converted to position deletes after each step.
 *
 * `--convert-deletes true` runs the write phases with `maintenance.convert_deletes` on (off by
 * default, as in `floe run`) and adds the converted growth pass. `--format-version 3` makes the
 * tables v3 (row lineage; conversion writes deletion vectors instead of position delete files).
 *
 *   node dist/bench/upserts.js --rows 10000000 --seconds 60      # the full run (npm run bench)
 *   node dist/bench/upserts.js --rows 1000000 --seconds 15 --steps 0,1,5,20   # under a minute
 *
 * Writer and maintenance share one process, as in `floe run`; queries run in a thread of their
 * own (`--queries worker`, the default: `floe query` is a process of its own, sharing the
 * machine's cores, not the writer's event loop), or in the writer's thread (`--queries inline`,
 * how this bench measured before 2026-12-08). Query times include the writer's and the
 * compaction's load on the machine. The last line is JSON.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { SqlCatalog } from '../src/catalog/sql/sql-catalog.js';
import type { TableIdentifier } from '../src/catalog/catalog.js';
import type { ColumnBatch } from '../src/data/column-batch.js';
import { closeSharedDuckDB, sharedDuckDB } from '../src/duckdb/instance.js';
import { isDeletionVector, type DataFile } from '../src/iceberg/manifest-types.js';
import { deleteFileKey } from '../src/table/delete-file-rules.js';
import { UpsertVectors } from '../src/table/upsert-vectors.js';
import type { Schema } from '../src/iceberg/types.js';
import { MaintenanceScheduler, type MaintenanceEvent } from '../src/maintenance/scheduler.js';
import { convertEqualityDeletes } from '../src/maintenance/convert-deletes.js';
import { MAINTENANCE_DEFAULTS } from '../src/pipeline/config.js';
import { QueryEngine } from '../src/query/engine.js';
import { planTableScan } from '../src/query/table-scan.js';
import { maintenancePolicy } from '../src/run/run-pipeline.js';
import { ensureDeleteLayout, writeEqualityDeletes } from '../src/table/equality-deletes.js';
import { Table } from '../src/table/table.js';
import { dataLocation, writeDataFiles } from '../src/table/write.js';
import { Worker } from 'node:worker_threads';
import type { QueryAnswer } from './query-worker.js';
import { emitResult, flag, median, peakRss, percentile, sorted } from './common.js';

const ROWS = Number(flag('rows', '10000000'));
const FRACTION = Number(flag('fraction', '0.01'));
const SECONDS = Number(flag('seconds', '60'));
const STEPS = flag('steps', '0,1,5,20,50')
  .split(',')
  .map((s) => Number(s.trim()));
/** Rows per base file (the table's initial files). */
const FILE_ROWS = Number(flag('file-rows', '1000000'));
/** Seconds between query samples during the write phases. */
const SAMPLE_EVERY_MS = Number(flag('sample-every', '2')) * 1000;
/** Query threads (DuckDB's default is every core: `floe query`'s). */
const QUERY_THREADS = flag('query-threads', '');
/** `maintenance.compact.delete_files.min_ratio` (default: the config's default). */
const DELETE_RATIO = flag('delete-min-ratio', '');
/** Where queries run: `worker` (a thread of their own, as a `floe query` process) or `inline` (the writer's thread). */
const QUERIES = flag('queries', 'worker');
if (QUERIES !== 'worker' && QUERIES !== 'inline') throw new Error('bench: upserts: --queries must be worker or inline');
/** `maintenance.convert_deletes` on in the write phases (off: `floe run`'s default), and the converted growth pass. */
const CONVERT = flag('convert-deletes', 'false') === 'true';
/** The tables' format version: 3 converts to deletion vectors, 2 to position delete files. */
const FORMAT_VERSION = Number(flag('format-version', '2'));
if (FORMAT_VERSION !== 2 && FORMAT_VERSION !== 3) throw new Error('bench: upserts: --format-version must be 2 or 3');
/**
 * How upserts delete older rows: `vectors` (v3 only; the default there) by position through the
 * writer's key index (`table/upsert-vectors.ts`, as `floe run` does), `equality` by equality deletes.
 */
const DELETES = flag('deletes', FORMAT_VERSION === 3 ? 'vectors' : 'equality');
if (DELETES !== 'vectors' && DELETES !== 'equality') throw new Error('bench: upserts: --deletes must be vectors or equality');
if (DELETES === 'vectors' && FORMAT_VERSION !== 3) throw new Error('bench: upserts: --deletes vectors needs --format-version 3');
if (!(ROWS > 0) || !(FRACTION > 0 && FRACTION <= 1) || !(SECONDS > 0) || STEPS.some((s) => !(s >= 0))) {
  throw new Error('bench: upserts: --rows, --fraction (0..1], --seconds and --steps must be positive');
}
const PER_SECOND = Math.max(1, Math.round(ROWS * FRACTION));

const SCHEMA: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'grp', required: true, type: 'int' },
    { id: 3, name: 'amount', required: false, type: 'double' },
    { id: 4, name: 'version', required: false, type: 'int' },
  ],
  'identifier-field-ids': [1],
};
const NAME = 'bench.t';
const COUNT_SQL = `SELECT count(*) AS n FROM ${NAME}`;
const AGG_SQL = `SELECT grp, count(*) AS n, sum(amount) AS total FROM ${NAME} WHERE grp < 10 GROUP BY grp ORDER BY grp`;

/** Rows `ids` with values of `version` (deterministic per id and version). */
function batchOf(ids: ArrayLike<bigint>, version: number): ColumnBatch {
  const n = ids.length;
  const grp = new Int32Array(n);
  const amount = new Float64Array(n);
  const ver = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const id = Number(ids[i]!);
    grp[i] = (id * 31 + version * 7) % 100;
    amount[i] = ((id * 17 + version * 13) % 10_000) / 100;
    ver[i] = version;
  }
  return { length: n, columns: new Map<number, ArrayLike<unknown>>([[1, ids], [2, grp], [3, amount], [4, ver]]) } as ColumnBatch;
}

/** `PER_SECOND` distinct random keys of the table. */
function randomKeys(max: number): BigInt64Array {
  const seen = new Set<number>();
  while (seen.size < Math.min(PER_SECOND, max)) seen.add(Math.floor(Math.random() * max));
  return BigInt64Array.from([...seen].sort((a, b) => a - b), (x) => BigInt(x));
}

/** A catalog with an empty `bench.t` in `dir`. */
async function newTable(dir: string): Promise<{ catalog: SqlCatalog; table: Table; id: TableIdentifier }> {
  const catalog = new SqlCatalog({ name: 'bench', uri: join(dir, 'catalog.db'), warehouse: join(dir, 'wh') });
  await catalog.createNamespace(['bench']);
  const id = { namespace: ['bench'], name: 't' };
  await catalog.createTable(id, { schema: SCHEMA, formatVersion: FORMAT_VERSION as 2 | 3 });
  return { catalog, table: await Table.load(catalog, id), id };
}

/** Writes the base rows (ids 0..ROWS-1) once, in files of FILE_ROWS rows. */
async function writeBase(table: Table): Promise<DataFile[]> {
  const files: DataFile[] = [];
  for (let from = 0; from < ROWS; from += FILE_ROWS) {
    const n = Math.min(FILE_ROWS, ROWS - from);
    const ids = new BigInt64Array(n);
    for (let i = 0; i < n; i++) ids[i] = BigInt(from + i);
    const w = await writeDataFiles(table.io, table.metadata, batchOf(ids, 0));
    files.push(...w.files);
  }
  await table.newAppend().appendFiles(files).commit();
  return files;
}

/** A table holding a copy of the base files (byte copies: same rows, metrics and sizes). */
async function copyOfBase(base: DataFile[], dir: string) {
  const t = await newTable(dir);
  const data = dataLocation(t.table.metadata);
  const files: DataFile[] = [];
  for (const f of base) {
    const to = join(data, basename(f.file_path));
    await t.table.io.write(to, await readFile(f.file_path));
    files.push({ ...f, file_path: to });
  }
  await t.table.newAppend().appendFiles(files).commit();
  return t;
}

/**
 * One upsert commit: the rows of `ids` at `version` and an equality delete of their keys, or with
 * `vectors` the older rows deleted by position (the pipeline's commit, `pipeline.ts`).
 */
async function upsert(table: Table, ids: BigInt64Array, version: number, vectors?: UpsertVectors): Promise<void> {
  if (vectors) {
    await vectors.exclusive(async () => {
      const rows = await writeDataFiles(table.io, table.metadata, batchOf(ids, version));
      const prepared = await vectors.prepare(Array.from(ids, (k) => [k]), rows.files.map((file) => ({ file, specId: rows.specId })));
      if (!prepared) throw new Error(`bench: upserts: the key index is not in use: ${vectors.reason}`);
      const delta = table.newRowDelta({ validate: (base) => prepared.validate(base) }).addRowsFiles(rows.files, rows.specId);
      prepared.committed((await prepared.addTo(delta).commit()).snapshot);
    });
    return;
  }
  await table.refresh();
  const layout = await ensureDeleteLayout(table, [1]);
  const md = table.metadata;
  const rows = await writeDataFiles(table.io, md, batchOf(ids, version));
  const del = await writeEqualityDeletes(table.io, md, { length: ids.length, columns: new Map([[1, ids]]) } as ColumnBatch, {
    equalityIds: [1],
    specId: layout.specId,
  });
  await table.newRowDelta().addRowsFiles(rows.files, rows.specId).addDeleteFiles(del.files, del.specId).commit();
}

/** One append commit of new keys. */
async function append(table: Table, next: number, version: number): Promise<void> {
  await table.refresh();
  const ids = new BigInt64Array(PER_SECOND);
  for (let i = 0; i < PER_SECOND; i++) ids[i] = BigInt(next + i);
  const w = await writeDataFiles(table.io, table.metadata, batchOf(ids, version));
  await table.newAppend().appendFiles(w.files, w.specId).commit();
}

/** Times queries on a fresh engine each (open, plan, run, close: what `floe query` does). */
interface Reader {
  timed(sql: string): Promise<{ ms: number; rows: unknown[][] }>;
  close(): Promise<void>;
}

/** `--queries inline`: in the writer's thread (its commits' JavaScript delays the reader's). */
function inlineReader(catalog: SqlCatalog): Reader {
  return {
    async timed(sql) {
      const t0 = performance.now();
      const engine = await QueryEngine.open({ catalog, ...(QUERY_THREADS ? { threads: Number(QUERY_THREADS) } : {}) });
      try {
        const r = await engine.query(sql);
        return { ms: performance.now() - t0, rows: r.rows as unknown[][] };
      } finally {
        engine.close();
      }
    },
    close: async () => undefined,
  };
}

/** `--queries worker` (default): in a thread of its own (`query-worker.ts`), as `floe query` is a process of its own. */
function workerReader(dir: string): Reader {
  const worker = new Worker(new URL('./query-worker.js', import.meta.url), {
    workerData: { uri: join(dir, 'catalog.db'), warehouse: join(dir, 'wh'), ...(QUERY_THREADS ? { threads: Number(QUERY_THREADS) } : {}) },
  });
  const waiting = new Map<number, (a: QueryAnswer) => void>();
  worker.on('message', (a: QueryAnswer) => waiting.get(a.id)?.(a));
  let next = 0;
  return {
    async timed(sql) {
      const id = next++;
      const answer = await new Promise<QueryAnswer>((resolve) => {
        waiting.set(id, resolve);
        worker.postMessage({ id, sql });
      });
      waiting.delete(id);
      if (answer.error !== undefined) throw new Error(`bench: upserts: query failed: ${answer.error}`);
      return { ms: answer.ms, rows: answer.rows };
    },
    async close() {
      const exited = new Promise((r) => worker.once('exit', r));
      worker.postMessage('close');
      await exited;
    },
  };
}

function reader(catalog: SqlCatalog, dir: string): Reader {
  return QUERIES === 'worker' ? workerReader(dir) : inlineReader(catalog);
}

/** Live data files, delete files (vectors aside) and deletion vectors. */
async function fileCounts(table: Table): Promise<{ dataFiles: number; deleteFiles: number; vectors: number }> {
  await table.refresh();
  const scan = await planTableScan(table.io, table.metadata, { ref: 'main' });
  const deletes = scan.tasks.flatMap((t) => t.deletes.map((d) => d.file));
  return {
    dataFiles: scan.tasks.length,
    deleteFiles: new Set(deletes.filter((d) => !isDeletionVector(d)).map((d) => d.file_path)).size,
    vectors: new Set(deletes.filter(isDeletionVector).map(deleteFileKey)).size,
  };
}

/** The key index of `table` when upserts delete by position (built from its current snapshot). */
async function openVectors(table: Table): Promise<{ vectors: UpsertVectors; buildMs: number; keys: number; memoryBytes: number } | undefined> {
  if (DELETES !== 'vectors') return undefined;
  const at = performance.now();
  const vectors = await UpsertVectors.open(table, [1], await sharedDuckDB());
  if (!vectors?.active) throw new Error(`bench: upserts: no key index: ${vectors?.reason ?? 'unsupported'}`);
  return { vectors, buildMs: Math.round(performance.now() - at), keys: vectors.size, memoryBytes: vectors.memoryBytes };
}

interface Phase {
  mode: 'append-only' | 'upserts';
  commits: number;
  commitMsMedian: number;
  samples: { atS: number; countMs: number; aggMs: number; dataFiles: number; deleteFiles: number; vectors: number }[];
  /** Upserts by position: the key index's build time, keys and bytes at the end. */
  index?: { buildMs: number; keys: number; memoryBytes: number };
  countMs: { median: number; p90: number; max: number };
  aggMs: { median: number; p90: number; max: number };
  compactions: number;
  compactionSeconds: number[];
  conversions: number;
  conversionSeconds: number[];
  maintenanceErrors: string[];
  finalRows: number;
}

const stats = (xs: number[]) => {
  const s = sorted(xs);
  return { median: median(s), p90: percentile(s, 90), max: s[s.length - 1] ?? NaN };
};

/** Writes every second for SECONDS with maintenance on, sampling the queries meanwhile. */
async function phase(mode: Phase['mode'], base: DataFile[], root: string): Promise<Phase> {
  const dir = await mkdtemp(join(root, `${mode}-`));
  const { catalog, table, id } = await copyOfBase(base, dir);
  const index = mode === 'upserts' ? await openVectors(table) : undefined;
  const events: MaintenanceEvent[] = [];
  const scheduler = new MaintenanceScheduler({
    catalog,
    tables: [id],
    ...(index ? { upsertVectors: new Map([[NAME, index.vectors]]) } : {}),
    policy: maintenancePolicy({
      ...MAINTENANCE_DEFAULTS,
      removeOrphans: { ...MAINTENANCE_DEFAULTS.removeOrphans, enabled: false },
      convertDeletes: { ...MAINTENANCE_DEFAULTS.convertDeletes!, enabled: CONVERT },
      ...(DELETE_RATIO ? { compact: { ...MAINTENANCE_DEFAULTS.compact, deleteFiles: { ...MAINTENANCE_DEFAULTS.compact.deleteFiles!, minRatio: Number(DELETE_RATIO) } } } : {}),
    }),
    onEvent: (e) => events.push(e),
  });
  scheduler.start();
  const queries = reader(catalog, dir);
  const commitMs: number[] = [];
  const samples: Phase['samples'] = [];
  const t0 = performance.now();
  let stop = false;
  const writer = (async () => {
    let version = 1;
    let next = ROWS;
    for (let tick = 1; !stop; tick++) {
      const started = performance.now();
      if (mode === 'upserts') await upsert(table, randomKeys(ROWS), version, index?.vectors);
      else await append(table, next, version);
      next += PER_SECOND;
      version++;
      commitMs.push(performance.now() - started);
      // One commit a second (a slower commit starts the next at once).
      const wait = t0 + tick * 1000 - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  })();
  try {
    while (performance.now() - t0 < SECONDS * 1000) {
      const at = performance.now();
      const count = await queries.timed(COUNT_SQL);
      const agg = await queries.timed(AGG_SQL);
      samples.push({ atS: (at - t0) / 1000, countMs: count.ms, aggMs: agg.ms, ...(await fileCounts(table)) });
      const wait = at + SAMPLE_EVERY_MS - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  } finally {
    stop = true;
    await writer;
    await scheduler.stop();
  }
  const finalRows = Number((await queries.timed(COUNT_SQL)).rows[0]![0]);
  await queries.close();
  await catalog.close();
  await rm(dir, { recursive: true, force: true });
  const compactions = events.filter((e) => e.operation === 'compact' && !e.error);
  const conversions = events.filter((e) => e.operation === 'convert-deletes' && !e.error);
  return {
    mode,
    commits: commitMs.length,
    commitMsMedian: median(sorted(commitMs)),
    samples,
    countMs: stats(samples.map((s) => s.countMs)),
    aggMs: stats(samples.map((s) => s.aggMs)),
    compactions: compactions.length,
    compactionSeconds: compactions.map((e) => Math.round(e.durationMs / 100) / 10),
    conversions: conversions.length,
    conversionSeconds: conversions.map((e) => Math.round(e.durationMs / 100) / 10),
    maintenanceErrors: events.filter((e) => e.error).map((e) => `${e.operation}: ${e.error}`),
    finalRows,
    ...(index ? { index: { buildMs: index.buildMs, keys: index.vectors.size, memoryBytes: index.vectors.memoryBytes } } : {}),
  };
}

/**
 * Maintenance off: query times after 0, 1, 5, … upserts (each one more delete file); `convert`:
 * the equality deletes converted to position deletes after each step, before the queries.
 */
async function growth(base: DataFile[], root: string, convert = false) {
  const dir = await mkdtemp(join(root, 'growth-'));
  const { catalog, table } = await copyOfBase(base, dir);
  const index = convert ? undefined : await openVectors(table);
  const queries = reader(catalog, dir);
  const out: { deleteFiles: number; dataFiles: number; vectors: number; countMs: number; aggMs: number; convertMs?: number }[] = [];
  let done = 0;
  for (const step of [...STEPS].sort((a, b) => a - b)) {
    while (done < step) await upsert(table, randomKeys(ROWS), ++done, index?.vectors);
    let convertMs: number | undefined;
    if (convert) {
      const at = performance.now();
      await convertEqualityDeletes(table);
      convertMs = performance.now() - at;
    }
    const count: number[] = [];
    const agg: number[] = [];
    for (let r = 0; r < 3; r++) {
      count.push((await queries.timed(COUNT_SQL)).ms);
      agg.push((await queries.timed(AGG_SQL)).ms);
    }
    const files = await fileCounts(table);
    out.push({ ...files, countMs: median(sorted(count)), aggMs: median(sorted(agg)), ...(convertMs !== undefined ? { convertMs } : {}) });
  }
  await queries.close();
  await catalog.close();
  await rm(dir, { recursive: true, force: true });
  return out;
}

const root = await mkdtemp(join(tmpdir(), 'floe-bench-upserts-'));
try {
  const started = performance.now();
  const baseDir = await mkdtemp(join(root, 'base-'));
  const { catalog: baseCatalog, table: baseTable } = await newTable(baseDir);
  const base = await writeBase(baseTable);
  await baseCatalog.close();
  const buildSeconds = (performance.now() - started) / 1000;
  const appendOnly = await phase('append-only', base, root);
  const upserts = await phase('upserts', base, root);
  const steps = await growth(base, root);
  const converted = CONVERT ? await growth(base, root, true) : undefined;
  emitResult({
    bench: 'upserts',
    formatVersion: FORMAT_VERSION,
    deletes: DELETES,
    queries: QUERIES,
    rows: ROWS,
    perSecond: PER_SECOND,
    seconds: SECONDS,
    baseFiles: base.length,
    buildSeconds,
    appendOnly,
    upserts,
    ratioCountMedian: upserts.countMs.median / appendOnly.countMs.median,
    ratioAggMedian: upserts.aggMs.median / appendOnly.aggMs.median,
    ratioCountP90: upserts.countMs.p90 / appendOnly.countMs.p90,
    ratioAggP90: upserts.aggMs.p90 / appendOnly.aggMs.p90,
    convertDeletes: CONVERT,
    growth: steps,
    ...(converted ? { growthConverted: converted } : {}),
    peakRssMB: peakRss() / 1024 / 1024,
  });
} finally {
  await closeSharedDuckDB();
  await rm(root, { recursive: true, force: true });
}
