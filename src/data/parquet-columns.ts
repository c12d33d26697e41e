/**
 * The batch's columns, checked, counted and laid out for the scan table function
 * (`duckdb/column-scan.ts`): columns encoded on arrival are taken as they are; other primitive
 * columns go into typed arrays (fixed width) or byte heaps (strings, binary); anything else
 * (decimals, uuids, nested types) becomes DuckDB values through the encoders.
 */
import type { DuckDBValue } from '@duckdb/node-api';
import { FloeError, UnsupportedError, ValidationError } from '../errors.js';
import { primitiveKind } from '../iceberg/schema-types.js';
import type { IcebergType, IcebergValue, NestedField, PrimitiveType, Schema } from '../iceberg/types.js';
import { allValid, SCAN_CHUNK_ROWS, type PreparedColumn } from '../duckdb/column-scan.js';
import { sqlString } from '../duckdb/instance.js';
import { duckdbType } from '../duckdb/types.js';
import type { BatchColumn, ColumnBatch } from './column-batch.js';
import { EncodedColumn, encodedKindOf } from './encoded-column.js';
import { fieldIdsLiteral, isUnknown, writtenType } from './parquet-copy.js';
import { badValue, encoderFor, INT64_MAX, INT64_MIN, nullInRequired, primitiveCheck, TIME_MESSAGE, type Encoder } from './parquet-encoders.js';
import { LeafStats } from './parquet-metrics.js';

/** Values checked between two turns of the event loop (a few tens of ms of work). */
const YIELD_EVERY_VALUES = 131_072;

/** A top-level column of the batch as the writer takes it. */
export interface WrittenColumn {
  field: NestedField;
  /** The batch's values (undefined: null in every row, or {@link encoded}). */
  values: ArrayLike<IcebergValue> | undefined;
  /** The batch's column when it was encoded on arrival. */
  encoded: EncodedColumn | undefined;
  /** Every column: encodes values for the node-api vector writers (nested types, decimals, uuids). */
  encoder: Encoder;
  /** Primitive columns: the check and the leaf of {@link primitiveCheck}. */
  check: ((v: IcebergValue) => IcebergValue) | undefined;
  leaf: LeafStats | undefined;
}

/** The written columns of a batch: what the scan, the COPY and the metrics need. */
export interface ColumnPlan {
  /** Metrics of every leaf, in Parquet column order (depth first). */
  leaves: LeafStats[];
  /** The written top-level columns (`unknown` ones left out), in schema order. */
  columns: WrittenColumn[];
  /** The DuckDB type (SQL) of each written column. */
  ddlTypes: string[];
  /** The `FIELD_IDS` entry of each written column. */
  fieldIds: string[];
}

/**
 * Plans the written columns of `rows` (which follow `schema`): their types, encoders, leaves and
 * field ids.
 * @throws UnsupportedError for columns DuckDB cannot hold (names equal but for case, types it
 *   cannot write)
 */
export function planColumns(schema: Schema, rows: ColumnBatch): ColumnPlan {
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
      ...valuesOf(rows.columns.get(field.id)),
      check: primitive ? primitiveCheck(field.type as PrimitiveType, field.name, leaves[first]!) : undefined,
      leaf: primitive ? leaves[first] : undefined,
    });
    fieldIds.push(`${sqlString(field.name)}: ${fieldIdsLiteral(type, field.id)}`);
  }
  return { leaves, columns, ddlTypes, fieldIds };
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
export async function prepareColumns(
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
      const encoded = column.encoded;
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
      // Encoded for another type (rare): written from its values.
      if (encoded) column.values = Array.from(encoded);
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

/** A batch column as {@link WrittenColumn} takes it. */
function valuesOf(column: BatchColumn | undefined): Pick<WrittenColumn, 'values' | 'encoded'> {
  return column instanceof EncodedColumn ? { values: undefined, encoded: column } : { values: column, encoded: undefined };
}
