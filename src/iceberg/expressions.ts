/**
 * Scan predicates (`format/spec.md` §Scan Planning): the expression tree, unbound and bound, its
 * constructors and its readable form. Binding to a schema is `expression-binding.ts`, projection
 * onto partition fields `expression-projection.ts`, pruning `expression-evaluators.ts`.
 *
 * An {@link Expression} names columns by (dotted) name or field id and carries literals in the
 * {@link IcebergValue} representation. `bind` resolves it against a schema, checks and coerces
 * the literals to each column's type, and removes `not` (pushing it down onto the predicates), so
 * every evaluator only sees and/or trees of {@link BoundPredicate}s.
 *
 * Semantics are SQL's: a comparison with a null value does not match, so `x != 5` and
 * `x not in (…)` never select rows where `x` is null. With `not` pushed down this is the same as
 * two-valued logic where "unknown" is false, which is what the evaluators implement.
 */
import type { IcebergValue, PrimitiveType } from './types.js';

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

/** True for the predicates without a literal. */
export function isUnaryOp(op: string): op is UnaryOp {
  return op === 'is_null' || op === 'not_null' || op === 'is_nan' || op === 'not_nan';
}
/** True for the predicates with a set of literals. */
export function isSetOp(op: string): op is SetOp {
  return op === 'in' || op === 'not_in';
}

/** A literal in a readable form (`5n` for a bigint, byte arrays by length), for messages. */
export function describeLiteral(v: IcebergValue): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (v instanceof Uint8Array) return `<${v.length} bytes>`;
  if (v instanceof Map) return '<map>';
  return JSON.stringify(v) ?? String(v);
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
      if (isUnaryOp(expr.op)) return `${expr.op}(${col})`;
      if ('values' in expr) return `${col} ${expr.op} (${expr.values.map(describeLiteral).join(', ')})`;
      return `${col} ${expr.op} ${describeLiteral((expr as { value: IcebergValue }).value)}`;
    }
  }
}
