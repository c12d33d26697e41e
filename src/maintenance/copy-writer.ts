/**
 * Writes a data file straight from SQL: DuckDB runs the SELECT (a planned scan with its deletes
 * applied) and `COPY … TO … (FORMAT parquet, FIELD_IDS …)` writes the rows, so compaction never
 * moves row values through JavaScript. The file looks exactly like one written by
 * `data/parquet-writer.ts` (same DuckDB types, same field ids at every level, same compression).
 *
 * Metrics, since the values never pass through the writer's encoders, come from the written file:
 * - column sizes, value counts and split offsets from the footer (`readFooterInfo`);
 * - null counts, NaN counts and lower/upper bounds from one aggregate query over the file, for
 *   every leaf outside lists and maps (top-level columns and struct fields). Bounds are serialized
 *   and truncated by the writer's own `LeafStats`, so they are byte-identical to the writer's.
 *   Leaves under lists and maps get value counts and sizes only: no predicate can reference them,
 *   and Iceberg Java leaves their other metrics out as well.
 * Float bounds keep Java's order (-0.0 before 0.0): the query reports whether each signed zero
 * occurs, since `min`/`max` treat them as equal.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ensureLocalDirectoryAsync } from '../catalog/local-directory.js';
import { FloeError } from '../errors.js';
import type { DataFile } from '../iceberg/manifest-types.js';
import { decimalParams, primitiveKind } from '../iceberg/schema-types.js';
import type { IcebergType, IcebergValue, PrimitiveType, Schema } from '../iceberg/types.js';
import type { FileIO } from '../io/file-io.js';
import { fileUriToPath, isLocalLocation } from '../io/location.js';
import { RemapFileIO } from '../io/remap.js';
import { duckdbType } from '../duckdb/types.js';
import { DEFAULT_TRUNCATE_LENGTH, LeafStats, readFooterInfo, type ParquetFileMetrics } from '../data/parquet-metrics.js';
import { toDataFile } from '../data/data-file.js';
import { fieldIdsLiteral, icebergSchemaKv, writtenType, type ParquetCompression } from '../data/parquet-copy.js';
import { runOn, sqlIdent, sqlString, type DuckDB } from '../duckdb/instance.js';
import { ROW_LINEAGE_FIELDS } from '../iceberg/row-lineage.js';

/** Options of {@link copyToDataFile}. */
export interface CopyDataFileOptions {
  duckdb: DuckDB;
  io: FileIO;
  /** The schema of the rows (the table's current schema): the file's columns and field ids. */
  schema: Schema;
  /** A SELECT yielding the rows, with a column named like each top-level field of `schema`. */
  selectSql: string;
  /** Where the data file goes (its manifest `file_path`). */
  location: string;
  /** The partition tuple recorded for the file. */
  partition: IcebergValue[];
  /** The spec the partition tuple belongs to. */
  specId: number;
  compression: ParquetCompression;
  /** Truncation of string and binary bounds; default 16. */
  boundsTruncateLength?: number;
  /**
   * Format v3: `selectSql` also yields `_row_id` and `_last_updated_sequence_number`
   * (`scanToSql({ rowLineage: true })`), written after the schema's columns with their reserved
   * field ids (spec §Row Lineage: a row moved to another file keeps both). They are not in
   * `schema`, nor in the footer's `iceberg.schema`.
   */
  rowLineage?: boolean;
  /** Footer keys written before `iceberg.schema` (position delete files: `delete-type`). */
  kvMetadata?: Readonly<Record<string, string>>;
  /**
   * Cancels the write: a running COPY is interrupted (DuckDB stops at its next vector), the
   * partial file is removed and a FloeError with code `ABORTED` thrown.
   */
  signal?: AbortSignal;
}

/** A leaf column of the written file, in the file's column order. */
interface Leaf {
  fieldId: number;
  type: PrimitiveType;
  /** SQL reaching the leaf from a row (through structs only); undefined under a list or map. */
  access: string | undefined;
}

function isUnknown(t: IcebergType): boolean {
  return typeof t === 'string' && t.toLowerCase() === 'unknown';
}

function collectLeaves(t: IcebergType, fieldId: number, access: string | undefined, out: Leaf[]): void {
  if (typeof t === 'string') {
    out.push({ fieldId, type: t, access });
    return;
  }
  switch (t.type) {
    case 'struct':
      for (const f of t.fields) {
        collectLeaves(f.type, f.id, access === undefined ? undefined : `struct_extract(${access}, ${sqlString(f.name)})`, out);
      }
      return;
    case 'list':
      collectLeaves(t.element, t['element-id'], undefined, out);
      return;
    case 'map':
      collectLeaves(t.key, t['key-id'], undefined, out);
      collectLeaves(t.value, t['value-id'], undefined, out);
      return;
  }
}

/** The min/max of a leaf, rendered by SQL as a plain value that maps to an IcebergValue. */
function boundExprs(kind: string, x: string): { lo: string; hi: string } | undefined {
  const both = (render: (agg: string) => string) => ({ lo: render(`min(${x})`), hi: render(`max(${x})`) });
  switch (kind) {
    case 'boolean':
    case 'int':
    case 'long':
    case 'string':
      return both((a) => a);
    case 'decimal':
      return both((a) => `CAST(${a} AS VARCHAR)`);
    case 'date':
      return both((a) => `date_diff('day', DATE '1970-01-01', ${a})`);
    case 'time':
    case 'timestamp':
    case 'timestamptz':
      return both((a) => `epoch_us(${a})`);
    case 'timestamp_ns':
      return both((a) => `epoch_ns(${a})`);
    case 'uuid':
      // Canonical lower-case text orders like the 16 bytes (unsigned).
      return { lo: `min(CAST(${x} AS VARCHAR))`, hi: `max(CAST(${x} AS VARCHAR))` };
    case 'fixed':
    case 'binary':
      return both((a) => `hex(${a})`);
    default:
      return undefined;
  }
}

/** `'-12.30'` with scale 2 → -1230n. */
function decimalUnscaled(text: string, scale: number): bigint {
  const neg = text.startsWith('-');
  const [int = '0', frac = ''] = (neg ? text.slice(1) : text).split('.');
  const digits = `${int}${frac.padEnd(scale, '0').slice(0, scale)}`;
  const v = BigInt(digits === '' ? '0' : digits);
  return neg ? -v : v;
}

function toIceberg(kind: string, type: PrimitiveType, v: unknown): IcebergValue {
  if (v === null || v === undefined) return null;
  switch (kind) {
    case 'boolean':
      return Boolean(v);
    case 'int':
    case 'date':
      return Number(v);
    case 'long':
    case 'time':
    case 'timestamp':
    case 'timestamptz':
    case 'timestamp_ns':
      return typeof v === 'bigint' ? v : BigInt(v as number);
    case 'float':
      return Math.fround(Number(v));
    case 'double':
      return Number(v);
    case 'decimal':
      return decimalUnscaled(String(v), decimalParams(type)?.scale ?? 0);
    case 'string':
      return String(v);
    case 'uuid':
      return String(v).toLowerCase();
    case 'fixed':
    case 'binary':
      return new Uint8Array(Buffer.from(String(v), 'hex'));
    default:
      return null;
  }
}

/** Null/NaN counts and bounds of the non-repeated leaves, from one aggregate query. */
async function leafMetrics(
  duckdb: DuckDB,
  path: string,
  leaves: Leaf[],
  truncate: number,
): Promise<Pick<ParquetFileMetrics, 'nullValueCounts' | 'nanValueCounts' | 'lowerBounds' | 'upperBounds'>> {
  const out = {
    nullValueCounts: new Map<number, number>(),
    nanValueCounts: new Map<number, number>(),
    lowerBounds: new Map<number, Uint8Array>(),
    upperBounds: new Map<number, Uint8Array>(),
  };
  const cols: string[] = [];
  const plan: { leaf: Leaf; kind: string; i: number; floating: boolean; bounds: boolean }[] = [];
  leaves.forEach((leaf, i) => {
    if (leaf.access === undefined) return;
    const kind = primitiveKind(leaf.type) ?? 'unknown';
    const x = leaf.access;
    cols.push(`count(*) FILTER (WHERE ${x} IS NULL) AS "n${i}"`);
    const floating = kind === 'float' || kind === 'double';
    let bounds = false;
    if (floating) {
      cols.push(
        `count(*) FILTER (WHERE isnan(${x})) AS "nan${i}"`,
        `CAST(min(${x}) FILTER (WHERE NOT isnan(${x})) AS DOUBLE) AS "lo${i}"`,
        `CAST(max(${x}) FILTER (WHERE NOT isnan(${x})) AS DOUBLE) AS "hi${i}"`,
        `coalesce(bool_or(${x} = 0 AND signbit(${x})), false) AS "nz${i}"`,
        `coalesce(bool_or(${x} = 0 AND NOT signbit(${x})), false) AS "pz${i}"`,
      );
      bounds = true;
    } else {
      const b = boundExprs(kind, x);
      if (b) {
        cols.push(`${b.lo} AS "lo${i}"`, `${b.hi} AS "hi${i}"`);
        bounds = true;
      }
    }
    plan.push({ leaf, kind, i, floating, bounds });
  });
  if (cols.length === 0) return out;
  const [row] = await duckdb.all(`SELECT ${cols.join(', ')} FROM read_parquet(${sqlString(path)}, hive_partitioning = false)`);
  if (!row) return out;
  for (const { leaf, kind, i, floating, bounds } of plan) {
    out.nullValueCounts.set(leaf.fieldId, Number(row[`n${i}`] ?? 0));
    if (floating) out.nanValueCounts.set(leaf.fieldId, Number(row[`nan${i}`] ?? 0));
    if (!bounds) continue;
    const stats = new LeafStats(leaf.fieldId, leaf.type, true);
    for (const key of [`lo${i}`, `hi${i}`]) {
      const v = toIceberg(kind, leaf.type, row[key]);
      if (v !== null) stats.add(v);
    }
    if (floating && stats.min !== null) {
      if (row[`nz${i}`] === true) stats.add(-0);
      if (row[`pz${i}`] === true) stats.add(0);
    }
    const lower = stats.lowerBound(truncate);
    const upper = stats.upperBound(truncate);
    if (lower) out.lowerBounds.set(leaf.fieldId, lower);
    if (upper) out.upperBounds.set(leaf.fieldId, upper);
  }
  return out;
}

/**
 * Runs `selectSql` and writes its rows as one Parquet data file at `location`, returning the
 * manifest-ready data file, or undefined when the query yields no rows (nothing is left behind).
 * @throws FloeError (`duckdb: …`) when DuckDB cannot run the query or write the file; the partly
 *   written file is removed
 */
export async function copyToDataFile(opts: CopyDataFileOptions): Promise<DataFile | undefined> {
  const { duckdb, io, schema, location } = opts;
  const selects: string[] = [];
  const fieldIds: string[] = [];
  const leaves: Leaf[] = [];
  for (const field of schema.fields) {
    if (isUnknown(field.type)) continue;
    const type = writtenType(field.type, field.name);
    selects.push(`CAST(${sqlIdent(field.name)} AS ${duckdbType(type, field.name, { forWrite: true })}) AS ${sqlIdent(field.name)}`);
    fieldIds.push(`${sqlString(field.name)}: ${fieldIdsLiteral(type, field.id)}`);
    collectLeaves(type, field.id, sqlIdent(field.name), leaves);
  }
  if (selects.length === 0) throw new FloeError('COMPACT_WRITE', `compact: ${location}: the schema has no column that can be written`);
  if (opts.rowLineage === true) {
    for (const field of ROW_LINEAGE_FIELDS) {
      selects.push(`CAST(${sqlIdent(field.name)} AS BIGINT) AS ${sqlIdent(field.name)}`);
      fieldIds.push(`${sqlString(field.name)}: ${field.id}`);
      // Metrics too: bounds of _row_id let a reader find a row id's file.
      collectLeaves(field.type, field.id, sqlIdent(field.name), leaves);
    }
  }

  // Where the FileIO really keeps `location`: a remapping one (`--path-map`, a copied fixture)
  // stores it elsewhere, and DuckDB must write there, not at the recorded path.
  const target = io instanceof RemapFileIO ? io.map(location) : location;
  const local = isLocalLocation(target);
  const tmp = local ? undefined : await mkdtemp(join(tmpdir(), 'floe-compact-'));
  const path = tmp ? join(tmp, `${randomUUID()}.parquet`) : fileUriToPath(target);
  try {
    await ensureLocalDirectoryAsync(dirname(path), `compact: ${location}`);
    const copy =
      `COPY (SELECT ${selects.join(', ')} FROM (${opts.selectSql}) AS floe_rows) TO ${sqlString(path)} ` +
      `(FORMAT parquet, COMPRESSION ${opts.compression}, FIELD_IDS {${fieldIds.join(', ')}}, ${icebergSchemaKv(schema, opts.kvMetadata)})`;
    const signal = opts.signal;
    const aborted = (cause?: unknown) =>
      new FloeError('ABORTED', `compact: ${location}: aborted while writing; nothing was committed`, cause === undefined ? undefined : { cause });
    if (signal?.aborted) throw aborted();
    const footer = await duckdb.withConnection(async (conn) => {
      // A pipeline stopping must not wait for a long rewrite to finish: interrupt it.
      const interrupt = () => conn.interrupt();
      signal?.addEventListener('abort', interrupt, { once: true });
      try {
        await runOn(conn, copy);
      } catch (e) {
        await rm(path, { force: true }).catch(() => undefined);
        throw signal?.aborted ? aborted(e) : e;
      } finally {
        signal?.removeEventListener('abort', interrupt);
      }
      // Aborted just as the COPY ended (the interrupt found nothing running): same outcome.
      if (signal?.aborted) throw aborted();
      return readFooterInfo(conn, path, leaves.map((l) => l.fieldId));
    });
    if (footer.recordCount === 0) {
      await rm(path, { force: true });
      return undefined;
    }
    const truncate = opts.boundsTruncateLength ?? DEFAULT_TRUNCATE_LENGTH;
    const counted = await leafMetrics(duckdb, path, leaves, truncate);
    const { size } = await stat(path);
    if (tmp) await io.write(location, await readFile(path));
    const metrics: ParquetFileMetrics = { columnSizes: footer.columnSizes, valueCounts: footer.valueCounts, ...counted };
    return toDataFile(
      { path, fileSizeInBytes: size, recordCount: footer.recordCount, metrics, splitOffsets: footer.splitOffsets },
      opts.partition,
      opts.specId,
      location,
    ).file;
  } catch (e) {
    if (local) await rm(path, { force: true }).catch(() => undefined);
    throw e;
  } finally {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}
