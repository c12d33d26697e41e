/**
 * Scan predicates and the evaluators that use them to prune manifests and files
 * (`format/spec.md` §Scan Planning).
 *
 * An {@link Expression} names columns by (dotted) name or field id and carries literals in the
 * {@link IcebergValue} representation. {@link bind} resolves it against a schema, checks and coerces
 * the literals to each column's type, and removes `not` (pushing it down onto the predicates), so
 * every evaluator only sees and/or trees of {@link BoundPredicate}s.
 *
 * Semantics are SQL's: a comparison with a null value does not match, so `x != 5` and
 * `x not in (…)` never select rows where `x` is null. With `not` pushed down this is the same as
 * two-valued logic where "unknown" is false, which is what the evaluators implement.
 *
 * Evaluators are *inclusive*: `false` means no row of the manifest/file can match
 * ({@link ROWS_CANNOT_MATCH}); `true` means some might ({@link ROWS_MIGHT_MATCH}).
 */
import { ValidationError } from '../errors.js';
import type { DataFile, FieldSummary, ManifestFile } from './manifest-types.js';
import type { PartitionSpec } from './metadata.js';
import type { IcebergValue, NestedField, PrimitiveType, Schema } from './types.js';
import { compareValues, fromBinary, fromJsonValue } from './conversions.js';
import {
  columnName,
  decimalParams,
  findFieldByName,
  fixedLength,
  indexById,
  indexParents,
  primitiveKind,
} from './schema.js';
import {
  canTransform,
  parseTransform,
  projectInclusive,
  transformResultType,
  type ColumnPredicate,
  type PredicateOp,
  type Transform,
} from './transforms.js';

/** Evaluator result: some rows may match. */
export const ROWS_MIGHT_MATCH = true;
/** Evaluator result: no row can match. */
export const ROWS_CANNOT_MATCH = false;

/** A column: a dotted name (`a.b`) or a field id. */
export type ColumnRef = string | number;

/** Predicates without a literal. */
export type UnaryOp = 'is_null' | 'not_null' | 'is_nan' | 'not_nan';
/** Predicates with one literal. */
export type LiteralOp = 'lt' | 'lt_eq' | 'gt' | 'gt_eq' | 'eq' | 'not_eq' | 'starts_with' | 'not_starts_with';
/** Predicates with a set of literals. */
export type SetOp = 'in' | 'not_in';

/** An unbound predicate on a column. */
export type Predicate =
  | { op: UnaryOp; ref: ColumnRef }
  | { op: LiteralOp; ref: ColumnRef; value: IcebergValue }
  | { op: SetOp; ref: ColumnRef; values: IcebergValue[] };

/** An unbound expression tree. */
export type Expression =
  | { op: 'true' }
  | { op: 'false' }
  | { op: 'and' | 'or'; left: Expression; right: Expression }
  | { op: 'not'; child: Expression }
  | Predicate;

/** A predicate bound to a primitive field: literals are non-null and of the field's type. */
export type BoundPredicate =
  | { op: UnaryOp; fieldId: number; name: string; type: PrimitiveType }
  | { op: LiteralOp; fieldId: number; name: string; type: PrimitiveType; value: IcebergValue }
  | { op: SetOp; fieldId: number; name: string; type: PrimitiveType; values: IcebergValue[] };

/** A bound expression: no `not` (pushed down), predicates resolved to field ids. */
export type BoundExpression =
  | { op: 'true' }
  | { op: 'false' }
  | { op: 'and' | 'or'; left: BoundExpression; right: BoundExpression }
  | BoundPredicate;

// ---------------------------------------------------------------------------------------------
// Constructors

/** The expression that matches every row. */
export function alwaysTrue(): Expression {
  return { op: 'true' };
}
/** The expression that matches no row. */
export function alwaysFalse(): Expression {
  return { op: 'false' };
}
/** Conjunction of any number of expressions (`true` when empty). */
export function and(...exprs: Expression[]): Expression {
  if (exprs.length === 0) return alwaysTrue();
  return exprs.reduce((left, right) => ({ op: 'and', left, right }));
}
/** Disjunction of any number of expressions (`false` when empty). */
export function or(...exprs: Expression[]): Expression {
  if (exprs.length === 0) return alwaysFalse();
  return exprs.reduce((left, right) => ({ op: 'or', left, right }));
}
/** Negation. */
export function not(child: Expression): Expression {
  return { op: 'not', child };
}
/** `ref IS NULL` */
export function isNull(ref: ColumnRef): Expression {
  return { op: 'is_null', ref };
}
/** `ref IS NOT NULL` */
export function notNull(ref: ColumnRef): Expression {
  return { op: 'not_null', ref };
}
/** `isnan(ref)` (float/double columns). */
export function isNaN(ref: ColumnRef): Expression {
  return { op: 'is_nan', ref };
}
/** `NOT isnan(ref)` (float/double columns; null values do not match). */
export function notNaN(ref: ColumnRef): Expression {
  return { op: 'not_nan', ref };
}
/** `ref = value` */
export function equal(ref: ColumnRef, value: IcebergValue): Expression {
  return { op: 'eq', ref, value };
}
/** `ref != value` */
export function notEqual(ref: ColumnRef, value: IcebergValue): Expression {
  return { op: 'not_eq', ref, value };
}
/** `ref < value` */
export function lessThan(ref: ColumnRef, value: IcebergValue): Expression {
  return { op: 'lt', ref, value };
}
/** `ref <= value` */
export function lessThanOrEqual(ref: ColumnRef, value: IcebergValue): Expression {
  return { op: 'lt_eq', ref, value };
}
/** `ref > value` */
export function greaterThan(ref: ColumnRef, value: IcebergValue): Expression {
  return { op: 'gt', ref, value };
}
/** `ref >= value` */
export function greaterThanOrEqual(ref: ColumnRef, value: IcebergValue): Expression {
  return { op: 'gt_eq', ref, value };
}
/** `ref IN (values)` */
export function isIn(ref: ColumnRef, values: IcebergValue[]): Expression {
  return { op: 'in', ref, values };
}
/** `ref NOT IN (values)` */
export function notIn(ref: ColumnRef, values: IcebergValue[]): Expression {
  return { op: 'not_in', ref, values };
}
/** `starts_with(ref, prefix)` (string columns). */
export function startsWith(ref: ColumnRef, prefix: string): Expression {
  return { op: 'starts_with', ref, value: prefix };
}
/** `NOT starts_with(ref, prefix)` (string columns; null values do not match). */
export function notStartsWith(ref: ColumnRef, prefix: string): Expression {
  return { op: 'not_starts_with', ref, value: prefix };
}

// ---------------------------------------------------------------------------------------------
// Binding

const NEGATE: Record<UnaryOp | LiteralOp | SetOp, UnaryOp | LiteralOp | SetOp> = {
  is_null: 'not_null',
  not_null: 'is_null',
  is_nan: 'not_nan',
  not_nan: 'is_nan',
  lt: 'gt_eq',
  lt_eq: 'gt',
  gt: 'lt_eq',
  gt_eq: 'lt',
  eq: 'not_eq',
  not_eq: 'eq',
  starts_with: 'not_starts_with',
  not_starts_with: 'starts_with',
  in: 'not_in',
  not_in: 'in',
};

function isUnary(op: string): op is UnaryOp {
  return op === 'is_null' || op === 'not_null' || op === 'is_nan' || op === 'not_nan';
}
function isSet(op: string): op is SetOp {
  return op === 'in' || op === 'not_in';
}

/** Pushes `not` down to the predicates (De Morgan; each predicate has an exact negation). */
export function rewriteNot(expr: Expression): Expression {
  switch (expr.op) {
    case 'true':
    case 'false':
      return expr;
    case 'and':
    case 'or':
      return { op: expr.op, left: rewriteNot(expr.left), right: rewriteNot(expr.right) };
    case 'not':
      return rewriteNot(negate(expr.child));
    default:
      return expr;
  }
}

function negate(expr: Expression): Expression {
  switch (expr.op) {
    case 'true':
      return alwaysFalse();
    case 'false':
      return alwaysTrue();
    case 'and':
      return { op: 'or', left: negate(expr.left), right: negate(expr.right) };
    case 'or':
      return { op: 'and', left: negate(expr.left), right: negate(expr.right) };
    case 'not':
      return expr.child;
    default:
      return { ...expr, op: NEGATE[expr.op] } as Expression;
  }
}

/** A field found by name or id, with its full dotted name. */
interface ResolvedField {
  field: NestedField;
  name: string;
}

/**
 * Resolves a column reference. Fields inside lists and maps cannot be filtered on: their metrics
 * describe all elements of a row, not one value per row.
 */
function resolveField(schema: Schema, ref: ColumnRef, caseSensitive: boolean): ResolvedField {
  const byId = indexById(schema);
  const found =
    typeof ref === 'number' ? byId.get(ref) : findFieldByName(schema, ref, { caseInsensitive: !caseSensitive });
  if (!found) {
    const what = typeof ref === 'number' ? `field id ${ref}` : `column '${ref}'`;
    throw new ValidationError(`expressions: no ${what} in schema ${schema['schema-id']}`);
  }
  const name = columnName(schema, found.id) ?? found.name;
  // Refuse fields nested in a list or map (some ancestor has a list/map type).
  const parents = indexParents(schema);
  for (let cur = parents.get(found.id); cur !== undefined; cur = parents.get(cur)) {
    const parent = byId.get(cur);
    if (parent && typeof parent.type === 'object' && parent.type.type !== 'struct') {
      throw new ValidationError(`expressions: cannot filter on '${name}': it is inside a ${parent.type.type}`);
    }
  }
  return { field: found, name };
}

/** The decimal text `[-]digits[.digits]` as an unscaled bigint at `scale`. */
function parseDecimalText(text: string, scale: number, what: string): bigint {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(text.trim());
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) throw new ValidationError(`expressions: ${what}: '${text}' is not a decimal`);
  const frac = m[3] ?? '';
  if (frac.replace(/0+$/, '').length > scale) {
    throw new ValidationError(`expressions: ${what}: '${text}' has more than ${scale} fractional digits`);
  }
  const digits = (m[2] || '0') + frac.padEnd(scale, '0');
  const v = BigInt(digits);
  return m[1] === '-' ? -v : v;
}

/**
 * Checks a literal against the column type and converts convenient forms to the canonical
 * {@link IcebergValue} (numbers for longs, JSON single-value strings for dates/timestamps/decimals).
 */
function coerceLiteral(type: PrimitiveType, v: IcebergValue, what: string): IcebergValue {
  const kind = primitiveKind(type);
  const bad = (): never => {
    throw new ValidationError(`expressions: ${what}: literal ${describe(v)} does not fit type ${type}`);
  };
  if (v === null) throw new ValidationError(`expressions: ${what}: null literal; use is_null / not_null`);
  switch (kind) {
    case 'boolean':
      return typeof v === 'boolean' ? v : bad();
    case 'int':
    case 'date': {
      if (typeof v === 'string' && kind === 'date') return fromJsonValue(type, v);
      const n = typeof v === 'bigint' ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isInteger(n)) return bad();
      if (kind === 'int' && (n < -2147483648 || n > 2147483647)) return bad();
      return n;
    }
    case 'long':
    case 'time':
    case 'timestamp':
    case 'timestamptz':
    case 'timestamp_ns':
    case 'timestamptz_ns': {
      if (typeof v === 'string' && kind !== 'long') return fromJsonValue(type, v);
      if (typeof v === 'bigint') return v;
      if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
      return bad();
    }
    case 'float':
    case 'double': {
      const n = typeof v === 'bigint' ? Number(v) : v;
      if (typeof n !== 'number') return bad();
      if (Number.isNaN(n)) throw new ValidationError(`expressions: ${what}: NaN literal; use is_nan / not_nan`);
      // Float columns hold float32 values: compare against the float32 the literal rounds to.
      return kind === 'float' ? Math.fround(n) : n;
    }
    case 'decimal': {
      const { scale } = decimalParams(type) ?? bad();
      if (typeof v === 'bigint') return v;
      if (typeof v === 'number') return Number.isFinite(v) ? parseDecimalText(String(v), scale, what) : bad();
      if (typeof v === 'string') return parseDecimalText(v, scale, what);
      return bad();
    }
    case 'string':
      return typeof v === 'string' ? v : bad();
    case 'uuid':
      if (typeof v !== 'string' || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v)) return bad();
      return v.toLowerCase();
    case 'fixed': {
      if (!(v instanceof Uint8Array)) return bad();
      if (v.length !== fixedLength(type)) return bad();
      return v;
    }
    case 'binary':
      return v instanceof Uint8Array ? v : bad();
    default:
      return bad();
  }
}

function describe(v: IcebergValue): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (v instanceof Uint8Array) return `<${v.length} bytes>`;
  if (v instanceof Map) return '<map>';
  return JSON.stringify(v) ?? String(v);
}

/**
 * Binds an expression to a schema: resolves columns (by name, honouring `caseSensitive`, or by
 * field id), checks literal types, pushes `not` down and simplifies constant sub-expressions
 * (e.g. `is_null` on a required field is `false`).
 * @throws ValidationError for an unknown column, a non-primitive column or a literal of the wrong type
 */
export function bind(expr: Expression, schema: Schema, caseSensitive = true): BoundExpression {
  return bindRewritten(rewriteNot(expr), schema, caseSensitive);
}

function bindRewritten(expr: Expression, schema: Schema, caseSensitive: boolean): BoundExpression {
  switch (expr.op) {
    case 'true':
    case 'false':
      return expr;
    case 'and': {
      const l = bindRewritten(expr.left, schema, caseSensitive);
      const r = bindRewritten(expr.right, schema, caseSensitive);
      if (l.op === 'false' || r.op === 'false') return { op: 'false' };
      if (l.op === 'true') return r;
      if (r.op === 'true') return l;
      return { op: 'and', left: l, right: r };
    }
    case 'or': {
      const l = bindRewritten(expr.left, schema, caseSensitive);
      const r = bindRewritten(expr.right, schema, caseSensitive);
      if (l.op === 'true' || r.op === 'true') return { op: 'true' };
      if (l.op === 'false') return r;
      if (r.op === 'false') return l;
      return { op: 'or', left: l, right: r };
    }
    case 'not':
      // rewriteNot removed every `not`.
      throw new ValidationError('expressions: internal: not left after rewrite');
    default:
      return bindPredicate(expr, schema, caseSensitive);
  }
}

function bindPredicate(pred: Predicate, schema: Schema, caseSensitive: boolean): BoundExpression {
  const { field, name } = resolveField(schema, pred.ref, caseSensitive);
  if (typeof field.type === 'object') {
    throw new ValidationError(`expressions: cannot filter on '${name}': it is a ${field.type.type}, not a primitive`);
  }
  const type = field.type;
  const kind = primitiveKind(type);
  const what = `${pred.op} on '${name}'`;
  const fieldId = field.id;
  if (isUnary(pred.op)) {
    if (pred.op === 'is_nan' || pred.op === 'not_nan') {
      if (kind !== 'float' && kind !== 'double') throw new ValidationError(`expressions: ${what}: ${type} cannot be NaN`);
    }
    if (field.required && pred.op === 'is_null') return { op: 'false' };
    if (field.required && pred.op === 'not_null') return { op: 'true' };
    return { op: pred.op, fieldId, name, type };
  }
  if ((pred.op === 'starts_with' || pred.op === 'not_starts_with') && kind !== 'string') {
    throw new ValidationError(`expressions: ${what}: starts_with needs a string column, not ${type}`);
  }
  if (isSet(pred.op)) {
    const values = (pred as { values: IcebergValue[] }).values;
    if (!Array.isArray(values)) throw new ValidationError(`expressions: ${what}: values must be an array`);
    const lits = dedupe(type, values.map((v) => coerceLiteral(type, v, what)));
    if (lits.length === 0) return { op: pred.op === 'in' ? 'false' : 'true' };
    if (lits.length === 1) return { op: pred.op === 'in' ? 'eq' : 'not_eq', fieldId, name, type, value: lits[0]! };
    return { op: pred.op, fieldId, name, type, values: lits };
  }
  const value = coerceLiteral(type, (pred as { value: IcebergValue }).value, what);
  return { op: pred.op as LiteralOp, fieldId, name, type, value };
}

function dedupe(type: PrimitiveType, values: IcebergValue[]): IcebergValue[] {
  const sorted = [...values].sort((a, b) => compareValues(type, a, b));
  return sorted.filter((v, i) => i === 0 || compareValues(type, sorted[i - 1]!, v) !== 0);
}

/** Field ids referenced by a bound expression. */
export function referencedFieldIds(expr: BoundExpression): Set<number> {
  const out = new Set<number>();
  const walk = (e: BoundExpression): void => {
    if (e.op === 'true' || e.op === 'false') return;
    if (e.op === 'and' || e.op === 'or') {
      walk(e.left);
      walk(e.right);
      return;
    }
    out.add((e as BoundPredicate).fieldId);
  };
  walk(expr);
  return out;
}

/** True when `expr` is already bound (no `not`, predicates carry field ids). */
export function isBound(expr: Expression | BoundExpression): expr is BoundExpression {
  const walk = (e: Expression | BoundExpression): boolean => {
    if (e.op === 'true' || e.op === 'false') return true;
    if (e.op === 'and' || e.op === 'or') return walk(e.left) && walk(e.right);
    if (e.op === 'not') return false;
    return 'fieldId' in e;
  };
  return walk(expr);
}

function ensureBound(expr: Expression | BoundExpression, schema: Schema, caseSensitive: boolean): BoundExpression {
  return isBound(expr) ? expr : bind(expr, schema, caseSensitive);
}

// ---------------------------------------------------------------------------------------------
// Partition projection

/**
 * A predicate on a partition field, addressed by its position in the spec (the position in the
 * partition tuple and in the manifest's partition summaries).
 */
type PartitionPredicate =
  | { op: UnaryOp; pos: number; type: PrimitiveType }
  | { op: LiteralOp; pos: number; type: PrimitiveType; value: IcebergValue }
  | { op: SetOp; pos: number; type: PrimitiveType; values: IcebergValue[] };

type PartitionExpression =
  | { op: 'true' }
  | { op: 'false' }
  | { op: 'and' | 'or'; left: PartitionExpression; right: PartitionExpression }
  | PartitionPredicate;

/**
 * Inclusive projection of a row filter onto a spec's partition fields: every row that matches the
 * filter has a partition tuple that matches the projection. A predicate no partition field can
 * express projects to `true`; with several fields on one source column, the projections are and-ed.
 */
function projectOntoSpec(expr: BoundExpression, spec: PartitionSpec, schema: Schema): PartitionExpression {
  const byId = indexById(schema);
  const walk = (e: BoundExpression): PartitionExpression => {
    switch (e.op) {
      case 'true':
      case 'false':
        return e;
      case 'and':
      case 'or': {
        const l = walk(e.left);
        const r = walk(e.right);
        if (e.op === 'and') {
          if (l.op === 'false' || r.op === 'false') return { op: 'false' };
          if (l.op === 'true') return r;
          if (r.op === 'true') return l;
        } else {
          if (l.op === 'true' || r.op === 'true') return { op: 'true' };
          if (l.op === 'false') return r;
          if (r.op === 'false') return l;
        }
        return { op: e.op, left: l, right: r };
      }
      default: {
        let result: PartitionExpression = { op: 'true' };
        spec.fields.forEach((pf, pos) => {
          if (pf['source-id'] !== e.fieldId) return;
          const source = byId.get(pf['source-id']);
          if (!source || typeof source.type === 'object') return;
          const transform = parseTransform(pf.transform);
          // Unknown (v3) and void transforms, or a source type the transform cannot take (after an
          // incompatible promotion), say nothing about the partition: no pruning on this field.
          if (transform.kind === 'unknown' || transform.kind === 'void' || !canTransform(transform, source.type)) return;
          const type = transformResultType(transform, source.type) as PrimitiveType;
          const p = projectPredicate(e, transform, source.type, pos, type);
          if (!p) return;
          result = result.op === 'true' ? p : { op: 'and', left: result, right: p };
        });
        return result;
      }
    }
  };
  return walk(expr);
}

/** Operator names of `transforms.ts` projection, by expression operator. */
const TO_COLUMN_OP: Partial<Record<BoundPredicate['op'], PredicateOp>> = {
  eq: '=',
  not_eq: '!=',
  lt: '<',
  lt_eq: '<=',
  gt: '>',
  gt_eq: '>=',
  in: 'in',
  not_in: 'not_in',
  is_null: 'is_null',
  not_null: 'not_null',
  is_nan: 'is_nan',
  not_nan: 'not_nan',
  starts_with: 'starts_with',
};
const FROM_COLUMN_OP = new Map<PredicateOp, BoundPredicate['op']>(
  Object.entries(TO_COLUMN_OP).map(([k, v]) => [v, k as BoundPredicate['op']]),
);

/** Projects one bound predicate through a partition field's transform (inclusive), or undefined. */
function projectPredicate(
  e: BoundPredicate,
  transform: Transform,
  sourceType: PrimitiveType,
  pos: number,
  type: PrimitiveType,
): PartitionPredicate | undefined {
  if (e.op === 'not_starts_with') {
    // Only an identity partition value tells whether a value does not start with a prefix.
    return transform.kind === 'identity' ? { op: e.op, pos, type, value: e.value } : undefined;
  }
  const op = TO_COLUMN_OP[e.op];
  if (!op) return undefined;
  const pred: ColumnPredicate = { op };
  if ('value' in e) pred.literal = e.value;
  if ('values' in e) pred.literals = e.values;
  const projected = projectInclusive(transform, sourceType, pred);
  if (!projected) return undefined;
  const pop = FROM_COLUMN_OP.get(projected.op);
  if (!pop) return undefined;
  if (isUnary(pop)) return { op: pop, pos, type };
  if (isSet(pop)) {
    if (!projected.literals) return undefined;
    return { op: pop, pos, type, values: projected.literals };
  }
  if (projected.literal === undefined) return undefined;
  return { op: pop, pos, type, value: projected.literal };
}

// ---------------------------------------------------------------------------------------------
// Evaluators

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

/** Describes an expression in a readable form (for logs and error messages). */
export function describeExpression(expr: Expression | BoundExpression): string {
  switch (expr.op) {
    case 'true':
      return 'true';
    case 'false':
      return 'false';
    case 'and':
    case 'or':
      return `(${describeExpression(expr.left)} ${expr.op} ${describeExpression(expr.right)})`;
    case 'not':
      return `not(${describeExpression(expr.child)})`;
    default: {
      const col = 'fieldId' in expr ? expr.name : String(expr.ref);
      if (isUnary(expr.op)) return `${expr.op}(${col})`;
      if ('values' in expr) return `${col} ${expr.op} (${expr.values.map(describe).join(', ')})`;
      return `${col} ${expr.op} ${describe((expr as { value: IcebergValue }).value)}`;
    }
  }
}
