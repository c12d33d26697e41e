/**
 * Iceberg column metrics of a Parquet data file (the `data_file` fields 108–111, 125, 128, 132,
 * 137), computed the way Iceberg's Java writer computes them with the default metrics mode
 * `truncate(16)`:
 *
 * - Counts are per leaf column, in Parquet's terms: every slot of the column counts once, so a
 *   null struct counts as a null for each of its leaves, and an empty or null list or map counts
 *   as one null for each leaf beneath it. For a top-level column that is one value per row.
 *   (Leaves under lists and maps keep their counts, as Iceberg Java's footer metrics and PyIceberg
 *   do; recent Java versions leave them out. No predicate can reference them either way.)
 * - `nan_value_counts` only for float and double leaves; NaN is a value (not a null) and never a
 *   bound.
 * - Bounds only for leaves outside lists and maps (Iceberg drops them for repeated fields), and
 *   only when the leaf has a non-null, non-NaN value. Floats order -0.0 before 0.0 (Java's
 *   `Float.compare`), strings by Unicode code point (UTF-8 byte order), binary, fixed and uuid
 *   as unsigned bytes.
 * - String bounds are truncated to 16 code points and binary bounds to 16 bytes; a truncated
 *   upper bound is incremented so it still bounds the column, and dropped when it cannot be.
 *
 * Counts and bounds are computed from the values while they are handed to DuckDB (exact, and
 * typed as Iceberg types rather than as Parquet statistics); sizes and split offsets come from
 * the written file's footer.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { FloeError } from '../errors.js';
import { compareBytes, compareStrings, toBinary, wellFormed } from '../iceberg/conversions.js';
import { primitiveKind, type PrimitiveKind } from '../iceberg/schema-types.js';
import type { IcebergValue, PrimitiveType } from '../iceberg/types.js';
import { allOn, sqlString } from '../duckdb/instance.js';

/** Default truncation length of string and binary bounds (`write.metadata.metrics.default`). */
export const DEFAULT_TRUNCATE_LENGTH = 16;

/** Column metrics of one data file, keyed by leaf field id. */
export interface ParquetFileMetrics {
  columnSizes: Map<number, number>;
  valueCounts: Map<number, number>;
  nullValueCounts: Map<number, number>;
  nanValueCounts: Map<number, number>;
  lowerBounds: Map<number, Uint8Array>;
  upperBounds: Map<number, Uint8Array>;
}

// ---------------------------------------------------------------------------------------------
// Truncation (Iceberg's UnicodeUtil / BinaryUtil)
// ---------------------------------------------------------------------------------------------

/** The first `length` code points of `s` (a lower bound of `s`). */
export function truncateStringLower(s: string, length: number): string {
  let units = 0;
  let points = 0;
  while (units < s.length && points < length) {
    const c = s.charCodeAt(units);
    units += c >= 0xd800 && c <= 0xdbff && units + 1 < s.length ? 2 : 1;
    points++;
  }
  return units >= s.length ? s : s.slice(0, units);
}

/**
 * The shortest upper bound of `s` with at most `length` code points: `s` itself when short
 * enough, otherwise its first `length` code points with the last one that can be incremented
 * incremented (and what follows it dropped); undefined when every code point is U+10FFFF.
 */
export function truncateStringUpper(s: string, length: number): string | undefined {
  const cps = Array.from(s);
  if (cps.length <= length) return s;
  for (let i = length - 1; i >= 0; i--) {
    const cp = cps[i]!.codePointAt(0)!;
    if (cp === 0x10ffff) continue;
    // Surrogate code points are not characters: skip over them.
    const next = cp === 0xd7ff ? 0xe000 : cp + 1;
    return cps.slice(0, i).join('') + String.fromCodePoint(next);
  }
  return undefined;
}

/** The first `length` bytes of `b` (a lower bound of `b`). */
export function truncateBinaryLower(b: Uint8Array, length: number): Uint8Array {
  return b.length <= length ? b : b.subarray(0, length);
}

/**
 * The shortest upper bound of `b` with at most `length` bytes: `b` itself when short enough,
 * otherwise its first `length` bytes with the last byte below 0xFF incremented (and what follows
 * dropped); undefined when those bytes are all 0xFF.
 */
export function truncateBinaryUpper(b: Uint8Array, length: number): Uint8Array | undefined {
  if (b.length <= length) return b;
  for (let i = length - 1; i >= 0; i--) {
    if (b[i]! !== 0xff) {
      const out = b.slice(0, i + 1);
      out[i] = b[i]! + 1;
      return out;
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Per-leaf accumulation
// ---------------------------------------------------------------------------------------------

/**
 * Counts and min/max of one leaf column, fed value by value. Values must already be checked
 * against the leaf's type (the writer's encoders do that).
 */
export class LeafStats {
  readonly fieldId: number;
  readonly type: PrimitiveType;
  readonly kind: PrimitiveKind;
  /** False under a list or map: Iceberg keeps no bounds for repeated fields. */
  readonly keepBounds: boolean;
  valueCount = 0;
  nullCount = 0;
  nanCount = 0;
  min: IcebergValue = null;
  max: IcebergValue = null;
  private readonly update: (v: IcebergValue) => void;

  constructor(fieldId: number, type: PrimitiveType, keepBounds: boolean) {
    this.fieldId = fieldId;
    this.type = type;
    this.kind = primitiveKind(type)!;
    this.keepBounds = keepBounds;
    this.update = keepBounds ? this.updaterFor(this.kind) : () => undefined;
  }

  /** Records one null slot. */
  addNull(): void {
    this.valueCount++;
    this.nullCount++;
  }

  /** Records one non-null value. */
  add(v: IcebergValue): void {
    this.valueCount++;
    this.update(v);
  }

  /** Records one NaN (float/double). */
  addNaN(): void {
    this.valueCount++;
    this.nanCount++;
  }

  /**
   * Records many slots at once (a writer that tracks a range itself): `count` slots of which
   * `nulls` are null and `nans` NaN; the other values lie between `min` and `max` (null when
   * there are none), ordered as {@link add} orders them.
   */
  addMany(count: number, nulls: number, nans: number, min: IcebergValue, max: IcebergValue): void {
    this.valueCount += count;
    this.nullCount += nulls;
    this.nanCount += nans;
    if (min !== null) this.update(min);
    if (max !== null) this.update(max);
  }

  private updaterFor(kind: PrimitiveKind): (v: IcebergValue) => void {
    switch (kind) {
      case 'float':
      case 'double':
        return (v) => {
          const x = v as number;
          const min = this.min as number | null;
          const max = this.max as number | null;
          // -0.0 sorts before 0.0, as Java's Float.compare/Double.compare order them.
          if (min === null || x < min || (x === 0 && min === 0 && Object.is(x, -0))) this.min = x;
          if (max === null || x > max || (x === 0 && max === 0 && Object.is(max, -0))) this.max = x;
        };
      case 'string':
        return (v) => {
          const s = wellFormed(v as string);
          if (this.min === null || compareStrings(s, this.min as string) < 0) this.min = s;
          if (this.max === null || compareStrings(s, this.max as string) > 0) this.max = s;
        };
      case 'fixed':
      case 'binary':
        return (v) => {
          const b = v as Uint8Array;
          if (this.min === null || compareBytes(b, this.min as Uint8Array) < 0) this.min = b;
          if (this.max === null || compareBytes(b, this.max as Uint8Array) > 0) this.max = b;
        };
      default:
        // boolean, int, long, decimal, date, time, timestamps: JS < orders them correctly
        // (false < true; numbers; bigints); uuid strings are lowercase canonical, whose
        // character order is the unsigned byte order.
        return (v) => {
          if (this.min === null || (v as number) < (this.min as number)) this.min = v;
          if (this.max === null || (v as number) > (this.max as number)) this.max = v;
        };
    }
  }

  /** Lower bound in Iceberg's binary single-value serialization, if any. */
  lowerBound(truncateLength = DEFAULT_TRUNCATE_LENGTH): Uint8Array | undefined {
    if (!this.keepBounds || this.min === null) return undefined;
    let v = this.min;
    if (this.kind === 'string') v = truncateStringLower(v as string, truncateLength);
    else if (this.kind === 'binary') v = truncateBinaryLower(v as Uint8Array, truncateLength);
    return toBinary(this.type, v);
  }

  /** Upper bound in Iceberg's binary single-value serialization, if any. */
  upperBound(truncateLength = DEFAULT_TRUNCATE_LENGTH): Uint8Array | undefined {
    if (!this.keepBounds || this.max === null) return undefined;
    let v: IcebergValue | undefined = this.max;
    if (this.kind === 'string') v = truncateStringUpper(v as string, truncateLength);
    else if (this.kind === 'binary') v = truncateBinaryUpper(v as Uint8Array, truncateLength);
    return v === undefined ? undefined : toBinary(this.type, v);
  }
}

/** Assembles the counts and bounds of `leaves` with the column sizes read from the footer. */
export function buildMetrics(
  leaves: readonly LeafStats[],
  columnSizes: Map<number, number>,
  truncateLength = DEFAULT_TRUNCATE_LENGTH,
): ParquetFileMetrics {
  const m: ParquetFileMetrics = {
    columnSizes,
    valueCounts: new Map(),
    nullValueCounts: new Map(),
    nanValueCounts: new Map(),
    lowerBounds: new Map(),
    upperBounds: new Map(),
  };
  for (const leaf of leaves) {
    m.valueCounts.set(leaf.fieldId, leaf.valueCount);
    m.nullValueCounts.set(leaf.fieldId, leaf.nullCount);
    if (leaf.kind === 'float' || leaf.kind === 'double') m.nanValueCounts.set(leaf.fieldId, leaf.nanCount);
    const lower = leaf.lowerBound(truncateLength);
    if (lower) m.lowerBounds.set(leaf.fieldId, lower);
    const upper = leaf.upperBound(truncateLength);
    if (upper) m.upperBounds.set(leaf.fieldId, upper);
  }
  return m;
}

// ---------------------------------------------------------------------------------------------
// Footer
// ---------------------------------------------------------------------------------------------

/** What the writer needs from a Parquet footer. */
export interface ParquetFooterInfo {
  /** Rows over all row groups. */
  recordCount: number;
  /** Compressed bytes of each leaf column over all row groups, by leaf field id. */
  columnSizes: Map<number, number>;
  /** Slots of each leaf column (the column chunks' `num_values`), by leaf field id. */
  valueCounts: Map<number, number>;
  /** Start of each row group (its first page), ascending: the file's split offsets. */
  splitOffsets: number[];
  /**
   * Bounds of the string leaves asked for, from the column chunks' statistics (merged over row
   * groups, code point order). Undefined for a leaf whose values are not all covered: DuckDB
   * writes no statistics for a chunk whose longest value is long and not ASCII.
   */
  stringBounds: Map<number, { min: string | null; max: string | null } | undefined>;
}

function num(v: unknown, what: string): number {
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number') return v;
  throw new FloeError('PARQUET_FOOTER', `parquet-metrics: ${what} missing in footer`);
}

/**
 * Reads row group layout and column chunk sizes with DuckDB's `parquet_metadata`.
 * @param leafFieldIds field id of each leaf column, in the file's column order
 */
export async function readFooterInfo(
  conn: DuckDBConnection,
  path: string,
  leafFieldIds: readonly number[],
  stringFieldIds: ReadonlySet<number> = new Set(),
): Promise<ParquetFooterInfo> {
  const rows = await allOn(
    conn,
    `SELECT row_group_id, row_group_num_rows, column_id, num_values, total_compressed_size,
            dictionary_page_offset, data_page_offset, stats_null_count, stats_min_value, stats_max_value
       FROM parquet_metadata(${sqlString(path)}) ORDER BY row_group_id, column_id`,
  );
  const stringBounds = new Map<number, { min: string | null; max: string | null } | undefined>();
  for (const id of stringFieldIds) stringBounds.set(id, { min: null, max: null });
  const columnSizes = new Map<number, number>();
  const valueCounts = new Map<number, number>();
  const groupRows = new Map<number, number>();
  const groupStart = new Map<number, number>();
  for (const r of rows) {
    const group = num(r.row_group_id, 'row_group_id');
    const column = num(r.column_id, 'column_id');
    const fieldId = leafFieldIds[column];
    if (fieldId === undefined) {
      throw new FloeError(
        'PARQUET_FOOTER',
        `parquet-metrics: ${path}: column ${column} in the footer, but the schema has ${leafFieldIds.length} leaf columns`,
      );
    }
    columnSizes.set(fieldId, (columnSizes.get(fieldId) ?? 0) + num(r.total_compressed_size, 'total_compressed_size'));
    valueCounts.set(fieldId, (valueCounts.get(fieldId) ?? 0) + num(r.num_values, 'num_values'));
    groupRows.set(group, num(r.row_group_num_rows, 'row_group_num_rows'));
    const bounds = stringBounds.get(fieldId);
    if (bounds !== undefined) {
      // DuckDB truncates a long value's statistics to 256 bytes (a prefix for the minimum, a
      // prefix incremented for the maximum): both keep the first 16 code points, all a bound
      // keeps. Without statistics for a chunk that has values, the caller finds the bounds itself.
      const values = num(r.num_values, 'num_values') - (r.stats_null_count === null ? 0 : num(r.stats_null_count, 'stats_null_count'));
      const min = r.stats_min_value;
      const max = r.stats_max_value;
      if (typeof min === 'string' && typeof max === 'string' && r.stats_null_count !== null) {
        if (bounds.min === null || compareStrings(min, bounds.min) < 0) bounds.min = min;
        if (bounds.max === null || compareStrings(max, bounds.max) > 0) bounds.max = max;
      } else if (values > 0 || r.stats_null_count === null) {
        stringBounds.set(fieldId, undefined);
      }
    }
    // A chunk starts at its dictionary page when it has one (as parquet-mr's getStartingPos).
    const data = num(r.data_page_offset, 'data_page_offset');
    const dict = r.dictionary_page_offset === null ? undefined : num(r.dictionary_page_offset, 'dictionary_page_offset');
    const start = dict !== undefined && dict > 0 && dict < data ? dict : data;
    const prev = groupStart.get(group);
    if (prev === undefined || start < prev) groupStart.set(group, start);
  }
  let recordCount = 0;
  for (const n of groupRows.values()) recordCount += n;
  const splitOffsets = [...groupStart.values()].sort((a, b) => a - b);
  return { recordCount, columnSizes, valueCounts, splitOffsets, stringBounds };
}
