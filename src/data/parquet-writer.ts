/**
 * Writes Iceberg data files (Parquet) through DuckDB.
 *
 * Route: every value is checked and counted (metrics) while the columns are laid out in DuckDB's
 * vector formats (`column-scan.ts`); then `COPY (SELECT * FROM floe_scan(id)) TO … (FORMAT
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
import { rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ensureLocalDirectoryAsync } from '../catalog/local-directory.js';
import {
  DuckDBBlobValue,
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
import { allValid, SCAN_CHUNK_ROWS, withColumnScan, type PreparedColumn } from './column-scan.js';
import { EncodedColumn, encodedColumnOf, encodedKindOf } from './encoded-column.js';
import { duckdbType } from './duckdb-types.js';
import { compareStrings } from '../iceberg/conversions.js';
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
  /** Rows per row group; default {@link DEFAULT_ROW_GROUP_ROWS}. */
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

/**
 * Rows per row group unless told otherwise. DuckDB buffers a whole row group while it writes: at
 * its default of 122,880 rows, writing a 370k-row batch of the reference schema grew RSS by about
 * 90 MB; at 65,536 by about 50 MB, and the write was 15% faster. Streaming files are small and get
 * compacted, so row groups of this size cost readers little.
 */
export const DEFAULT_ROW_GROUP_ROWS = 65_536;

/** Values checked between two turns of the event loop (a few tens of ms of work). */
const YIELD_EVERY_VALUES = 131_072;

const COMPRESSIONS: ReadonlySet<string> = new Set(['zstd', 'snappy', 'uncompressed']);

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
const TIME_MESSAGE = 'expected microseconds since midnight as a bigint in [0, 86400000000) (time)';
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function int64(path: string, type: string, v: IcebergValue): bigint {
  if (typeof v !== 'bigint') badValue(path, type, v, `expected a bigint (${type})`);
  if (v < INT64_MIN || v > INT64_MAX) badValue(path, type, v, `${type} value out of the 64-bit range`);
  return v;
}

/**
 * Checks a non-null value against a primitive type, records it in the leaf's metrics and returns
 * it in its plain form (what the typed columns of `column-scan.ts` hold): boolean, number
 * (int, date, float, double), bigint (long, decimal unscaled, time, timestamps), string (string,
 * uuid lowercased), Uint8Array (fixed, binary).
 */
function primitiveCheck(type: PrimitiveType, path: string, leaf: LeafStats): (v: IcebergValue) => IcebergValue {
  const kind = primitiveKind(type);
  switch (kind) {
    case 'boolean':
      return (v) => {
        if (typeof v !== 'boolean') badValue(path, type, v);
        leaf.add(v);
        return v;
      };
    case 'int':
      return (v) => {
        if (typeof v !== 'number' || (v | 0) !== v) badValue(path, type, v, 'expected a 32-bit integer (int)');
        leaf.add(v);
        return v;
      };
    case 'date':
      return (v) => {
        if (typeof v !== 'number' || (v | 0) !== v) badValue(path, type, v, 'expected days since 1970-01-01 as a 32-bit integer (date)');
        leaf.add(v);
        return v;
      };
    case 'long':
    case 'timestamp':
    case 'timestamptz':
    case 'timestamp_ns':
      return (v) => {
        const x = int64(path, type, v);
        leaf.add(x);
        return x;
      };
    case 'float':
      return (v) => {
        if (typeof v !== 'number') badValue(path, type, v);
        if (v !== v) leaf.addNaN();
        // Bounds are taken from the value as stored: a 32-bit float.
        else leaf.add(Math.fround(v));
        return v;
      };
    case 'double':
      return (v) => {
        if (typeof v !== 'number') badValue(path, type, v);
        if (v !== v) leaf.addNaN();
        else leaf.add(v);
        return v;
      };
    case 'decimal': {
      const { precision } = decimalParams(type)!;
      const limit = 10n ** BigInt(precision);
      return (v) => {
        if (typeof v !== 'bigint') badValue(path, type, v, `expected the unscaled value as a bigint (${type})`);
        if (v >= limit || v <= -limit) badValue(path, type, v, `unscaled value has more than ${precision} digits (${type})`);
        leaf.add(v);
        return v;
      };
    }
    case 'time':
      return (v) => {
        if (typeof v !== 'bigint' || v < 0n || v >= MICROS_PER_DAY) badValue(path, type, v, TIME_MESSAGE);
        leaf.add(v);
        return v;
      };
    case 'string':
      return (v) => {
        if (typeof v !== 'string') badValue(path, type, v);
        leaf.add(v);
        return v;
      };
    case 'uuid':
      return (v) => {
        if (typeof v !== 'string' || !UUID_RE.test(v)) badValue(path, type, v, 'expected a uuid string (8-4-4-4-12 hex)');
        const lower = v.toLowerCase();
        leaf.add(lower);
        return lower;
      };
    case 'fixed': {
      const length = fixedLength(type)!;
      return (v) => {
        if (!(v instanceof Uint8Array)) badValue(path, type, v, `expected a Uint8Array (${type})`);
        if (v.length !== length) badValue(path, type, v, `expected exactly ${length} bytes (${type})`);
        leaf.add(v);
        return v;
      };
    }
    case 'binary':
      return (v) => {
        if (!(v instanceof Uint8Array)) badValue(path, type, v, 'expected a Uint8Array (binary)');
        leaf.add(v);
        return v;
      };
    default:
      throw new UnsupportedError(`parquet-writer: ${path}: type ${type} cannot be written`);
  }
}

/** The DuckDB value of a checked plain value (see {@link primitiveCheck}). */
function duckdbValueOf(type: PrimitiveType): (v: IcebergValue) => DuckDBValue {
  switch (primitiveKind(type)) {
    case 'date':
      return (v) => new DuckDBDateValue(v as number);
    case 'decimal': {
      const { precision, scale } = decimalParams(type)!;
      return (v) => new DuckDBDecimalValue(v as bigint, precision, scale);
    }
    case 'time':
      return (v) => new DuckDBTimeValue(v as bigint);
    case 'timestamp':
      return (v) => new DuckDBTimestampValue(v as bigint);
    case 'timestamptz':
      return (v) => new DuckDBTimestampTZValue(v as bigint);
    case 'timestamp_ns':
      return (v) => new DuckDBTimestampNanosecondsValue(v as bigint);
    case 'uuid':
      return (v) => DuckDBUUIDValue.fromUint128(BigInt('0x' + (v as string).replace(/-/g, '')));
    case 'fixed':
    case 'binary':
      return (v) => new DuckDBBlobValue(v as Uint8Array);
    default:
      // boolean, int, long, float, double, string: DuckDB takes the JS value itself.
      return (v) => v as DuckDBValue;
  }
}

function primitiveEncoder(type: PrimitiveType, path: string, leaf: LeafStats): Encoder {
  const check = primitiveCheck(type, path, leaf);
  const wrap = duckdbValueOf(type);
  return {
    addNull: () => leaf.addNull(),
    encode: (v) => wrap(check(v)),
  };
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
export function writtenType(t: IcebergType, path: string): IcebergType {
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
export function fieldIdsLiteral(t: IcebergType, id: number): string {
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
  values: ArrayLike<IcebergValue> | undefined;
  /** Every column: encodes values for the node-api vector writers (nested types, decimals, uuids). */
  encoder: Encoder;
  /** Primitive columns: the check and the leaf of {@link primitiveCheck}. */
  check: ((v: IcebergValue) => IcebergValue) | undefined;
  leaf: LeafStats | undefined;
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

/** Where preparation is, for error messages, and when the event loop last had a turn. */
interface Progress {
  row: number;
  sinceYield: number;
}

/**
 * Preparing is synchronous work, so the event loop gets a turn every {@link YIELD_EVERY_VALUES}
 * values: a large batch must not stall the source's fetches and lease renewals.
 */
async function tick(p: Progress, values: number): Promise<void> {
  p.sinceYield += values;
  if (p.sinceYield >= YIELD_EVERY_VALUES) {
    p.sinceYield = 0;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** A null of a top-level column: refused in a required field, else counted. */
function countNull(col: WrittenColumn): void {
  if (col.field.required) nullInRequired(col.field.name);
  col.encoder.addNull();
}

function markNull(col: WrittenColumn, validity: Uint8Array, row: number): void {
  countNull(col);
  validity[row >>> 3]! &= ~(1 << (row & 7));
}

/** Fixed-width columns: how each kind is laid out in DuckDB's vectors (the encoded layout, minus strings and binary). */
function fixedLayoutOf(type: IcebergType): 'boolean' | 'int32' | 'int64' | 'time' | 'float' | 'double' | undefined {
  const kind = encodedKindOf(type);
  return kind === 'string' || kind === 'binary' ? undefined : kind;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const MICROS_PER_DAY_NUMBER = 86_400_000_000;

/**
 * A fixed-width column: the checks of {@link primitiveCheck} (same messages), the values stored
 * in a typed array, and the range tracked in locals (numbers where they are exact) and handed to
 * the leaf once, instead of a closure call and bigint comparisons per value.
 */
async function prepareFixed(
  col: WrittenColumn,
  layout: NonNullable<ReturnType<typeof fixedLayoutOf>>,
  rowCount: number,
  p: Progress,
): Promise<PreparedColumn> {
  const { values, field } = col;
  const type = field.type as PrimitiveType;
  const path = field.name;
  const leaf = col.leaf!;
  const validity = allValid(rowCount);
  let nulls = false;
  let count = 0;
  let nans = 0;
  // Number range (exact: ints, floats, bigints within ±2^53), bigint range beyond.
  let mn = Infinity;
  let mx = -Infinity;
  let bigMin: bigint | null = null;
  let bigMax: bigint | null = null;
  let sawFalse = false;
  let sawTrue = false;
  const bool = layout === 'boolean' ? new Uint8Array(rowCount) : undefined;
  const i32 = layout === 'int32' ? new Int32Array(rowCount) : undefined;
  const i64 = layout === 'int64' || layout === 'time' ? new BigInt64Array(rowCount) : undefined;
  const f32 = layout === 'float' ? new Float32Array(rowCount) : undefined;
  const f64 = layout === 'double' ? new Float64Array(rowCount) : undefined;
  const intMessage = primitiveKind(type) === 'date' ? 'expected days since 1970-01-01 as a 32-bit integer (date)' : 'expected a 32-bit integer (int)';
  for (let seg = 0; seg < rowCount; seg += SCAN_CHUNK_ROWS) {
    const end = Math.min(rowCount, seg + SCAN_CHUNK_ROWS);
    for (let r = seg; r < end; r++) {
      const v = values === undefined ? null : (values[r] ?? null);
      if (v === null) {
        p.row = r;
        markNull(col, validity, r);
        nulls = true;
        continue;
      }
      count++;
      if (i64) {
        if (typeof v !== 'bigint') {
          p.row = r;
          badValue(path, type, v, layout === 'time' ? TIME_MESSAGE : `expected a bigint (${type})`);
        }
        const x = Number(v);
        if (layout === 'time' && !(x >= 0 && x < MICROS_PER_DAY_NUMBER)) {
          p.row = r;
          badValue(path, type, v, TIME_MESSAGE);
        }
        if (x >= -MAX_SAFE && x <= MAX_SAFE) {
          if (x < mn) mn = x;
          if (x > mx) mx = x;
        } else {
          if (v < INT64_MIN || v > INT64_MAX) {
            p.row = r;
            badValue(path, type, v, `${type} value out of the 64-bit range`);
          }
          if (bigMin === null || v < bigMin) bigMin = v;
          if (bigMax === null || v > bigMax) bigMax = v;
        }
        i64[r] = v;
      } else if (i32) {
        if (typeof v !== 'number' || (v | 0) !== v) {
          p.row = r;
          badValue(path, type, v, intMessage);
        }
        i32[r] = v;
        if (v < mn) mn = v;
        if (v > mx) mx = v;
      } else if (f32 || f64) {
        if (typeof v !== 'number') {
          p.row = r;
          badValue(path, type, v);
        }
        if (f32) f32[r] = v;
        else f64![r] = v;
        if (v !== v) {
          nans++;
          continue;
        }
        // Bounds are taken from the value as stored; -0.0 sorts before 0.0 (Java's compare).
        const x = f32 ? Math.fround(v) : v;
        if (x < mn || (x === 0 && mn === 0 && Object.is(x, -0))) mn = x;
        if (x > mx || (x === 0 && mx === 0 && Object.is(mx, -0))) mx = x;
      } else {
        if (typeof v !== 'boolean') {
          p.row = r;
          badValue(path, type, v);
        }
        if (v) {
          bool![r] = 1;
          sawTrue = true;
        } else {
          sawFalse = true;
        }
      }
    }
    await tick(p, end - seg);
  }
  const ranged = count - nans;
  let min: IcebergValue = null;
  let max: IcebergValue = null;
  if (bool) {
    min = sawFalse ? false : sawTrue ? true : null;
    max = sawTrue ? true : sawFalse ? false : null;
  } else if (i64) {
    const nMin = ranged > 0 && mn !== Infinity ? BigInt(mn) : null;
    const nMax = ranged > 0 && mx !== -Infinity ? BigInt(mx) : null;
    min = nMin === null ? bigMin : bigMin === null || nMin < bigMin ? nMin : bigMin;
    max = nMax === null ? bigMax : bigMax === null || nMax > bigMax ? nMax : bigMax;
  } else if (ranged > 0) {
    min = mn;
    max = mx;
  }
  leaf.addMany(count, 0, nans, min, max);
  const typed = bool ?? i32 ?? i64 ?? f32 ?? f64!;
  return {
    layout: 'fixed',
    data: new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength),
    width: typed.BYTES_PER_ELEMENT,
    validity: nulls ? validity : undefined,
  };
}

/**
 * Strings or binary values: checked here (the writer's messages, nulls, required), laid out by an
 * {@link EncodedColumn} (which also keeps the string range, in fewer comparisons than the leaf).
 */
async function prepareBytes(col: WrittenColumn, text: boolean, rowCount: number, p: Progress): Promise<PreparedColumn> {
  const { values, field } = col;
  const type = field.type as PrimitiveType;
  const check = col.check!;
  const leaf = col.leaf!;
  const encoded = new EncodedColumn(type, field.name, rowCount);
  for (let seg = 0; seg < rowCount; seg += SCAN_CHUNK_ROWS) {
    const end = Math.min(rowCount, seg + SCAN_CHUNK_ROWS);
    for (let r = seg; r < end; r++) {
      const v = values === undefined ? null : (values[r] ?? null);
      if (v === null) {
        p.row = r;
        countNull(col);
      } else if (text) {
        if (typeof v !== 'string') {
          p.row = r;
          badValue(field.name, type, v);
        }
      } else {
        p.row = r;
        check(v); // binary and fixed: checked and counted value by value
      }
      encoded.append(v);
    }
    await tick(p, end - seg);
  }
  if (text) {
    const { min, max } = encoded.range();
    leaf.addMany(rowCount - encoded.nulls, 0, 0, min, max);
  }
  return encoded.prepared();
}

/** Any type, as DuckDB values for the node-api vector writers. */
async function prepareValues(col: WrittenColumn, rowCount: number, p: Progress): Promise<PreparedColumn> {
  const { values, encoder, field } = col;
  const out = new Array<DuckDBValue>(rowCount);
  for (let seg = 0; seg < rowCount; seg += SCAN_CHUNK_ROWS) {
    const end = Math.min(rowCount, seg + SCAN_CHUNK_ROWS);
    for (let r = seg; r < end; r++) {
      p.row = r;
      const v = values === undefined ? null : (values[r] ?? null);
      if (v === null) {
        if (field.required) nullInRequired(field.name);
        encoder.addNull();
        out[r] = null;
      } else {
        out[r] = encoder.encode(v);
      }
    }
    await tick(p, end - seg);
  }
  return { layout: 'values', values: out };
}

/**
 * Checks every value, counts the metrics and lays the columns out for {@link withColumnScan}.
 * Errors name the row.
 */
async function prepareColumns(
  columns: readonly WrittenColumn[],
  rowCount: number,
  deferred: Map<number, { leaf: LeafStats; column: EncodedColumn }>,
): Promise<PreparedColumn[]> {
  const p: Progress = { row: 0, sinceYield: 0 };
  const prepared: PreparedColumn[] = [];
  let column: WrittenColumn | undefined;
  try {
    for (column of columns) {
      const type = column.field.type;
      const encoded = encodedColumnOf(column.values);
      if (encoded && column.leaf && encoded.type === type && encoded.length === rowCount) {
        // Checked and counted on append: take the column as it is.
        if (column.field.required && encoded.nulls > 0) {
          p.row = encoded.firstNull();
          nullInRequired(column.field.name);
        }
        if (encoded.boundsDeferred) {
          // Bounds from the file's statistics once written (see readFooterInfo).
          column.leaf.addMany(rowCount, encoded.nulls, encoded.nans, null, null);
          deferred.set(column.leaf.fieldId, { leaf: column.leaf, column: encoded });
        } else {
          const { min, max } = encoded.range();
          column.leaf.addMany(rowCount, encoded.nulls, encoded.nans, min, max);
        }
        prepared.push(encoded.prepared());
        continue;
      }
      const kind = typeof type === 'string' && column.check ? primitiveKind(type) : undefined;
      const layout = kind ? fixedLayoutOf(type) : undefined;
      if (layout) prepared.push(await prepareFixed(column, layout, rowCount, p));
      else if (kind === 'string') prepared.push(await prepareBytes(column, true, rowCount, p));
      else if (kind === 'binary' || kind === 'fixed') prepared.push(await prepareBytes(column, false, rowCount, p));
      else prepared.push(await prepareValues(column, rowCount, p));
    }
  } catch (e) {
    const row = p.row;
    if (e instanceof ValidationError) throw new ValidationError(`${e.message} (row ${row})`, { cause: e });
    if (e instanceof UnsupportedError) throw new UnsupportedError(`${e.message} (row ${row})`, { cause: e });
    const msg = e instanceof Error ? e.message : String(e);
    throw new FloeError(
      'PARQUET_WRITE',
      `parquet-writer: cannot append ${column ? `column ${column.field.name}` : 'batch'} at row ${row}: ${msg}`,
      { cause: e },
    );
  }
  return prepared;
}

/** DuckDB's types for the DDL type strings, as a prepared statement reports them (cached). */
const typeCache = new Map<string, DuckDBType[]>();

async function duckdbTypesOf(conn: DuckDBConnection, ddlTypes: readonly string[]): Promise<DuckDBType[]> {
  const key = ddlTypes.join('\u0000');
  const cached = typeCache.get(key);
  if (cached) return cached;
  const sql = `SELECT ${ddlTypes.map((t, i) => `CAST(NULL AS ${t}) AS c${i}`).join(', ')}`;
  let stmt;
  try {
    stmt = await conn.prepare(sql);
  } catch (e) {
    throw new FloeError('DUCKDB_QUERY', `duckdb: ${e instanceof Error ? e.message : String(e)} (in: ${sql.slice(0, 200)})`, { cause: e });
  }
  try {
    const types = ddlTypes.map((_, i) => stmt.columnType(i));
    if (typeCache.size > 256) typeCache.clear();
    typeCache.set(key, types);
    return types;
  } finally {
    stmt.destroySync();
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

  const leaves: LeafStats[] = [];
  const columns: WrittenColumn[] = [];
  const ddlTypes: string[] = [];
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
    ddlTypes.push(duckdbType(type, field.name, { forWrite: true }));
    const first = leaves.length;
    const encoder = encoderFor(field.type, field.id, field.name, false, leaves);
    const primitive = typeof field.type === 'string';
    columns.push({
      field,
      encoder,
      values: rows.columns.get(field.id),
      check: primitive ? primitiveCheck(field.type as PrimitiveType, field.name, leaves[first]!) : undefined,
      leaf: primitive ? leaves[first] : undefined,
    });
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
  options.push(`ROW_GROUP_SIZE ${opts.rowGroupSize ?? DEFAULT_ROW_GROUP_ROWS}`);

  const deferred = new Map<number, { leaf: LeafStats; column: EncodedColumn }>();
  const prepared = await prepareColumns(columns, rows.length, deferred);
  await ensureLocalDirectoryAsync(dirname(path), `parquet: ${path}`);
  const db = opts.db ?? (await sharedDuckDB());
  const footer = await db.withConnection(async (conn: DuckDBConnection) => {
    const types = await duckdbTypesOf(conn, ddlTypes);
    const scan = { names: columns.map((c) => c.field.name), types, columns: prepared, rowCount: rows.length };
    try {
      await withColumnScan(db, scan, (id) => runOn(conn, `COPY (SELECT * FROM floe_scan(${id})) TO ${sqlString(path)} (${options.join(', ')})`));
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
