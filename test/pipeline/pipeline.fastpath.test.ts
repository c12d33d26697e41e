/**
 * The JSON fast path (`record-scan.ts`) changes nothing observable: the same records through a
 * real Pipeline with `jsonFastPath: false` (every record through TextDecoder → JSON.parse →
 * transform) and with the default (usual records read straight from their bytes) give the same
 * table rows, the same dead letters (error text included), the same data files per commit with
 * the same metrics (counts, null counts, bounds), and the same checkpoint positions.
 *
 * The records mix the usual shape (read on the fast path) with records the fast path declines
 * (escapes, numbers for strings, duplicate keys, offsets in timestamps, a BOM...) and bad records
 * (invalid JSON or UTF-8, impossible dates, missing required fields), so every 2048-row chunk of
 * every file holds rows of both paths. Unpartitioned, partitioned, and a mapping of numeric and
 * boolean columns.
 *
 * Commit boundaries are made deterministic so that files can be compared commit by commit: a
 * fixed clock with a one-hour interval (the first poll commits at once, the rest at stop), and
 * stop as soon as the source has handed out every record.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DuckDBBlobValue, DuckDBTimestampTZValue, DuckDBTimestampValue, type DuckDBValue } from '@duckdb/node-api';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { readManifest } from '../../src/iceberg/avro/manifest.js';
import { readManifestList } from '../../src/iceberg/avro/manifest-list.js';
import type { DataFile } from '../../src/iceberg/manifest-types.js';
import { ancestors, snapshotForRef } from '../../src/iceberg/snapshot.js';
import { readCheckpoint } from '../../src/pipeline/checkpoint.js';
import { validateConfig } from '../../src/pipeline/config.js';
import { Pipeline, type PipelineEvent } from '../../src/pipeline/pipeline.js';
import { DECLINED, RecordScanner, STAGED } from '../../src/pipeline/record-scan.js';
import { nativeScanBinding } from '../../src/pipeline/record-scan-native.js';
import { QueryEngine } from '../../src/query/engine.js';
import { MemorySource, type MemoryPartition } from '../../src/source/memory.js';
import type { PollOptions, SourceBatch } from '../../src/source/source.js';
import { Table } from '../../src/table/table.js';
import { rng } from '../helpers/rng.js';

const enc = new TextEncoder();
const SHARDS = 3;
const PER_SHARD = 4000;
/** The fixed clock: processing times and dead-letter times are the same in both runs. */
const NOW_MS = 1_767_885_413_000;


const bytes = (...parts: (string | number[])[]) => {
  const chunks = parts.map((p) => (typeof p === 'string' ? enc.encode(p) : Uint8Array.from(p)));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
};

// ---------------------------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------------------------

const EVENT_TYPES = ['click', 'click', 'click', 'click', 'page_view', 'page_view', 'purchase', 'café'];
const DAYS = ['2026-01-08', '2026-01-08', '2026-01-08', '2026-01-07', '2026-01-09'];

/** A timestamp of the common shape: 0–9 fraction digits, T or space, Z or z. */
function stamp(r: () => number): string {
  const day = DAYS[Math.floor(r() * DAYS.length)]!;
  const hh = String(Math.floor(r() * 24)).padStart(2, '0');
  const mm = String(Math.floor(r() * 60)).padStart(2, '0');
  const ss = String(Math.floor(r() * 60)).padStart(2, '0');
  const digits = Math.floor(r() * 10);
  const frac = digits === 0 ? '' : '.' + String(Math.floor(r() * 10 ** digits)).padStart(digits, '0');
  return `${day}${r() < 0.9 ? 'T' : ' '}${hh}:${mm}:${ss}${frac}${r() < 0.95 ? 'Z' : 'z'}`;
}

/**
 * Record `i` of a shard in the reference shape (event_id, user_id, event_type, page, timestamp),
 * one of many variants; `kinds` counts them.
 */
function referenceRecord(shard: number, i: number, r: () => number): Uint8Array {
  const id = `evt_${shard}_${i}`;
  const base = (): Record<string, unknown> => ({
    event_id: id,
    user_id: `user_${Math.floor(r() * 50)}`,
    event_type: EVENT_TYPES[Math.floor(r() * EVENT_TYPES.length)]!,
    page: `/products/${Math.floor(r() * 1000)}`,
    timestamp: stamp(r),
  });
  const json = (o: unknown) => enc.encode(JSON.stringify(o));
  const x = r();
  // Read on the fast path.
  if (x < 0.45) return json(base());
  if (x < 0.5) return json({ ...base(), user_id: 'usér_✓', page: `/produits/été/𝄞/${i}`, event_type: r() < 0.5 ? 'café' : 'click' });
  if (x < 0.54) return json({ ...base(), user_id: null, page: null });
  if (x < 0.56) return json({ ...base(), timestamp: null, event_type: null });
  if (x < 0.58) {
    const o = base();
    delete o.page;
    delete o.user_id;
    return json(o);
  }
  if (x < 0.6) return json({ ...base(), user_id: '', page: '' });
  if (x < 0.62) return json({ ...base(), page: `/long/${'segment-'.repeat(5 + Math.floor(r() * 30))}${i}` });
  if (x < 0.64) return json({ meta: { a: [1, 2, { b: 'é\n"' }], c: null, d: true, e: -1.5e3 }, tags: ['x', 'y'], ...base(), n: 1.5 });
  if (x < 0.65) return enc.encode(JSON.stringify(base(), null, 2));
  // Declined by the fast path, rows on the general path.
  if (x < 0.67) return json({ ...base(), page: `/a"b\\c/${i}`, user_id: 'tab\there' });
  if (x < 0.68) return enc.encode(JSON.stringify(base()).replace('"user_', '"\\u0075ser_'));
  if (x < 0.685) return json({ ...base(), page: `lone \ud800 surrogate ${i}` });
  if (x < 0.7) return json({ ...base(), user_id: 12345 + i, event_type: true, page: { a: 1, b: [i] } });
  if (x < 0.71) return json({ ...base(), event_id: 1_000_000 + i });
  if (x < 0.72) return enc.encode(JSON.stringify(base()).replace('{', `{"user_id":"first","page":"first",`));
  if (x < 0.73) return json({ ...base(), timestamp: `2026-01-08T15:16:52+0${Math.floor(r() * 9)}:30` });
  if (x < 0.735) return json({ ...base(), timestamp: '2026-01-08' });
  if (x < 0.74) return json({ ...base(), timestamp: '2026-01-08T15:16' });
  if (x < 0.745) return bytes('\ufeff', JSON.stringify(base()));
  if (x < 0.75) return enc.encode(JSON.stringify(base()).replace('"page"', '"\\u0070age"'));
  if (x < 0.755) return json({ ...base(), nested: { deep: [[[[[[{ x: '\\u' }]]]]]] } });
  // Dead letters.
  if (x < 0.765) return enc.encode(JSON.stringify(base()).slice(0, -3));
  if (x < 0.77) return enc.encode(JSON.stringify(base()) + 'x');
  if (x < 0.775) return enc.encode(r() < 0.5 ? '' : 'not json');
  if (x < 0.78) return enc.encode(r() < 0.5 ? '[1,2]' : '"just a string"');
  if (x < 0.79) {
    const o = JSON.stringify(base());
    const cut = o.indexOf('/products/') + 3;
    return bytes(o.slice(0, cut), r() < 0.5 ? [0xff] : [0xc3, 0x28], o.slice(cut));
  }
  if (x < 0.795) return bytes(JSON.stringify(base()).slice(0, -1), ',"other":"', [0xed, 0xa0, 0x80], '"}');
  if (x < 0.8) return json({ ...base(), timestamp: ['2026-02-30T00:00:00Z', '2026-01-08T24:00:00Z', '2026-13-01T00:00:00Z', '2025-02-29T12:00:00Z'][Math.floor(r() * 4)] });
  if (x < 0.805) return json({ ...base(), timestamp: '2026-01-08T15:16:52.1234567891Z' });
  if (x < 0.81) return json({ ...base(), timestamp: 1_767_885_412_345 });
  if (x < 0.815) {
    const o = base();
    delete o.event_id;
    return json(o);
  }
  if (x < 0.82) return json({ ...base(), event_id: null });
  // Strings larger than the native scanner's stage holds per column (128 KiB): read on their own.
  if (x > 0.9993) return json({ ...base(), page: `/huge/${'p'.repeat(140_000 + Math.floor(r() * 1000))}` });
  // The rest: the usual shape again.
  return json(base());
}

/** A record of the numeric mapping (long, int, double, float, boolean, timestamp, string). */
function numericRecord(shard: number, i: number, r: () => number): Uint8Array {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const fields: [string, string][] = [['id', JSON.stringify(`n_${shard}_${i}`)]];
  const x = r();
  const fastLong = () => pick(['0', '-0', '1', '-1', '2147483648', '-4294967296', '9007199254740991', '-9007199254740991', String(Math.floor((r() - 0.5) * 2 ** 40))]);
  const fastInt = () => pick(['0', '-0', '7', '-2147483648', '2147483647', String(Math.floor((r() - 0.5) * 2 ** 20))]);
  const fastDouble = () => pick(['0', '-0', '1.5', '-2.25', '0.1', '1e22', '1E-22', '123456.789', '-0.000001234', String(Math.floor(r() * 1e6) / 100)]);
  const fastFloat = () => pick(['0', '-0.0', '3.4e38', '1.5', '-123.456', '0.1']);
  const fastBool = () => pick(['true', 'false', 'null']);
  const fastTs = () => JSON.stringify(stamp(r));
  if (x < 0.75) {
    fields.push(['l', fastLong()], ['i', fastInt()], ['d', fastDouble()], ['f', fastFloat()], ['b', fastBool()], ['ts', fastTs()], ['s', JSON.stringify(pick(['a', 'é', '𝄞', '', 'zz']))]);
    fields.push(['dt', JSON.stringify(pick(['2026-01-08', '2024-02-29', '1969-12-31', '0001-01-01', '9999-12-31']))]);
    if (r() < 0.2) fields.splice(1 + Math.floor(r() * 6), 1); // a missing optional field
    if (r() < 0.1) fields.push(['l', 'null']); // a null (after a value: declined, the last wins)
  } else if (x < 0.9) {
    // Declined by the fast path; the general path reads them.
    fields.push(
      ['l', pick(['1.0', '1e3', '"12"', '" -7 "', '12.0e0'])],
      ['i', pick(['"7"', '1.0', '2e2'])],
      ['d', pick(['1.5e-300', '1e400', '"NaN"', '"1.5"', '12345678901234567', '"Infinity"', '5e-324'])],
      ['f', pick(['1e-50', '"2.5"', '3.4028234663852886e38'])],
      ['b', pick(['"true"', '"false"'])],
      ['ts', pick(['1767885412345', '0', '-1000', '"2026-01-08T15:16:52+05:30"'])],
      ['s', pick(['5', 'true', '{"a":[1]}', '"\\u00e9"'])],
      ['dt', pick(['" 2026-01-08"', '1767830400000', '"2026-01-08 "'])],
    );
  } else {
    // Dead letters.
    const bad = pick<[string, string]>([
      ['l', '9007199254740993'],
      ['l', '12.5'],
      ['l', 'true'],
      ['i', '2147483648'],
      ['i', '"x"'],
      ['f', '3.5e38'],
      ['b', '1'],
      ['b', '"yes"'],
      ['ts', '"2026-02-29T00:00:00Z"'],
      ['ts', '1.5e300'], // epoch ms far beyond 64-bit microseconds
      ['ts', '9.3e15'], // just beyond
      ['d', '"one"'],
      ['dt', '"2026-02-30"'],
      ['dt', '"2026-1-8"'],
    ]);
    fields.push(['l', fastLong()], bad);
  }
  return enc.encode(`{${fields.map(([k, v]) => `"${k}":${v}`).join(',')}}`);
}

type RecordMaker = (shard: number, i: number, r: () => number) => Uint8Array;

/** The records of every shard, made once and shared by both runs. */
function makeRecords(make: RecordMaker, seed: number): Uint8Array[][] {
  return Array.from({ length: SHARDS }, (_, shard) => {
    const r = rng(seed * 100 + shard);
    return Array.from({ length: PER_SHARD }, (_, i) => make(shard, i, r));
  });
}

/** A MemorySource that stops the pipeline once it has handed out its last record. */
class DrainingSource extends MemorySource {
  onDrained: (() => void) | undefined;

  constructor(records: Uint8Array[][]) {
    const partitions: MemoryPartition[] = records.map((list, shard) => ({
      id: `shardId-00000000000${shard}`,
      length: list.length,
      record: (i: number) => ({ data: list[i]!, partitionKey: `pk_${i % 17}`, arrivalTimeMs: 1_767_885_400_000 + i }),
    }));
    super({ id: 'events', partitions });
  }

  override async poll(options: PollOptions): Promise<SourceBatch> {
    const batch = await super.poll(options);
    // The records of this batch are ingested before the run loop looks at `stopping`.
    if (this.drained) this.onDrained?.();
    return batch;
  }
}

// ---------------------------------------------------------------------------------------------
// Runs and what they leave
// ---------------------------------------------------------------------------------------------

interface FileFacts {
  partition: string;
  recordCount: number;
  valueCounts: string;
  nullValueCounts: string;
  nanValueCounts: string;
  lowerBounds: string;
  upperBounds: string;
  /** Only meaningful when the rows of the commit come in one order (see `ordered`). */
  columnSizes: string;
  fileSize: number;
}

interface SnapshotFacts {
  positions: [string, string][];
  summary: Record<string, string>;
  files: FileFacts[];
}

interface RunResult {
  rows: string[];
  deadLetters: string[];
  table: SnapshotFacts[];
  deadLetterTable: SnapshotFacts[];
  commits: number;
  fast: { accepted: number; declined: number; staged: number; native: boolean };
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const mapText = <V>(m: Map<number, V> | undefined, f: (v: V) => string = String): string =>
  JSON.stringify([...(m ?? new Map<number, V>())].sort((a, b) => a[0] - b[0]).map(([k, v]) => [k, f(v)]));

function valueText(v: DuckDBValue): string {
  if (v === null) return 'null';
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'boolean') return String(v);
  if (v instanceof DuckDBBlobValue) return `blob:${hex(v.bytes)}`;
  if (v instanceof DuckDBTimestampTZValue || v instanceof DuckDBTimestampValue) return `ts:${v.micros}`;
  return `${v.constructor.name}:${String(v)}`;
}

async function snapshotFacts(table: Table, stream: string): Promise<SnapshotFacts[]> {
  const head = snapshotForRef(table.metadata, 'main');
  if (!head) return [];
  const out: SnapshotFacts[] = [];
  for (const snap of [...ancestors(table.metadata, head['snapshot-id'])].reverse()) {
    const files: DataFile[] = [];
    for (const m of readManifestList(await table.io.read(snap['manifest-list']!))) {
      if (m.added_snapshot_id !== snap['snapshot-id']) continue;
      const { entries } = readManifest(await table.io.read(m.manifest_path));
      for (const e of entries) if (e.status === 1) files.push(e.data_file);
    }
    const facts = files.map(
      (f): FileFacts => ({
        partition: JSON.stringify(f.partition, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)),
        recordCount: f.record_count,
        valueCounts: mapText(f.value_counts),
        nullValueCounts: mapText(f.null_value_counts),
        nanValueCounts: mapText(f.nan_value_counts),
        lowerBounds: mapText(f.lower_bounds, hex),
        upperBounds: mapText(f.upper_bounds, hex),
        columnSizes: mapText(f.column_sizes),
        fileSize: f.file_size_in_bytes,
      }),
    );
    facts.sort((a, b) => (a.partition < b.partition ? -1 : a.partition > b.partition ? 1 : 0));
    // Snapshot ids, times and paths differ between runs; the record and file counts must not.
    const keep = ['operation', 'added-records', 'added-data-files', 'total-records', 'total-data-files', 'added-files-size'];
    const summary = Object.fromEntries(Object.entries(snap.summary).filter(([k]) => keep.includes(k)));
    out.push({ positions: [...readCheckpoint(snap, stream)].sort(), summary, files: facts });
  }
  return out;
}

/**
 * How records are read: 'off' (jsonFastPath false: every record the general way), 'js' (the
 * fast path's JavaScript scanner, row by row) or 'native' (its native build, which stages rows in
 * columns when the mapping and table allow it).
 */
type Mode = 'off' | 'js' | 'native';

async function run(config: Record<string, unknown>, records: Uint8Array[][], mode: Mode): Promise<RunResult> {
  const dir = await mkdtemp(join(tmpdir(), `floe-fastpath-${mode}-`));
  const catalog = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: dir });
  // Counts what the fast path did (a spy on the real scanner; it changes nothing). A staged
  // read that found no room, or a value the stage cannot hold, is followed by another read.
  const fast = { accepted: 0, declined: 0, staged: 0, native: false };
  const scan = RecordScanner.prototype.scan;
  const scanStaged = RecordScanner.prototype.scanStaged;
  RecordScanner.prototype.scan = function (this: RecordScanner, ...args: Parameters<RecordScanner['scan']>) {
    const ok = scan.apply(this, args);
    if (ok) fast.accepted++;
    else fast.declined++;
    fast.native ||= this.native;
    return ok;
  };
  RecordScanner.prototype.scanStaged = function (this: RecordScanner, ...args: Parameters<RecordScanner['scanStaged']>) {
    const r = scanStaged.apply(this, args);
    if (r === STAGED) {
      fast.accepted++;
      fast.staged++;
    } else if (r === DECLINED) fast.declined++;
    fast.native ||= this.native;
    return r;
  };
  try {
    const source = new DrainingSource(records);
    let commits = 0;
    const pipeline = await Pipeline.open({
      config: validateConfig({ ...config, catalog: { warehouse: dir } }),
      catalog,
      source,
      now: () => NOW_MS,
      ...(mode === 'off' ? { jsonFastPath: false } : mode === 'js' ? { nativeScanner: false } : {}),
      onEvent: (e: PipelineEvent) => {
        if (e.type === 'commit') commits++;
      },
    });
    source.onDrained = () => pipeline.stop();
    await pipeline.run();

    const engine = await QueryEngine.open({ catalog });
    let rows: string[];
    let deadLetters: string[];
    try {
      const text = (r: DuckDBValue[]) => r.map(valueText).join(' | ');
      rows = (await engine.query('SELECT * FROM db.events')).rows.map(text).sort();
      deadLetters = (await engine.query('SELECT * FROM db.events_dead_letters')).rows.map(text).sort();
    } finally {
      engine.close();
    }
    const table = await Table.load(catalog, { namespace: ['db'], name: 'events' });
    const dlq = await Table.load(catalog, { namespace: ['db'], name: 'events_dead_letters' });
    return {
      rows,
      deadLetters,
      table: await snapshotFacts(table, source.id),
      deadLetterTable: await snapshotFacts(dlq, source.id),
      commits,
      fast,
    };
  } finally {
    RecordScanner.prototype.scan = scan;
    RecordScanner.prototype.scanStaged = scanStaged;
    await catalog.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Runs the records the general way, with the JavaScript scanner and with the native one, and
 * asserts that nothing observable differs. `staged`: whether the native run stages rows.
 */
async function compareRuns(name: string, config: Record<string, unknown>, make: RecordMaker, seed: number, staged = false): Promise<void> {
  const records = makeRecords(make, seed);
  const slow = await run(config, records, 'off');
  const js = await run(config, records, 'js');
  assert.equal(js.fast.native, false, `${name}: the JavaScript scanner read`);
  assert.equal(js.fast.staged, 0, `${name}: the JavaScript scanner stages nothing`);
  compare(`${name} (JavaScript scanner)`, slow, js);
  const native = await run(config, records, 'native');
  assert.ok(nativeScanBinding(), 'the native scanner is built (npm ci)');
  assert.equal(native.fast.native, true, `${name}: the native scanner read`);
  if (staged) assert.ok(native.fast.staged > native.fast.accepted * 0.9, `${name}: ${native.fast.staged} of ${native.fast.accepted} rows staged`);
  else assert.equal(native.fast.staged, 0, `${name}: no rows staged`);
  compare(`${name} (native scanner)`, slow, native);
}

function compare(name: string, slow: RunResult, quick: RunResult): void {
  const total = SHARDS * PER_SHARD;
  // The comparison is not vacuous: both paths ran, and rows and dead letters were made.
  assert.deepStrictEqual(slow.fast, { accepted: 0, declined: 0, staged: 0, native: false }, `${name}: jsonFastPath false never scans`);
  assert.equal(quick.fast.accepted + quick.fast.declined, total, `${name}: every record offered to the fast path`);
  assert.ok(quick.fast.accepted > total * 0.5, `${name}: ${quick.fast.accepted} records on the fast path`);
  assert.ok(quick.fast.declined > total * 0.1, `${name}: ${quick.fast.declined} records declined`);
  assert.ok(slow.deadLetters.length > total * 0.02, `${name}: ${slow.deadLetters.length} dead letters`);
  assert.equal(slow.rows.length + slow.deadLetters.length, total, `${name}: every record is a row or a dead letter`);
  assert.equal(slow.commits, 2, `${name}: the first poll commits at once, the rest at stop`);

  // The same table.
  assert.equal(quick.rows.length, slow.rows.length, `${name}: row count`);
  assert.deepStrictEqual(quick.rows, slow.rows, `${name}: the rows`);
  assert.deepStrictEqual(quick.deadLetters, slow.deadLetters, `${name}: the dead letters`);
  assert.equal(quick.commits, slow.commits, `${name}: commits`);
  for (const [what, q, s] of [
    ['table', quick.table, slow.table],
    ['dead-letter table', quick.deadLetterTable, slow.deadLetterTable],
  ] as const) {
    assert.equal(q.length, s.length, `${name}: ${what}: snapshots`);
    s.forEach((snap, k) => {
      const at = `${name}: ${what}: snapshot ${k}`;
      assert.deepStrictEqual(q[k]!.positions, snap.positions, `${at}: checkpoint positions`);
      // The first commit's rows come in one order (one poll); later ones in the order polls
      // happened to interleave the shards, which moves sizes but not counts or bounds.
      const ordered = k === 0;
      const strip = (f: FileFacts) => (ordered ? f : { ...f, columnSizes: '', fileSize: 0 });
      const summary = (x: Record<string, string>) => (ordered ? x : { ...x, 'added-files-size': '' });
      assert.deepStrictEqual(summary(q[k]!.summary), summary(snap.summary), `${at}: summary`);
      assert.deepStrictEqual(q[k]!.files.map(strip), snap.files.map(strip), `${at}: data files and their metrics`);
    });
  }
  // Positions: the last snapshot covers every record of every shard.
  assert.deepStrictEqual(
    quick.table.at(-1)!.positions,
    Array.from({ length: SHARDS }, (_, shard) => [`shardId-00000000000${shard}`, String(PER_SHARD - 1)]),
  );
  // Rows of both paths mix in every 2048-row chunk; at least one file spans several chunks.
  assert.ok(Math.max(...quick.table[0]!.files.map((f) => f.recordCount)) > 2048, `${name}: a file of several chunks`);
}

const REFERENCE_COLUMNS = {
  event_id: { type: 'string', required: true },
  user_id: 'string',
  event_type: 'string',
  page: 'string',
  event_time: { type: 'timestamptz', path: 'timestamp' },
  processed_time: { type: 'timestamptz', value: 'processing_time' },
  shard: { type: 'string', value: 'shard' },
  pos: { type: 'string', value: 'position' },
  arrival: { type: 'timestamptz', value: 'arrival_time' },
};

function baseConfig(table: Record<string, unknown>, columns: Record<string, unknown>): Record<string, unknown> {
  return {
    source: { stream: 'events' },
    table: { name: 'db.events', ...table },
    transform: { columns },
    commit: { interval: '1h' },
    dead_letter: { policy: 'dlq' },
    maintenance: false,
  };
}

test('fast path on and off: the same unpartitioned table, dead letters, metrics and positions', { timeout: 60_000 }, async () => {
  await compareRuns('unpartitioned', baseConfig({}, REFERENCE_COLUMNS), referenceRecord, 1);
});

test('fast path on and off: the same unpartitioned table from staged rows (native scanner)', { timeout: 60_000 }, async () => {
  // Computed columns that are all 64-bit (processing and arrival times): the native scanner
  // stages rows in columns and the buffer takes them in bulk, in order with the rows of the
  // general path and the rows too large for the stage.
  const { shard: _shard, pos: _pos, ...columns } = REFERENCE_COLUMNS;
  await compareRuns('staged', baseConfig({}, columns), referenceRecord, 5, true);
});

test('fast path on and off: the same partitioned table (event_type, day(event_time))', { timeout: 60_000 }, async () => {
  await compareRuns('partitioned', baseConfig({ partition_by: 'event_type, day(event_time)' }, REFERENCE_COLUMNS), referenceRecord, 2);
});

test('fast path on and off: the same table of long, int, double, float, boolean and timestamp columns', { timeout: 60_000 }, async () => {
  const columns = {
    id: { type: 'string', required: true },
    l: 'long',
    i: 'int',
    d: 'double',
    f: 'float',
    b: 'boolean',
    ts: { type: 'timestamp', format: 'epoch_ms' },
    s: 'string',
    dt: { type: 'date', format: 'epoch_ms' },
    c: { type: 'long', constant: 42 },
    processed: { type: 'timestamptz', value: 'processing_time' },
  };
  await compareRuns('numeric', baseConfig({ partition_by: 'bucket(3, l)' }, columns), numericRecord, 3);
  await compareRuns('numeric, staged', baseConfig({}, columns), numericRecord, 6, true);
});

/** A record of the nested mapping (EventBridge-like: `detail.*`, `meta.*`). */
function nestedRecord(shard: number, i: number, r: () => number): Uint8Array {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const detail: Record<string, unknown> = {
    user: r() < 0.9 ? { id: `u${i % 7}`, name: pick(['Ann', 'Bó', '𝄞', '']) } : null,
    ts: stamp(r),
    n: pick([1.5, -0, 42, 0.1]),
  };
  const record: Record<string, unknown> = { id: `n_${shard}_${i}`, 'detail-type': 'order', detail, meta: { region: pick(['eu', 'us']) } };
  const x = r();
  // Declined by the fast path (the general path reads them, or dead-letters them).
  if (x < 0.05) record.detail = [detail];
  else if (x < 0.08) record.meta = 'none';
  else if (x < 0.1) (detail as { user: unknown }).user = { id: 7 };
  else if (x < 0.12) delete record.id;
  let text = JSON.stringify(record);
  if (x >= 0.12 && x < 0.14) text = text.replace('"meta":', '"meta":{"region":"dup"},"meta":');
  return enc.encode(text);
}

test('fast path on and off: the same table from nested paths', { timeout: 60_000 }, async () => {
  const columns = {
    id: { type: 'string', required: true },
    user_id: { type: 'string', path: 'detail.user.id' },
    user_name: { type: 'string', path: 'detail.user.name' },
    ts: { type: 'timestamptz', path: 'detail.ts' },
    n: { type: 'double', path: 'detail.n' },
    region: { type: 'string', path: 'meta.region' },
  };
  await compareRuns('nested', baseConfig({ partition_by: 'region' }, columns), nestedRecord, 4);
  await compareRuns('nested, staged', baseConfig({}, columns), nestedRecord, 7, true);
});
