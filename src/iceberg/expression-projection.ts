/**
 * Inclusive projection of a bound row filter onto a partition spec (spec §Scan Planning): each
 * predicate is carried through the partition fields' transforms (`transforms.ts`), so that every
 * row the filter matches lies in a partition the projection matches.
 */
import type { BoundExpression, BoundPredicate, LiteralOp, SetOp, UnaryOp } from './expressions.js';
import { isSetOp, isUnaryOp } from './expressions.js';
import type { PartitionSpec } from './metadata.js';
import { indexById } from './schema-index.js';
import {
  canTransform,
  parseTransform,
  projectInclusive,
  transformResultType,
  type ColumnPredicate,
  type PredicateOp,
  type Transform,
} from './transforms.js';
import type { IcebergValue, PrimitiveType, Schema } from './types.js';

/**
 * A predicate on a partition field, addressed by its position in the spec (the position in the
 * partition tuple and in the manifest's partition summaries).
 */
export type PartitionPredicate =
  | { op: UnaryOp; pos: number; type: PrimitiveType }
  | { op: LiteralOp; pos: number; type: PrimitiveType; value: IcebergValue }
  | { op: SetOp; pos: number; type: PrimitiveType; values: IcebergValue[] };

/** A partition filter: an and/or tree of {@link PartitionPredicate}s. */
export type PartitionExpression =
  | { op: 'true' }
  | { op: 'false' }
  | { op: 'and' | 'or'; left: PartitionExpression; right: PartitionExpression }
  | PartitionPredicate;

/**
 * Inclusive projection of a row filter onto a spec's partition fields: every row that matches the
 * filter has a partition tuple that matches the projection. A predicate no partition field can
 * express projects to `true`; with several fields on one source column, the projections are and-ed.
 */
export function projectOntoSpec(expr: BoundExpression, spec: PartitionSpec, schema: Schema): PartitionExpression {
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
  if (isUnaryOp(pop)) return { op: pop, pos, type };
  if (isSetOp(pop)) {
    if (!projected.literals) return undefined;
    return { op: pop, pos, type, values: projected.literals };
  }
  if (projected.literal === undefined) return undefined;
  return { op: pop, pos, type, value: projected.literal };
}
