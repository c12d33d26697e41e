/**
 * Binding an {@link Expression} to a schema: columns resolved (by name, honouring case
 * sensitivity, or by field id) to primitive fields outside lists and maps, literals checked and
 * coerced to each column's type, `not` pushed down onto the predicates, constant sub-expressions
 * folded. Evaluators only see the result, a {@link BoundExpression}.
 */
import { ValidationError } from '../errors.js';
import { compareValues, fromJsonValue } from './conversions.js';
import {
  alwaysFalse,
  alwaysTrue,
  describeLiteral,
  isSetOp,
  isUnaryOp,
  type BoundExpression,
  type BoundPredicate,
  type ColumnRef,
  type Expression,
  type LiteralOp,
  type Predicate,
  type SetOp,
  type UnaryOp,
} from './expressions.js';
import { columnName, findFieldByName, indexById, indexParents } from './schema-index.js';
import { decimalParams, fixedLength, primitiveKind } from './schema-types.js';
import type { IcebergValue, NestedField, PrimitiveType, Schema } from './types.js';

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
    throw new ValidationError(`expressions: ${what}: literal ${describeLiteral(v)} does not fit type ${type}`);
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
  if (isUnaryOp(pred.op)) {
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
  if (isSetOp(pred.op)) {
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

/** The expression bound to `schema`, unless it is bound already. */
export function ensureBound(expr: Expression | BoundExpression, schema: Schema, caseSensitive: boolean): BoundExpression {
  return isBound(expr) ? expr : bind(expr, schema, caseSensitive);
}
