/**
 * Writes Iceberg data files (Parquet) through DuckDB.
 *
 * Route: every value is checked and counted (metrics) while the columns are laid out in DuckDB's
 * vector formats (`duckdb/column-scan.ts`); then `COPY (SELECT * FROM floe_scan(id)) TO … (FORMAT
 * parquet, FIELD_IDS {…})` writes the file, DuckDB pulling one 2048-row chunk at a time from
 * those columns. Bigint timestamps and decimals travel exactly (no text round trip). This
 * replaced an appender into a temporary table (the rows were materialized twice inside DuckDB,
 * with a JavaScript value object and a native call per value): about 3× less CPU per row, and
 * no second copy of the batch in memory (see BENCHMARKS.md). An NDJSON or CSV temp file read
 * back by DuckDB was slower than either.
 *
 * What the file looks like to Iceberg readers:
 * - every column carries its Iceberg field id at every nesting level (struct fields, list
 *   elements, map keys and values);
 * - types as listed in `duckdb/types.ts`: timestamps INT64 microseconds with isAdjustedToUTC true
 *   exactly for timestamptz, time as TIME(MICROS), uuid as FIXED_LEN_BYTE_ARRAY(16) annotated
 *   UUID, decimals annotated DECIMAL(P,S);
 * - `fixed[L]` is written as BYTE_ARRAY: DuckDB has no type that writes FIXED_LEN_BYTE_ARRAY
 *   for arbitrary bytes. The writer checks every value has exactly L bytes, and Iceberg readers
 *   resolve the column by field id and read the bytes;
 * - every column is OPTIONAL in the Parquet schema (DuckDB's COPY writes no REQUIRED columns);
 *   the writer refuses nulls in required fields, so the data honours the Iceberg schema;
 * - `unknown`-typed fields are left out, as the spec requires.
 *
 * Metrics: see `parquet-metrics.ts`.
 *
 * This file is the write itself (options, COPY, footer checks, result); the rest is by concept:
 * `parquet-columns.ts` (the batch's columns checked, counted and laid out), `parquet-encoders.ts`
 * (value checks and DuckDB values), `parquet-copy.ts` (written types, FIELD_IDS, COPY options),
 * `data-file.ts` (the manifest entry of a written file).
 */
import { rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { ensureLocalDirectoryAsync } from '../catalog/local-directory.js';
import { withColumnScan } from '../duckdb/column-scan.js';
import { type DuckDB, runOn, sharedDuckDB, sqlString } from '../duckdb/instance.js';
import { duckdbTypesOf } from '../duckdb/types.js';
import { FloeError, UnsupportedError, ValidationError } from '../errors.js';
import type { Schema } from '../iceberg/types.js';
import { checkBatchShape, type ColumnBatch } from './column-batch.js';
import type { EncodedColumn } from './encoded-column.js';
import { planColumns, prepareColumns } from './parquet-columns.js';
import { checkCompression, parquetCopyOptions, type ParquetCompression } from './parquet-copy.js';
import { buildMetrics, type LeafStats, readFooterInfo, type ParquetFileMetrics } from './parquet-metrics.js';

/** Options of {@link writeParquetFile}. */
export interface WriteParquetOptions {
  /** The table schema the rows follow. */
  schema: Schema;
  /** The rows, by top-level field id. Leave them unchanged until the returned promise settles. */
  rows: ColumnBatch;
  /** Local file to write (replaced if it exists; parent directories are created). */
  path: string;
  /** Default `zstd`. */
  compression?: ParquetCompression;
  /** Rows per row group; default {@link DEFAULT_ROW_GROUP_ROWS}. */
  rowGroupSize?: number;
  /** Truncation length of string and binary bounds; default 16 (Iceberg's `truncate(16)`). */
  boundsTruncateLength?: number;
  /** The DuckDB instance to write with; the process-wide one when absent. */
  db?: DuckDB;
  /** Footer key-value metadata besides `iceberg.schema` (equality delete files: `delete-type`, `delete-field-ids`). */
  kvMetadata?: Readonly<Record<string, string>>;
}

/** A written data file, with everything its manifest entry needs except the partition. */
export interface ParquetWriteResult {
  path: string;
  fileSizeInBytes: number;
  recordCount: number;
  metrics: ParquetFileMetrics;
  /** Start offsets of the row groups, ascending. */
  splitOffsets: number[];
}

/**
 * Rows per row group unless told otherwise. DuckDB buffers a whole row group while it writes: at
 * its default of 122,880 rows, writing a 370k-row batch of the reference schema grew RSS by about
 * 90 MB; at 65,536 by about 50 MB, and the write was 15% faster. Streaming files are small and get
 * compacted, so row groups of this size cost readers little.
 */
export const DEFAULT_ROW_GROUP_ROWS = 65_536;

function checkOptions(opts: WriteParquetOptions): void {
  checkCompression(opts.compression);
  if (opts.rowGroupSize !== undefined && (!Number.isInteger(opts.rowGroupSize) || opts.rowGroupSize < 1)) {
    throw new ValidationError(`parquet-writer: rowGroupSize must be a positive integer, got ${opts.rowGroupSize}`);
  }
  if (opts.boundsTruncateLength !== undefined && (!Number.isInteger(opts.boundsTruncateLength) || opts.boundsTruncateLength < 1)) {
    throw new ValidationError(`parquet-writer: boundsTruncateLength must be a positive integer, got ${opts.boundsTruncateLength}`);
  }
  if (typeof opts.path !== 'string' || opts.path === '') {
    throw new ValidationError('parquet-writer: path must be a non-empty string');
  }
}

/**
 * Writes `rows` as a Parquet data file for an Iceberg table with `schema`, and returns the
 * file's size, record count, column metrics and split offsets.
 *
 * @throws ValidationError when a value does not match its field's type or a required field is
 *   null (the message names the field and row)
 * @throws UnsupportedError for types that cannot be written (timestamptz_ns, variant, geometry…)
 * @throws FloeError (`duckdb: …` / `parquet-writer: …`) when DuckDB fails to write the file
 */
export async function writeParquetFile(opts: WriteParquetOptions): Promise<ParquetWriteResult> {
  checkOptions(opts);
  const { schema, rows, path } = opts;
  checkBatchShape(schema, rows, path);

  const { leaves, columns, ddlTypes, fieldIds } = planColumns(schema, rows);
  if (columns.length === 0) {
    throw new UnsupportedError(`parquet-writer: ${path}: the schema has no column that can be written`);
  }

  const options = parquetCopyOptions(opts.compression ?? 'zstd', fieldIds, opts.rowGroupSize ?? DEFAULT_ROW_GROUP_ROWS, schema, opts.kvMetadata);

  const deferred = new Map<number, { leaf: LeafStats; column: EncodedColumn }>();
  const prepared = await prepareColumns(columns, rows.length, deferred);
  await ensureLocalDirectoryAsync(dirname(path), `parquet: ${path}`);
  const db = opts.db ?? (await sharedDuckDB());
  const footer = await db.withConnection(async (conn: DuckDBConnection) => {
    const types = await duckdbTypesOf(conn, ddlTypes);
    const scan = { names: columns.map((c) => c.field.name), types, columns: prepared, rowCount: rows.length };
    try {
      await withColumnScan(db, scan, (id) => runOn(conn, `COPY (SELECT * FROM floe_scan(${id})) TO ${sqlString(path)} (${options})`));
    } catch (e) {
      // A half-written file must not be mistaken for a data file.
      await rm(path, { force: true }).catch(() => undefined);
      if (e instanceof FloeError) throw e;
      const msg = e instanceof Error ? e.message : String(e);
      throw new FloeError('PARQUET_WRITE', `parquet-writer: ${path}: cannot hand the rows to DuckDB: ${msg}`, { cause: e });
    }
    return readFooterInfo(conn, path, leaves.map((l) => l.fieldId), new Set(deferred.keys()));
  });
  for (const [fieldId, { leaf, column }] of deferred) {
    // The footer's bounds when every chunk has them, else the column's own (one pass over it).
    const { min, max } = footer.stringBounds.get(fieldId) ?? column.range();
    leaf.addMany(0, 0, 0, min, max);
  }

  // The footer and the values must agree; a mismatch is a bug in the encoders, and would put
  // wrong counts into the table's metadata.
  if (footer.recordCount !== rows.length) {
    throw new FloeError('PARQUET_WRITE', `parquet-writer: ${path}: footer has ${footer.recordCount} rows, ${rows.length} were written`);
  }
  for (const leaf of leaves) {
    const n = footer.valueCounts.get(leaf.fieldId) ?? 0;
    if (rows.length > 0 && n !== leaf.valueCount) {
      throw new FloeError(
        'PARQUET_WRITE',
        `parquet-writer: ${path}: field id ${leaf.fieldId} has ${n} values in the footer, ${leaf.valueCount} counted`,
      );
    }
  }

  const { size } = await stat(path);
  return {
    path,
    fileSizeInBytes: size,
    recordCount: rows.length,
    metrics: buildMetrics(leaves, footer.columnSizes, opts.boundsTruncateLength),
    splitOffsets: footer.splitOffsets,
  };
}
