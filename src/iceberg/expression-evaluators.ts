/**
 * The evaluators scan planning prunes with: a manifest's partition summaries, a data file's
 * partition tuple, a data file's column metrics (spec §Scan Planning), and one value.
 *
 * Evaluators are *inclusive*: `false` means no row of the manifest/file can match
 * ({@link ROWS_CANNOT_MATCH}); `true` means some might ({@link ROWS_MIGHT_MATCH}). Filters are
 * bound first when they are not (`expression-binding.ts`).
 */
import { compareValues, fromBinary } from './conversions.js';
import { ensureBound } from './expression-binding.js';
import { projectOntoSpec, type PartitionPredicate } from './expression-projection.js';
import type { BoundExpression, BoundPredicate, Expression } from './expressions.js';
import type { DataFile, FieldSummary, ManifestFile } from './manifest-types.js';
import type { PartitionSpec } from './metadata.js';
import { primitiveKind } from './schema-types.js';
import type { IcebergValue, PrimitiveType, Schema } from './types.js';

/** Evaluator result: some rows may match. */
export const ROWS_MIGHT_MATCH = true;
/** Evaluator result: no row can match. */
export const ROWS_CANNOT_MATCH = false;

const IN_PREDICATE_LIMIT = 200;

function cmp(type: PrimitiveType, a: IcebergValue, b: IcebergValue): number {
  return compareValues(type, a, b);
}

function isNaNValue(v: IcebergValue): boolean {
  return typeof v === 'number' && Number.isNaN(v);
}

/** Decodes a bound; `fromBinary` reads the narrower encodings left by type promotion. */
function decodeBound(type: PrimitiveType, bytes: Uint8Array): IcebergValue {
  return fromBinary(type, bytes);
}

/** Truncates a string bound to at most `n` code points, for starts_with comparisons. */
function prefixOf(s: string, n: number): string {
  return Array.from(s).slice(0, n).join('');
}

/**
 * Evaluates a predicate against a [lower, upper] range of non-null, non-NaN values, plus facts
 * about nulls and NaNs. Shared by the manifest (partition summary) and metrics evaluators.
 */
interface RangeFacts {
  /** No value can be null (false when unknown). */
  noNulls: boolean;
  /** Every value is null (false when unknown). */
  allNulls: boolean;
  /** No value can be NaN (false when unknown). */
  noNaNs: boolean;
  /** Every value is NaN (false when unknown). */
  allNaNs: boolean;
  lower: IcebergValue | undefined;
  upper: IcebergValue | undefined;
}

function mightMatchRange(p: { op: string; type: PrimitiveType; value?: IcebergValue; values?: IcebergValue[] }, f: RangeFacts): boolean {
  const type = p.type;
  switch (p.op) {
    case 'is_null':
      return !f.noNulls;
    case 'not_null':
      return !f.allNulls;
    case 'is_nan':
      return !f.noNaNs && !f.allNulls;
    case 'not_nan':
      return !f.allNaNs;
    case 'not_eq':
    case 'not_in':
      return !f.allNulls;
    case 'not_starts_with':
      return !f.allNulls;
  }
  if (f.allNulls || f.allNaNs) return ROWS_CANNOT_MATCH;
  const { lower, upper } = f;
  // A NaN bound is a writer bug (bounds exclude NaN): it proves nothing.
  const lo = lower !== undefined && !isNaNValue(lower) ? lower : undefined;
  const hi = upper !== undefined && !isNaNValue(upper) ? upper : undefined;
  switch (p.op) {
    case 'lt':
      return lo === undefined || cmp(type, lo, p.value!) < 0;
    case 'lt_eq':
      return lo === undefined || cmp(type, lo, p.value!) <= 0;
    case 'gt':
      return hi === undefined || cmp(type, hi, p.value!) > 0;
    case 'gt_eq':
      return hi === undefined || cmp(type, hi, p.value!) >= 0;
    case 'eq':
      if (lo !== undefined && cmp(type, lo, p.value!) > 0) return ROWS_CANNOT_MATCH;
      if (hi !== undefined && cmp(type, hi, p.value!) < 0) return ROWS_CANNOT_MATCH;
      return ROWS_MIGHT_MATCH;
    case 'in': {
      const values = p.values!;
      if (values.length > IN_PREDICATE_LIMIT) return ROWS_MIGHT_MATCH;
      return values.some(
        (v) => (lo === undefined || cmp(type, lo, v) <= 0) && (hi === undefined || cmp(type, hi, v) >= 0),
      );
    }
    case 'starts_with': {
      const prefix = p.value as string;
      const n = Array.from(prefix).length;
      if (typeof lo === 'string' && cmp(type, prefixOf(lo, n), prefix) > 0) return ROWS_CANNOT_MATCH;
      if (typeof hi === 'string' && cmp(type, prefixOf(hi, n), prefix) < 0) return ROWS_CANNOT_MATCH;
      return ROWS_MIGHT_MATCH;
    }
    default:
      return ROWS_MIGHT_MATCH;
  }
}

function evalTree<P>(e: { op: string }, leaf: (p: P) => boolean): boolean {
  const node = e as { op: string; left?: { op: string }; right?: { op: string } };
  switch (node.op) {
    case 'true':
      return true;
    case 'false':
      return false;
    case 'and':
      return evalTree(node.left!, leaf) && evalTree(node.right!, leaf);
    case 'or':
      return evalTree(node.left!, leaf) || evalTree(node.right!, leaf);
    default:
      return leaf(e as P);
  }
}

function isFloating(type: PrimitiveType): boolean {
  const k = primitiveKind(type);
  return k === 'float' || k === 'double';
}

/**
 * Builds an evaluator that decides from a manifest's partition summaries (manifest list
 * `partitions`) whether any of its files might hold matching rows. The filter is projected
 * through the spec's transforms first.
 * @param spec the manifest's partition spec (`partition_spec_id`)
 * @param schema the schema the filter is bound against
 */
export function manifestEvaluator(
  spec: PartitionSpec,
  schema: Schema,
  filter: Expression | BoundExpression,
  caseSensitive = true,
): (manifest: ManifestFile) => boolean {
  const projected = projectOntoSpec(ensureBound(filter, schema, caseSensitive), spec, schema);
  return (manifest) => {
    const summaries = manifest.partitions;
    if (projected.op === 'true') return ROWS_MIGHT_MATCH;
    if (projected.op === 'false') return ROWS_CANNOT_MATCH;
    // Without summaries nothing can be proven.
    if (!summaries || summaries.length === 0) return ROWS_MIGHT_MATCH;
    return evalTree<PartitionPredicate>(projected, (p) => {
      const s: FieldSummary | undefined = summaries[p.pos];
      if (!s) return ROWS_MIGHT_MATCH;
      const lower = s.lower_bound ? decodeBound(p.type, s.lower_bound) : undefined;
      const upper = s.upper_bound ? decodeBound(p.type, s.upper_bound) : undefined;
      const floating = isFloating(p.type);
      const noBounds = lower === undefined && upper === undefined;
      return mightMatchRange(p, {
        noNulls: s.contains_null === false,
        // Bounds are absent when every value is null (or NaN for floats).
        allNulls: s.contains_null === true && noBounds && (!floating || s.contains_nan === false),
        noNaNs: !floating || s.contains_nan === false,
        allNaNs: floating && s.contains_nan === true && s.contains_null === false && noBounds,
        lower,
        upper,
      });
    });
  };
}

/**
 * Builds an evaluator over a data file's partition tuple (values in spec field order): `false`
 * when no row with that partition can match the filter. Exact on the projection.
 */
export function partitionEvaluator(
  spec: PartitionSpec,
  schema: Schema,
  filter: Expression | BoundExpression,
  caseSensitive = true,
): (partition: IcebergValue[]) => boolean {
  const projected = projectOntoSpec(ensureBound(filter, schema, caseSensitive), spec, schema);
  return (partition) =>
    evalTree<PartitionPredicate>(projected, (p) => {
      const v = partition[p.pos];
      if (v === undefined) return ROWS_MIGHT_MATCH;
      return evalValue(p, v);
    });
}

/** Evaluates one predicate on one value, with SQL null semantics (null never matches a comparison). */
export function evalValue(
  p: { op: string; type: PrimitiveType; value?: IcebergValue; values?: IcebergValue[] },
  v: IcebergValue,
): boolean {
  switch (p.op) {
    case 'is_null':
      return v === null;
    case 'not_null':
      return v !== null;
    case 'is_nan':
      return isNaNValue(v);
    case 'not_nan':
      return v !== null && !isNaNValue(v);
  }
  if (v === null) return false;
  const type = p.type;
  switch (p.op) {
    case 'lt':
      return !isNaNValue(v) && cmp(type, v, p.value!) < 0;
    case 'lt_eq':
      return !isNaNValue(v) && cmp(type, v, p.value!) <= 0;
    case 'gt':
      return !isNaNValue(v) && cmp(type, v, p.value!) > 0;
    case 'gt_eq':
      return !isNaNValue(v) && cmp(type, v, p.value!) >= 0;
    case 'eq':
      return !isNaNValue(v) && cmp(type, v, p.value!) === 0;
    case 'not_eq':
      return isNaNValue(v) || cmp(type, v, p.value!) !== 0;
    case 'in':
      return !isNaNValue(v) && p.values!.some((x) => cmp(type, v, x) === 0);
    case 'not_in':
      return isNaNValue(v) || !p.values!.some((x) => cmp(type, v, x) === 0);
    case 'starts_with':
      return typeof v === 'string' && v.startsWith(p.value as string);
    case 'not_starts_with':
      return typeof v === 'string' && !v.startsWith(p.value as string);
    default:
      return ROWS_MIGHT_MATCH;
  }
}

/**
 * Builds an evaluator over a data file's column metrics (value/null/NaN counts, lower/upper
 * bounds, keyed by field id): `false` when the metrics prove no row can match.
 */
export function metricsEvaluator(
  schema: Schema,
  filter: Expression | BoundExpression,
  caseSensitive = true,
): (file: DataFile) => boolean {
  const bound = ensureBound(filter, schema, caseSensitive);
  return (file) => {
    if (file.record_count <= 0) return ROWS_CANNOT_MATCH;
    return evalTree<BoundPredicate>(bound, (p) => {
      const id = p.fieldId;
      const valueCount = file.value_counts?.get(id);
      const nullCount = file.null_value_counts?.get(id);
      const nanCount = file.nan_value_counts?.get(id);
      const lowerBytes = file.lower_bounds?.get(id);
      const upperBytes = file.upper_bounds?.get(id);
      const floating = isFloating(p.type);
      const allNulls = valueCount !== undefined && nullCount !== undefined && valueCount === nullCount;
      return mightMatchRange(p, {
        noNulls: nullCount === 0,
        allNulls,
        noNaNs: !floating || nanCount === 0,
        allNaNs: floating && valueCount !== undefined && nanCount !== undefined && nanCount === valueCount,
        lower: lowerBytes ? decodeBound(p.type, lowerBytes) : undefined,
        upper: upperBytes ? decodeBound(p.type, upperBytes) : undefined,
      });
    });
  };
}
