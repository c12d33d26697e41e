/**
 * A columnar batch of rows: one array of values per top-level field, keyed by field id.
 *
 * Values use the in-memory representation documented on `IcebergValue` (`src/iceberg/types.ts`):
 * long/decimal/time/timestamp as bigint, date as days (number), uuid as its lowercase string,
 * binary/fixed as Uint8Array, struct as an array in field order, list as an array, map as a Map.
 *
 * A column is either JavaScript values (a plain array, or any ArrayLike, e.g. a typed array view
 * that a decoder filled) or an {@link EncodedColumn}: values encoded on arrival (what a builder
 * with `encode` makes of primitive columns), which the Parquet writer takes as they are. Readers
 * that need values use {@link valueAt} / {@link columnValues}, or test `instanceof EncodedColumn`.
 */
import { ValidationError } from '../errors.js';
import type { IcebergValue, NestedField, Schema } from '../iceberg/types.js';
import type { BufferPool } from './buffer-pool.js';
import { EncodedColumn, encodedKindOf } from './encoded-column.js';

/** One column of a {@link ColumnBatch}: JavaScript values, or values encoded on arrival. */
export type BatchColumn = ArrayLike<IcebergValue> | EncodedColumn;

/** Rows in columnar form. */
export interface ColumnBatch {
  /** Number of rows. Every column holds exactly this many values. */
  readonly length: number;
  /**
   * One column per top-level field id. A field without a column is null in every row (allowed
   * only for optional fields).
   */
  readonly columns: ReadonlyMap<number, BatchColumn>;
}

/** Value `row` of a batch column (null for a missing column); decodes it when encoded (slower). */
export function valueAt(column: BatchColumn | undefined, row: number): IcebergValue {
  if (column === undefined) return null;
  return column instanceof EncodedColumn ? column.get(row) : (column[row] ?? null);
}

/**
 * A batch column as values that can be indexed: the column itself, or an encoded column decoded
 * into an array in one pass (a copy: for the rare reader that needs values).
 */
export function columnValues(column: BatchColumn): ArrayLike<IcebergValue> {
  return column instanceof EncodedColumn ? Array.from(column) : column;
}

/** A {@link RawRow} column that is null. */
export const RAW_NULL = 0;
/** A {@link RawRow} column given as UTF-8 bytes `bytes[from[i], to[i])` (a string column). */
export const RAW_UTF8 = 1;
/** A {@link RawRow} column given as the safe integer `nums[i]` (a long or timestamp column). */
export const RAW_INT64 = 2;
/** A {@link RawRow} column given as the value `values[i]`. */
export const RAW_VALUE = 3;

/**
 * One row as pieces of a record's bytes, filled by the JSON fast path (`pipeline/record-scan.ts`)
 * so that strings go from the record to the column without becoming JavaScript strings. Arrays
 * are indexed by top-level field position; `tags` says which of them holds column i.
 */
export interface RawRow {
  bytes: Uint8Array;
  tags: Uint8Array;
  from: Int32Array;
  to: Int32Array;
  nums: Float64Array;
  values: IcebergValue[];
}

/** Creates an empty {@link RawRow} for `columns` top-level fields. */
export function newRawRow(columns: number): RawRow {
  // Over ArrayBuffers of their own: small typed arrays made by length live in V8's heap, where
  // the collector may move them, and the native scanner writes through pointers it keeps.
  return {
    bytes: new Uint8Array(0),
    tags: new Uint8Array(new ArrayBuffer(columns)),
    from: new Int32Array(new ArrayBuffer(columns * 4)),
    to: new Int32Array(new ArrayBuffer(columns * 4)),
    nums: new Float64Array(new ArrayBuffer(columns * 8)),
    values: new Array<IcebergValue>(columns).fill(null),
  };
}

/**
 * Rows of the JSON fast path in columns (filled by the native scanner, `native/record_scan.c`,
 * and for computed columns by `pipeline/record-scan.ts`), appended to a builder in bulk by
 * {@link ColumnBatchBuilder.appendStaged}. Column c's row r is at `c * capacity + r` in `tags`
 * (a RawRow tag: RAW_NULL, RAW_UTF8, RAW_INT64 or RAW_VALUE), `nums` (the number of RAW_INT64 and
 * RAW_VALUE rows; booleans as 0 or 1) and `lengths` (the byte length of RAW_UTF8 rows, whose
 * bytes follow each other from `c * regionBytes` in `bytes`). `state[0]` is the row count and
 * `state[1 + c]` the bytes column c uses.
 */
export interface RawStage {
  readonly capacity: number;
  readonly regionBytes: number;
  readonly tags: Uint8Array;
  readonly nums: Float64Array;
  readonly lengths: Int32Array;
  readonly bytes: Uint8Array;
  readonly state: Int32Array;
}

/** An empty {@link RawStage} (over ArrayBuffers of its own: the native scanner keeps pointers). */
export function newRawStage(columns: number, capacity: number, regionBytes: number): RawStage {
  const cells = columns * capacity;
  return {
    capacity,
    regionBytes,
    tags: new Uint8Array(new ArrayBuffer(cells)),
    nums: new Float64Array(new ArrayBuffer(cells * 8)),
    lengths: new Int32Array(new ArrayBuffer(cells * 4)),
    bytes: new Uint8Array(new ArrayBuffer(columns * regionBytes)),
    state: new Int32Array(new ArrayBuffer((1 + columns) * 4)),
  };
}

/** Empties a stage whose rows were appended. */
export function clearRawStage(stage: RawStage): void {
  stage.state.fill(0);
}

/** Column `i` of a raw row as a value (decoding its bytes: for the few columns that need it). */
export function rawValue(row: RawRow, i: number): IcebergValue {
  switch (row.tags[i]) {
    case RAW_UTF8:
      return Buffer.from(row.bytes.buffer, row.bytes.byteOffset + row.from[i]!, row.to[i]! - row.from[i]!).toString('utf8');
    case RAW_INT64:
      return BigInt(row.nums[i]!);
    case RAW_VALUE:
      return row.values[i]!;
    default:
      return null;
  }
}

/** Options of {@link ColumnBatchBuilder}. */
export interface ColumnBatchBuilderOptions {
  /**
   * Encode primitive columns as values arrive (`encoded-column.ts`) instead of keeping
   * JavaScript values: far less garbage-collection work for large batches, and the Parquet writer
   * takes the encoded columns as they are. Reading a value of such a column decodes it (slower).
   * Values are checked against their type on append; a refused value throws and leaves the batch
   * as it was before the row (see {@link ColumnBatchBuilder.append}). Default false.
   */
  encode?: boolean;
  /** Expected rows per batch when encoding (initial capacity); default 1024. */
  expectedRows?: number;
  /** Where encoded columns take their buffers from ({@link releaseBatch} gives them back). */
  pool?: BufferPool;
}

/**
 * Builds a {@link ColumnBatch} row by row, keeping one growing array per top-level field.
 *
 * ```ts
 * const b = new ColumnBatchBuilder(schema);
 * b.append(['id-1', 1700000000000000n]); // values in schema field order
 * const batch = b.build();
 * ```
 */
export class ColumnBatchBuilder {
  private readonly fieldIds: number[];
  private readonly fields: readonly NestedField[];
  private columns: (IcebergValue[] | EncodedColumn)[] | undefined;
  private rows = 0;

  constructor(
    schema: Schema,
    private readonly options: ColumnBatchBuilderOptions = {},
  ) {
    this.fields = schema.fields;
    this.fieldIds = schema.fields.map((f) => f.id);
    this.columns = this.fresh();
  }

  /** The columns being filled (made on first use after a build). */
  private live(): (IcebergValue[] | EncodedColumn)[] {
    return (this.columns ??= this.fresh());
  }

  private fresh(): (IcebergValue[] | EncodedColumn)[] {
    if (!this.options.encode) return this.fields.map(() => []);
    const capacity = this.options.expectedRows ?? 1024;
    return this.fields.map((f) =>
      typeof f.type === 'string' && encodedKindOf(f.type) ? new EncodedColumn(f.type, f.name, capacity, this.options.pool) : [],
    );
  }

  /** Rows appended since construction or the last {@link build}. */
  get length(): number {
    return this.rows;
  }

  /** Whether every column holds exactly {@link length} values (no half row: after a failure, a check). */
  get whole(): boolean {
    const cols = this.columns;
    return cols === undefined || cols.every((c) => c.length === this.rows);
  }

  /**
   * Appends one row: values of the top-level fields in schema order. All or nothing: when a
   * column refuses its value, the columns before it give theirs back and the error is thrown
   * with the batch as it was before the row.
   */
  append(row: readonly IcebergValue[]): void {
    if (row.length !== this.fieldIds.length) {
      throw new ValidationError(
        `column-batch: row ${this.rows} has ${row.length} values, the schema has ${this.fieldIds.length} top-level fields`,
      );
    }
    const cols = this.live();
    try {
      if (this.options.encode) {
        for (let i = 0; i < row.length; i++) {
          const col = cols[i]!;
          if (Array.isArray(col)) col.push(row[i]!);
          else col.append(row[i]);
        }
      } else {
        for (let i = 0; i < row.length; i++) (cols[i] as IcebergValue[]).push(row[i]!);
      }
    } catch (e) {
      this.rollBack(cols);
      throw e;
    }
    this.rows++;
  }

  /**
   * Cuts every column back to the row count, after a row failed half-way. The row count is all
   * it needs (a column holds one value per row), so appends keep no state to undo.
   */
  private rollBack(cols: (IcebergValue[] | EncodedColumn)[]): void {
    const rows = this.rows;
    for (const col of cols) {
      if (Array.isArray(col)) {
        if (col.length > rows) col.length = rows;
      } else {
        col.truncate(rows);
      }
    }
  }

  /**
   * Appends one row given as pieces (see {@link RawRow}). Strings are copied as UTF-8 and safe
   * integers stored without bigints when the builder encodes; otherwise they are decoded. All or
   * nothing, as {@link append}.
   */
  appendRaw(raw: RawRow): void {
    if (raw.tags.length !== this.fieldIds.length) {
      throw new ValidationError(`column-batch: row ${this.rows} has ${raw.tags.length} values, the schema has ${this.fieldIds.length} top-level fields`);
    }
    const cols = this.live();
    const tags = raw.tags;
    try {
      for (let i = 0; i < cols.length; i++) {
        const col = cols[i]!;
        const tag = tags[i];
        if (Array.isArray(col)) col.push(rawValue(raw, i));
        else if (tag === RAW_UTF8) col.appendUtf8(raw.bytes, raw.from[i]!, raw.to[i]!);
        else if (tag === RAW_INT64) col.appendInt64(raw.nums[i]!);
        else col.append(tag === RAW_VALUE ? raw.values[i] : null);
      }
    } catch (e) {
      this.rollBack(cols);
      throw e;
    }
    this.rows++;
  }

  /**
   * Appends the rows of a stage (see {@link RawStage}), in order, as {@link appendRaw} would one by
   * one; strings and 64-bit columns in bulk. The builder must encode. The stage is left as it is
   * (the caller clears it). All or nothing: when a column refuses its rows, every column is cut
   * back to the rows before the stage and the error is thrown (the caller can then take the
   * stage's records one by one, to keep the good ones).
   */
  appendStaged(stage: RawStage): void {
    const n = stage.state[0]!;
    if (n === 0) return;
    const cols = this.live();
    try {
      this.appendColumns(stage, cols, n);
    } catch (e) {
      this.rollBack(cols);
      throw e;
    }
    this.rows += n;
  }

  /** {@link appendStaged}'s moves, column by column (leaving columns longer on a failure). */
  private appendColumns(stage: RawStage, cols: (IcebergValue[] | EncodedColumn)[], n: number): void {
    const { tags, nums, capacity } = stage;
    for (let c = 0; c < cols.length; c++) {
      const col = cols[c]!;
      const at = c * capacity;
      if (Array.isArray(col)) {
        throw new ValidationError(`column-batch: staged rows need encoded columns (${this.fields[c]!.name} is not)`);
      }
      if (col.kind === 'string') {
        for (let k = 0; k < n; k++) {
          const tag = tags[at + k];
          if (tag !== RAW_UTF8 && tag !== RAW_NULL) throw new ValidationError(`column-batch: ${this.fields[c]!.name}: staged row ${k} is not a string`);
        }
        col.appendUtf8Run(stage.bytes, c * stage.regionBytes, stage.lengths, tags, at, n);
      } else if (col.kind === 'int64') {
        for (let k = 0; k < n; k++) {
          const tag = tags[at + k];
          if (tag !== RAW_INT64 && tag !== RAW_NULL) throw new ValidationError(`column-batch: ${this.fields[c]!.name}: staged row ${k} is not a 64-bit integer`);
        }
        col.appendInt64Run(nums, tags, at, n);
      } else {
        const boolean = col.kind === 'boolean';
        for (let k = 0; k < n; k++) {
          const tag = tags[at + k];
          if (tag === RAW_NULL) col.append(null);
          else if (tag === RAW_VALUE) col.append(boolean ? nums[at + k] !== 0 : nums[at + k]);
          else throw new ValidationError(`column-batch: ${this.fields[c]!.name}: staged row ${k} has tag ${tag}`);
        }
      }
    }
  }

  /** Appends the value of one top-level field for the row being built (column position `index`). */
  push(index: number, value: IcebergValue): void {
    const col = this.live()[index];
    if (!col) throw new ValidationError(`column-batch: no top-level field at position ${index}`);
    if (Array.isArray(col)) col.push(value);
    else col.append(value);
  }

  /**
   * Ends a row started with {@link push}: every column must have received exactly one value.
   */
  endRow(): void {
    const expected = this.rows + 1;
    const cols = this.live();
    for (let i = 0; i < cols.length; i++) {
      const len = cols[i]!.length;
      if (len !== expected) {
        throw new ValidationError(
          `column-batch: row ${this.rows}: field id ${this.fieldIds[i]} has ${len - this.rows} values, expected 1`,
        );
      }
    }
    this.rows = expected;
  }

  /** Returns the batch built so far and starts a new, empty one. */
  build(): ColumnBatch {
    const columns = new Map<number, BatchColumn>();
    for (let i = 0; i < this.fieldIds.length; i++) {
      const col = this.live()[i]!;
      // A half-pushed row would make columns of different lengths.
      if (col.length !== this.rows) {
        throw new ValidationError(`column-batch: field id ${this.fieldIds[i]} has ${col.length} values for ${this.rows} rows (unfinished row)`);
      }
      if (!Array.isArray(col)) col.seal();
      columns.set(this.fieldIds[i]!, col);
    }
    const batch: ColumnBatch = { length: this.rows, columns };
    // The next batch's columns are made when its first row comes: a builder used for one batch
    // (the pipeline's, one per commit unit and partition) would otherwise take a set of buffers
    // from the pool that nothing ever gives back.
    this.columns = undefined;
    this.rows = 0;
    return batch;
  }
}

/**
 * Gives the buffers of a batch's encoded columns back to their pool (see `buffer-pool.ts`). The
 * batch must not be read afterwards; call it once the batch's files are written.
 */
export function releaseBatch(batch: ColumnBatch): void {
  for (const column of batch.columns.values()) if (column instanceof EncodedColumn) column.release();
}

/** Builds a batch from rows given as arrays of top-level values in schema field order. */
export function batchFromRows(schema: Schema, rows: readonly (readonly IcebergValue[])[]): ColumnBatch {
  const b = new ColumnBatchBuilder(schema);
  for (const row of rows) b.append(row);
  return b.build();
}

/**
 * Checks the batch's shape against the schema: known field ids, column lengths, no missing
 * column for a required field. Values themselves are checked while they are written.
 */
export function checkBatchShape(schema: Schema, batch: ColumnBatch, what = 'batch'): void {
  if (!Number.isInteger(batch.length) || batch.length < 0) {
    throw new ValidationError(`column-batch: ${what}: invalid length ${batch.length}`);
  }
  const byId = new Map(schema.fields.map((f) => [f.id, f]));
  for (const [id, col] of batch.columns) {
    const field = byId.get(id);
    if (!field) throw new ValidationError(`column-batch: ${what}: field id ${id} is not a top-level field of the schema`);
    if (col.length !== batch.length) {
      throw new ValidationError(
        `column-batch: ${what}: column ${field.name} (id ${id}) has ${col.length} values, expected ${batch.length}`,
      );
    }
  }
  for (const f of schema.fields) {
    if (f.required && batch.length > 0 && !batch.columns.has(f.id)) {
      throw new ValidationError(`column-batch: ${what}: required field ${f.name} (id ${f.id}) has no column`);
    }
  }
}
