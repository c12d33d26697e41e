/**
 * Fresh field ids: renumbering every id of a type or schema (a new table's schema, an added
 * column's nested type), in the reference implementation's order.
 */
import type { IcebergType, Schema, StructType } from './types.js';

/**
 * Reassigns every id in a type. Order matches the reference implementation: all fields of a struct
 * first, then each field's nested type; for a map, key then value ids, then their nested types.
 * `onAssign` learns each old→new id pair.
 */
export function assignFreshTypeIds(
  t: IcebergType,
  nextId: () => number,
  onAssign?: (oldId: number, newId: number) => void,
): IcebergType {
  if (typeof t === 'string') return t;
  if (t.type === 'struct') {
    const ids = t.fields.map((f) => {
      const id = nextId();
      onAssign?.(f.id, id);
      return id;
    });
    return {
      type: 'struct',
      fields: t.fields.map((f, i) => ({ ...f, id: ids[i] as number, type: assignFreshTypeIds(f.type, nextId, onAssign) })),
    };
  }
  if (t.type === 'list') {
    const id = nextId();
    onAssign?.(t['element-id'], id);
    return { ...t, 'element-id': id, element: assignFreshTypeIds(t.element, nextId, onAssign) };
  }
  const keyId = nextId();
  onAssign?.(t['key-id'], keyId);
  const valueId = nextId();
  onAssign?.(t['value-id'], valueId);
  return {
    ...t,
    'key-id': keyId,
    key: assignFreshTypeIds(t.key, nextId, onAssign),
    'value-id': valueId,
    value: assignFreshTypeIds(t.value, nextId, onAssign),
  };
}

/**
 * Returns a copy of the schema with fresh ids from `nextId` (e.g. when creating a table, with a
 * counter starting at 1). `identifier-field-ids` are remapped; the schema id is kept.
 */
export function assignFreshIds(schema: Schema, nextId: () => number): Schema {
  const mapping = new Map<number, number>();
  const struct = assignFreshTypeIds({ type: 'struct', fields: schema.fields }, nextId, (o, n) => mapping.set(o, n)) as StructType;
  const out: Schema = { type: 'struct', 'schema-id': schema['schema-id'], fields: struct.fields };
  const ids = schema['identifier-field-ids'];
  if (ids) out['identifier-field-ids'] = ids.map((id) => mapping.get(id) ?? id);
  return out;
}
