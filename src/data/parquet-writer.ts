/**
 * Writes Iceberg data files (Parquet) through DuckDB.
 *
 * Route: the batch's values go into a temporary DuckDB table through the appender, one
 * 2048-row data chunk at a time, column by column; then `COPY … TO … (FORMAT parquet, FIELD_IDS
 * {…})` writes the file. Measured against an NDJSON temp file read back with `read_json` (the
 * other route that handles every type), chunks were about twice as fast with less memory, and
 * they carry bigint timestamps and decimals exactly (no text round trip).
 *
 * What the file looks like to Iceberg readers:
 * - every column carries its Iceberg field id at every nesting level (struct fields, list
 *   elements, map keys and values);
 * - types as listed in `duckdb-types.ts`: timestamps INT64 microseconds with isAdjustedToUTC true
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
 */
import { mkdir, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  DuckDBBlobValue,
  DuckDBDataChunk,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBListValue,
  DuckDBMapValue,
  DuckDBStructValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTimeValue,
  DuckDBUUIDValue,
  type DuckDBAppender,
  type DuckDBConnection,
  type DuckDBMapEntry,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import { FloeError, UnsupportedError, ValidationError } from '../errors.js';
import { FileContent, type DataFile } from '../iceberg/manifest-types.js';
import { decimalParams, fixedLength, primitiveKind } from '../iceberg/schema.js';
import type { IcebergType, IcebergValue, NestedField, PrimitiveType, Schema } from '../iceberg/types.js';
import { type DuckDB, runOn, sharedDuckDB, sqlIdent, sqlString } from '../query/duckdb.js';
import { checkBatchShape, type ColumnBatch } from './column-batch.js';
import { duckdbType } from './duckdb-types.js';
import { buildMetrics, LeafStats, readFooterInfo, type ParquetFileMetrics } from './parquet-metrics.js';

/** Parquet compression codecs the writer offers. */
export type ParquetCompression = 'zstd' | 'snappy' | 'uncompressed';

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
  /** Rows per row group; DuckDB's default (122,880) when absent. */
  rowGroupSize?: number;
  /** Truncation length of string and binary bounds; default 16 (Iceberg's `truncate(16)`). */
  boundsTruncateLength?: number;
  /** The DuckDB instance to write with; the process-wide one when absent. */
  db?: DuckDB;
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

/** A data file ready for a manifest, with the id of the partition spec it was written for. */
export interface NewDataFile {
  file: DataFile;
  specId: number;
}

/** Number of rows per appended data chunk: DuckDB's vector size. */
const CHUNK_ROWS = 2048;

/** Chunks appended between two turns of the event loop (about 30k rows, a few tens of ms). */
const YIELD_EVERY_CHUNKS = 16;

const COMPRESSIONS: ReadonlySet<string> = new Set(['zstd', 'snappy', 'uncompressed']);

let tableCounter = 0;

// ---------------------------------------------------------------------------------------------
// Encoders: check an Iceberg value against its type, record it in the leaf metrics, and convert
// it to the DuckDB value the appender's vectors take.
// ---------------------------------------------------------------------------------------------

interface Encoder {
  /** Converts a non-null value. */
  encode(v: IcebergValue): DuckDBValue;
  /** Records a null (or absent) slot in every leaf beneath. */
  addNull(): void;
}

function describe(v: IcebergValue): string {
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  if (v instanceof Map) return `a Map of ${v.size}`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  const s = typeof v === 'bigint' ? `${v}n` : JSON.stringify(v);
  return `${typeof v} ${s !== undefined && s.length > 60 ? s.slice(0, 57) + '...' : s}`;
}

function badValue(path: string, type: string, v: IcebergValue, why?: string): never {
  throw new ValidationError(
    `parquet-writer: ${path}: ${why ?? `expected a ${type} value`}, got ${describe(v)}`,
  );
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const MICROS_PER_DAY = 86_400_000_000n;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function int64(path: string, type: string, v: IcebergValue): bigint {
  if (typeof v !== 'bigint') badValue(path, type, v, `expected a bigint (${type})`);
  if (v < INT64_MIN || v > INT64_MAX) badValue(path, type, v, `${type} value out of the 64-bit range`);
  return v;
}

function primitiveEncoder(type: PrimitiveType, path: string, leaf: LeafStats): Encoder {
  const kind = primitiveKind(type);
  const addNull = () => leaf.addNull();
  switch (kind) {
    case 'boolean':
      return {
        addNull,
        encode(v) {
          if (typeof v !== 'boolean') badValue(path, type, v);
          leaf.add(v);
          return v;
        },
      };
    case 'int':
      return {
        addNull,
        encode(v) {
          if (typeof v !== 'number' || (v | 0) !== v) badValue(path, type, v, 'expected a 32-bit integer (int)');
          leaf.add(v);
          return v;
        },
      };
    case 'date':
      return {
        addNull,
        encode(v) {
          if (typeof v !== 'number' || (v | 0) !== v) badValue(path, type, v, 'expected days since 1970-01-01 as a 32-bit integer (date)');
          leaf.add(v);
          return new DuckDBDateValue(v);
        },
      };
    case 'long':
      return {
        addNull,
        encode(v) {
          const x = int64(path, type, v);
          leaf.add(x);
          return x;
        },
      };
    case 'float':
      return {
        addNull,
        encode(v) {
          if (typeof v !== 'number') badValue(path, type, v);
          if (v !== v) leaf.addNaN();
          // Bounds are taken from the value as stored: a 32-bit float.
          else leaf.add(Math.fround(v));
          return v;
        },
      };
    case 'double':
      return {
        addNull,
        encode(v) {
          if (typeof v !== 'number') badValue(path, type, v);
          if (v !== v) leaf.addNaN();
          else leaf.add(v);
          return v;
        },
      };
    case 'decimal': {
      const { precision, scale } = decimalParams(type)!;
      const limit = 10n ** BigInt(precision);
      return {
        addNull,
        encode(v) {
          if (typeof v !== 'bigint') badValue(path, type, v, `expected the unscaled value as a bigint (${type})`);
          if (v >= limit || v <= -limit) badValue(path, type, v, `unscaled value has more than ${precision} digits (${type})`);
          leaf.add(v);
          return new DuckDBDecimalValue(v, precision, scale);
        },
      };
    }
    case 'time':
      return {
        addNull,
        encode(v) {
          if (typeof v !== 'bigint' || v < 0n || v >= MICROS_PER_DAY) {
            badValue(path, type, v, 'expected microseconds since midnight as a bigint in [0, 86400000000) (time)');
          }
          leaf.add(v);
          return new DuckDBTimeValue(v);
        },
      };
    case 'timestamp':
      return {
        addNull,
        encode(v) {
          const x = int64(path, type, v);
          leaf.add(x);
          return new DuckDBTimestampValue(x);
        },
      };
    case 'timestamptz':
      return {
        addNull,
        encode(v) {
          const x = int64(path, type, v);
          leaf.add(x);
          return new DuckDBTimestampTZValue(x);
        },
      };
    case 'timestamp_ns':
      return {
        addNull,
        encode(v) {
          const x = int64(path, type, v);
          leaf.add(x);
          return new DuckDBTimestampNanosecondsValue(x);
        },
      };
    case 'string':
      return {
        addNull,
        encode(v) {
          if (typeof v !== 'string') badValue(path, type, v);
          leaf.add(v);
          return v;
        },
      };
    case 'uuid':
      return {
        addNull,
        encode(v) {
          if (typeof v !== 'string' || !UUID_RE.test(v)) badValue(path, type, v, 'expected a uuid string (8-4-4-4-12 hex)');
          const lower = v.toLowerCase();
          leaf.add(lower);
          return DuckDBUUIDValue.fromUint128(BigInt('0x' + lower.replace(/-/g, '')));
        },
      };
    case 'fixed': {
      const length = fixedLength(type)!;
      return {
        addNull,
        encode(v) {
          if (!(v instanceof Uint8Array)) badValue(path, type, v, `expected a Uint8Array (${type})`);
          if (v.length !== length) badValue(path, type, v, `expected exactly ${length} bytes (${type})`);
          leaf.add(v);
          return new DuckDBBlobValue(v);
        },
      };
    }
    case 'binary':
      return {
        addNull,
        encode(v) {
          if (!(v instanceof Uint8Array)) badValue(path, type, v, 'expected a Uint8Array (binary)');
          leaf.add(v);
          return new DuckDBBlobValue(v);
        },
      };
    default:
      throw new UnsupportedError(`parquet-writer: ${path}: type ${type} cannot be written`);
  }
}

function nullInRequired(path: string): never {
  throw new ValidationError(`parquet-writer: ${path}: null in a required field`);
}

/**
 * Builds the encoder of a value of `type` and registers its leaves, in Parquet column order
 * (depth first), in `leaves`.
 */
function encoderFor(type: IcebergType, fieldId: number, path: string, repeated: boolean, leaves: LeafStats[]): Encoder {
  if (typeof type === 'string') {
    const leaf = new LeafStats(fieldId, type, !repeated);
    leaves.push(leaf);
    return primitiveEncoder(type, path, leaf);
  }
  switch (type.type) {
    case 'struct': {
      const n = type.fields.length;
      // Values hold every field in order; `unknown` fields are not written (and hold nulls).
      const positions: number[] = [];
      type.fields.forEach((f, i) => {
        if (!isUnknown(f.type)) positions.push(i);
      });
      const fields = positions.map((i) => type.fields[i]!);
      const names = fields.map((f) => f.name);
      const required = fields.map((f) => f.required);
      const children = fields.map((f) => encoderFor(f.type, f.id, `${path}.${f.name}`, repeated, leaves));
      return {
        addNull() {
          for (const c of children) c.addNull();
        },
        encode(v) {
          if (!Array.isArray(v) || v.length !== n) {
            badValue(path, 'struct', v, `expected a struct as an array of its ${n} field values`);
          }
          // A null-prototype object: a field named "__proto__" stays an ordinary entry.
          const entries: Record<string, DuckDBValue> = Object.create(null) as Record<string, DuckDBValue>;
          for (let i = 0; i < children.length; i++) {
            const x = v[positions[i]!] as IcebergValue | undefined;
            if (x === null || x === undefined) {
              if (required[i]) nullInRequired(`${path}.${names[i]}`);
              children[i]!.addNull();
              entries[names[i]!] = null;
            } else {
              entries[names[i]!] = children[i]!.encode(x);
            }
          }
          return new DuckDBStructValue(entries);
        },
      };
    }
    case 'list': {
      const element = encoderFor(type.element, type['element-id'], `${path}.element`, true, leaves);
      const elementRequired = type['element-required'];
      return {
        addNull() {
          element.addNull();
        },
        encode(v) {
          if (!Array.isArray(v)) badValue(path, 'list', v, 'expected a list as an array');
          // An empty list still takes one (null) slot in each leaf column.
          if (v.length === 0) element.addNull();
          const items: DuckDBValue[] = new Array<DuckDBValue>(v.length);
          for (let i = 0; i < v.length; i++) {
            const x = v[i] as IcebergValue | undefined;
            if (x === null || x === undefined) {
              if (elementRequired) nullInRequired(`${path}.element`);
              element.addNull();
              items[i] = null;
            } else {
              items[i] = element.encode(x);
            }
          }
          return new DuckDBListValue(items);
        },
      };
    }
    case 'map': {
      const key = encoderFor(type.key, type['key-id'], `${path}.key`, true, leaves);
      const value = encoderFor(type.value, type['value-id'], `${path}.value`, true, leaves);
      const valueRequired = type['value-required'];
      return {
        addNull() {
          key.addNull();
          value.addNull();
        },
        encode(v) {
          if (!(v instanceof Map)) badValue(path, 'map', v, 'expected a map as a Map');
          if (v.size === 0) {
            key.addNull();
            value.addNull();
          }
          const entries: DuckDBMapEntry[] = [];
          for (const [k, x] of v) {
            if (k === null || k === undefined) nullInRequired(`${path}.key`);
            const ek = key.encode(k);
            let ev: DuckDBValue = null;
            if (x === null || x === undefined) {
              if (valueRequired) nullInRequired(`${path}.value`);
              value.addNull();
            } else {
              ev = value.encode(x);
            }
            entries.push({ key: ek, value: ev });
          }
          return new DuckDBMapValue(entries);
        },
      };
    }
    default:
      throw new ValidationError(`parquet-writer: ${path}: not an Iceberg type`);
  }
}

// ---------------------------------------------------------------------------------------------
// Schema preparation
// ---------------------------------------------------------------------------------------------

function isUnknown(t: IcebergType): boolean {
  return typeof t === 'string' && t.toLowerCase() === 'unknown';
}

/**
 * The type as written: `unknown` fields dropped from structs (the spec keeps them out of data
 * files; readers produce nulls). An `unknown` list element or map value cannot be dropped.
 */
function writtenType(t: IcebergType, path: string): IcebergType {
  if (typeof t === 'string') return t;
  switch (t.type) {
    case 'struct': {
      const fields = t.fields.filter((f) => !isUnknown(f.type)).map((f) => ({ ...f, type: writtenType(f.type, `${path}.${f.name}`) }));
      if (fields.length === 0) {
        throw new UnsupportedError(`parquet-writer: ${path}: a struct without written fields cannot be written`);
      }
      return { ...t, fields };
    }
    case 'list':
      if (isUnknown(t.element)) throw new UnsupportedError(`parquet-writer: ${path}: list of unknown cannot be written`);
      return { ...t, element: writtenType(t.element, `${path}.element`) };
    case 'map':
      if (isUnknown(t.value) || isUnknown(t.key)) {
        throw new UnsupportedError(`parquet-writer: ${path}: map with unknown keys or values cannot be written`);
      }
      return { ...t, key: writtenType(t.key, `${path}.key`), value: writtenType(t.value, `${path}.value`) };
  }
}

/** The FIELD_IDS value of COPY for a column of type `t` with field id `id`. */
function fieldIdsLiteral(t: IcebergType, id: number): string {
  if (typeof t === 'string') return String(id);
  switch (t.type) {
    case 'struct':
      return `{__duckdb_field_id: ${id}, ${t.fields.map((f) => `${sqlString(f.name)}: ${fieldIdsLiteral(f.type, f.id)}`).join(', ')}}`;
    case 'list':
      return `{__duckdb_field_id: ${id}, element: ${fieldIdsLiteral(t.element, t['element-id'])}}`;
    case 'map':
      return `{__duckdb_field_id: ${id}, key: ${fieldIdsLiteral(t.key, t['key-id'])}, value: ${fieldIdsLiteral(t.value, t['value-id'])}}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

interface WrittenColumn {
  field: NestedField;
  encoder: Encoder;
  values: ArrayLike<IcebergValue> | undefined;
}

function checkOptions(opts: WriteParquetOptions): void {
  if (opts.compression !== undefined && !COMPRESSIONS.has(opts.compression)) {
    throw new ValidationError(`parquet-writer: unsupported compression ${JSON.stringify(opts.compression)} (zstd, snappy or uncompressed)`);
  }
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
 * Appends the batch to the appender's table chunk by chunk. Appending is synchronous, so the
 * event loop gets a turn every {@link YIELD_EVERY_CHUNKS} chunks: a large batch must not stall
 * the source's fetches and lease renewals.
 */
async function appendBatch(appender: DuckDBAppender, columns: readonly WrittenColumn[], rowCount: number): Promise<void> {
  const types: DuckDBType[] = columns.map((_, i) => appender.columnType(i));
  let row = 0;
  let chunks = 0;
  let column: WrittenColumn | undefined;
  try {
    for (let offset = 0; offset < rowCount; offset += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, rowCount - offset);
      const chunk = DuckDBDataChunk.create(types, n);
      for (let c = 0; c < columns.length; c++) {
        column = columns[c]!;
        const { encoder, values, field } = column;
        const vector = chunk.getColumnVector(c);
        for (let i = 0; i < n; i++) {
          row = offset + i;
          const v = values === undefined ? null : (values[row] ?? null);
          if (v === null) {
            if (field.required) nullInRequired(field.name);
            encoder.addNull();
            vector.setItem(i, null);
          } else {
            vector.setItem(i, encoder.encode(v));
          }
        }
        vector.flush();
      }
      appender.appendDataChunk(chunk);
      if (++chunks % YIELD_EVERY_CHUNKS === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } catch (e) {
    if (e instanceof ValidationError) throw new ValidationError(`${e.message} (row ${row})`, { cause: e });
    if (e instanceof UnsupportedError) throw new UnsupportedError(`${e.message} (row ${row})`, { cause: e });
    const msg = e instanceof Error ? e.message : String(e);
    throw new FloeError(
      'PARQUET_WRITE',
      `parquet-writer: cannot append ${column ? `column ${column.field.name}` : 'batch'} at row ${row}: ${msg}`,
      { cause: e },
    );
  }
  appender.flushSync();
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

  const leaves: LeafStats[] = [];
  const columns: WrittenColumn[] = [];
  const ddl: string[] = [];
  const fieldIds: string[] = [];
  const seen = new Map<string, string>();
  for (const field of schema.fields) {
    if (isUnknown(field.type)) continue;
    const folded = field.name.toLowerCase();
    const other = seen.get(folded);
    if (other !== undefined) {
      throw new UnsupportedError(
        `parquet-writer: columns ${JSON.stringify(other)} and ${JSON.stringify(field.name)} differ only in case, which DuckDB cannot hold`,
      );
    }
    seen.set(folded, field.name);
    const type = writtenType(field.type, field.name);
    columns.push({
      field,
      encoder: encoderFor(field.type, field.id, field.name, false, leaves),
      values: rows.columns.get(field.id),
    });
    ddl.push(`${sqlIdent(field.name)} ${duckdbType(type, field.name, { forWrite: true })}`);
    fieldIds.push(`${sqlString(field.name)}: ${fieldIdsLiteral(type, field.id)}`);
  }
  if (columns.length === 0) {
    throw new UnsupportedError(`parquet-writer: ${path}: the schema has no column that can be written`);
  }

  const options = [
    'FORMAT parquet',
    `COMPRESSION ${opts.compression ?? 'zstd'}`,
    `FIELD_IDS {${fieldIds.join(', ')}}`,
  ];
  if (opts.rowGroupSize !== undefined) options.push(`ROW_GROUP_SIZE ${opts.rowGroupSize}`);

  await mkdir(dirname(path), { recursive: true });
  const db = opts.db ?? (await sharedDuckDB());
  const table = `floe_write_${process.pid}_${++tableCounter}`;
  const footer = await db.withConnection(async (conn: DuckDBConnection) => {
    await runOn(conn, `CREATE TEMPORARY TABLE ${sqlIdent(table)} (${ddl.join(', ')})`);
    try {
      const appender = await conn.createAppender(table, 'main', 'temp');
      try {
        await appendBatch(appender, columns, rows.length);
      } finally {
        appender.closeSync();
      }
      try {
        await runOn(conn, `COPY temp.main.${sqlIdent(table)} TO ${sqlString(path)} (${options.join(', ')})`);
      } catch (e) {
        // A half-written file must not be mistaken for a data file.
        await rm(path, { force: true }).catch(() => undefined);
        throw e;
      }
    } finally {
      await runOn(conn, `DROP TABLE IF EXISTS temp.main.${sqlIdent(table)}`).catch(() => undefined);
    }
    return readFooterInfo(conn, path, leaves.map((l) => l.fieldId));
  });

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

/**
 * The manifest `data_file` of a written file: content DATA, format PARQUET, the metrics, and
 * the given partition tuple (in the spec's field order).
 * @param filePath the location recorded in the manifest (e.g. the object-store URI the local
 *   file was uploaded to); the written path when absent
 */
export function toDataFile(
  result: ParquetWriteResult,
  partition: IcebergValue[],
  specId: number,
  filePath: string = result.path,
): NewDataFile {
  const m = result.metrics;
  const file: DataFile = {
    content: FileContent.DATA,
    file_path: filePath,
    file_format: 'PARQUET',
    partition,
    record_count: result.recordCount,
    file_size_in_bytes: result.fileSizeInBytes,
    column_sizes: m.columnSizes,
    value_counts: m.valueCounts,
    null_value_counts: m.nullValueCounts,
    nan_value_counts: m.nanValueCounts,
    lower_bounds: m.lowerBounds,
    upper_bounds: m.upperBounds,
    split_offsets: result.splitOffsets,
  };
  return { file, specId };
}
