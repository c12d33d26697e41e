/**
 * Column placement for `add-column --after`: moves a struct field right after a sibling. Pure;
 * ids and types are unchanged, only the order of one struct's fields.
 */
import { fail } from './schema-errors.js';
import { isList, isMap, isStruct } from './schema-types.js';
import type { IcebergType, NestedField, Schema } from './types.js';

function moveIn(fields: NestedField[], id: number, after: string, label: string): NestedField[] {
  const moving = fields.find((f) => f.id === id);
  if (!moving) return fields;
  const rest = fields.filter((f) => f.id !== id);
  const at = rest.findIndex((f) => f.name === after);
  if (at < 0) fail(undefined, `cannot place '${label}' after '${after}': no such column next to it`);
  return [...rest.slice(0, at + 1), moving, ...rest.slice(at + 1)];
}

function walk(t: IcebergType, id: number, after: string, label: string): IcebergType {
  if (isStruct(t)) {
    const fields = moveIn(t.fields, id, after, label).map((f) => ({ ...f, type: walk(f.type, id, after, label) }));
    return { type: 'struct', fields };
  }
  if (isList(t)) return { ...t, element: walk(t.element, id, after, label) };
  if (isMap(t)) return { ...t, value: walk(t.value, id, after, label) };
  return t;
}

/** Moves the field with id `id` right after its sibling named `after` (same struct). */
export function moveColumnAfter(schema: Schema, id: number, after: string, label: string): Schema {
  const moved = walk({ type: 'struct', fields: schema.fields }, id, after, label) as { fields: NestedField[] };
  return { ...schema, fields: moved.fields };
}
