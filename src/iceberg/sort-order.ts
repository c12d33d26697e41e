/**
 * Sort orders (`format/spec.md` §Sorting, Appendix C): parsing, validation against a schema, the
 * unsorted order, and rebinding to a schema with fresh ids.
 */
import { ValidationError } from '../errors.js';
import type { SortField, SortOrder } from './metadata.js';
import { columnName, indexById } from './schema-index.js';
import { isPrimitive } from './schema-types.js';
import { canTransform, parseTransform, transformToString } from './transforms.js';
import type { Schema, StructType } from './types.js';

function fail(what: string | undefined, msg: string): never {
  throw new ValidationError(`sort-order: ${what ? `${what}: ` : ''}${msg}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function readInt(v: unknown, what: string | undefined, label: string): number {
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 2147483647) {
    return fail(what, `${label} must be a non-negative int, got ${JSON.stringify(String(v))}`);
  }
  return n;
}

/** The unsorted order (id 0, no fields). */
export function unsorted(): SortOrder {
  return { 'order-id': 0, fields: [] };
}

/** True for an order without fields. */
export function isUnsorted(order: SortOrder): boolean {
  return order.fields.length === 0;
}

/**
 * Parses a sort order from JSON. Direction and null order are case-insensitive on input
 * (`ASC`, `NULLS_FIRST` as some writers spell them) and normalized to the spec's spelling.
 * Order id 0 is reserved for the unsorted order and must have no fields, and vice versa.
 */
export function parseSortOrder(json: unknown, what?: string): SortOrder {
  if (!isObject(json)) return fail(what, 'sort order must be an object');
  const orderId = readInt(json['order-id'], what, '"order-id"');
  if (!Array.isArray(json.fields)) return fail(what, `sort order ${orderId}: "fields" must be a list`);
  const fields = json.fields.map((fj, i): SortField => {
    const label = `sort order ${orderId} field #${i}`;
    if (!isObject(fj)) return fail(what, `${label} must be an object`);
    if (typeof fj.transform !== 'string') return fail(what, `${label}: "transform" must be a string`);
    parseTransform(fj.transform);
    let sourceIds: number[] | undefined;
    if (fj['source-ids'] !== undefined && fj['source-ids'] !== null) {
      if (!Array.isArray(fj['source-ids']) || fj['source-ids'].length === 0) return fail(what, `${label}: "source-ids" must be a non-empty list`);
      sourceIds = fj['source-ids'].map((x) => readInt(x, what, `${label}: "source-ids" entry`));
    }
    const sourceId =
      fj['source-id'] !== undefined && fj['source-id'] !== null
        ? readInt(fj['source-id'], what, `${label}: "source-id"`)
        : sourceIds
          ? (sourceIds[0] as number)
          : fail(what, `${label}: missing "source-id"`);
    const direction = String(fj.direction).toLowerCase();
    if (direction !== 'asc' && direction !== 'desc') return fail(what, `${label}: direction must be "asc" or "desc", got ${JSON.stringify(fj.direction)}`);
    const nullOrder = String(fj['null-order']).toLowerCase().replace('_', '-');
    if (nullOrder !== 'nulls-first' && nullOrder !== 'nulls-last') {
      return fail(what, `${label}: null-order must be "nulls-first" or "nulls-last", got ${JSON.stringify(fj['null-order'])}`);
    }
    const out: SortField = { transform: fj.transform, 'source-id': sourceId, direction, 'null-order': nullOrder };
    if (sourceIds && sourceIds.length > 1) out['source-ids'] = sourceIds;
    return out;
  });
  if (orderId === 0 && fields.length > 0) fail(what, 'sort order id 0 is reserved for the unsorted order');
  if (orderId !== 0 && fields.length === 0) fail(what, `unsorted order must have id 0, got ${orderId}`);
  return { 'order-id': orderId, fields };
}

/**
 * Validates a sort order against a schema: every source column exists and is a primitive the
 * field's transform applies to (unknown transforms are accepted and ignored, as readers must).
 */
export function validateSortOrder(order: SortOrder, schema: StructType, what?: string): void {
  if (order['order-id'] === 0 && order.fields.length > 0) fail(what, 'sort order id 0 is reserved for the unsorted order');
  const byId = indexById(schema);
  for (const f of order.fields) {
    const label = `sort order ${order['order-id']}`;
    for (const id of f['source-ids'] ?? [f['source-id']]) {
      const source = byId.get(id);
      if (!source) fail(what, `${label}: cannot find source column with id ${id}`);
      const name = columnName(schema, id) ?? source.name;
      if (!isPrimitive(source.type)) fail(what, `${label}: source column '${name}' is not a primitive type`);
      const t = parseTransform(f.transform);
      if (t.kind !== 'unknown' && !canTransform(t, source.type)) {
        fail(what, `${label}: transform ${f.transform} cannot be applied to '${name}' of type ${source.type}`);
      }
    }
  }
}

/**
 * Whether two orders sort the same way (same fields, transforms, directions and null orders;
 * order ids ignored). Used to reuse an existing order instead of adding a duplicate.
 */
export function sortOrdersEquivalent(a: SortOrder, b: SortOrder): boolean {
  return (
    a.fields.length === b.fields.length &&
    a.fields.every((f, i) => {
      const g = b.fields[i] as SortField;
      const fs = f['source-ids'] ?? [f['source-id']];
      const gs = g['source-ids'] ?? [g['source-id']];
      return (
        fs.length === gs.length &&
        fs.every((x, j) => x === gs[j]) &&
        transformToString(parseTransform(f.transform)) === transformToString(parseTransform(g.transform)) &&
        f.direction === g.direction &&
        f['null-order'] === g['null-order']
      );
    })
  );
}

/**
 * Rebinds an order to another schema by source column name (e.g. a new table's schema after
 * fresh ids were assigned). Order id defaults to 1 for a sorted order and 0 for unsorted, as a new
 * table's order is numbered.
 * @throws ValidationError when a source column has no counterpart in `to`
 */
export function reassignSortOrderSourceIds(order: SortOrder, from: Schema, to: Schema, orderId?: number): SortOrder {
  if (order.fields.length === 0) return { 'order-id': orderId ?? 0, fields: [] };
  const toIds = new Map<string, number>();
  for (const [id] of indexById(to)) {
    const name = columnName(to, id);
    if (name !== undefined) toIds.set(name, id);
  }
  const mapId = (sourceId: number): number => {
    const name = columnName(from, sourceId);
    const id = name === undefined ? undefined : toIds.get(name);
    if (id === undefined) fail(undefined, `sort field source column ${name === undefined ? `id ${sourceId}` : `'${name}'`} not found in the new schema`);
    return id;
  };
  return {
    'order-id': orderId ?? 1,
    fields: order.fields.map((f): SortField => {
      const out: SortField = { ...f, 'source-id': mapId(f['source-id']) };
      if (f['source-ids']) out['source-ids'] = f['source-ids'].map(mapId);
      return out;
    }),
  };
}

/** One-line form for display: `[id ASC NULLS FIRST, bucket[4](data) DESC NULLS LAST]`. */
export function sortOrderToString(order: SortOrder, schema?: StructType): string {
  if (order.fields.length === 0) return '[] (unsorted)';
  return `[${order.fields
    .map((f) => {
      const name = (schema && columnName(schema, f['source-id'])) ?? `#${f['source-id']}`;
      const term = f.transform === 'identity' ? name : `${f.transform}(${name})`;
      return `${term} ${f.direction.toUpperCase()} ${f['null-order'].replace('-', ' ').toUpperCase()}`;
    })
    .join(', ')}]`;
}
