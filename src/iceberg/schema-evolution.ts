/**
 * Schema evolution (spec §Schema Evolution): valid type promotions and the column operations (add,
 * rename, promote, make optional, delete). Each operation returns a new schema with the id given
 * in {@link EvolveOptions}; field ids are kept, added columns get fresh ones.
 */
import { toJsonValue } from './conversions.js';
import { fail } from './schema-errors.js';
import { assignFreshTypeIds } from './schema-fresh-ids.js';
import {
  elementField,
  findFieldByName,
  indexById,
  indexParents,
  keyField,
  maxFieldId,
  valueField,
  walkFields,
} from './schema-index.js';
import { checkDefault } from './schema-parse.js';
import {
  decimalParams,
  isList,
  isMap,
  isPrimitive,
  isStruct,
  parsePrimitiveType,
  primitiveKind,
  typesEqual,
} from './schema-types.js';
import type { IcebergType, IcebergValue, NestedField, PrimitiveType, Schema, StructType } from './types.js';

/** Options shared by the evolution operations. */
export interface EvolveOptions {
  /** Id of the schema the operation produces. */
  schemaId: number;
}

// ---------------------------------------------------------------------------------------------
// Type promotion
// ---------------------------------------------------------------------------------------------

/**
 * Whether a column of type `from` may be changed to type `to` (spec §Schema Evolution): the same
 * type, `int`→`long`, `float`→`double`, `decimal(P,S)`→`decimal(P2,S)` with P2 ≥ P. With
 * `formatVersion` 3 also `unknown`→any and `date`→`timestamp`/`timestamp_ns`.
 *
 * Callers must still refuse `date`→`timestamp` for a column that is the source of a partition
 * field whose transform would change its output (see the spec).
 */
export function canPromote(from: IcebergType, to: IcebergType, formatVersion = 2): boolean {
  if (!isPrimitive(from) || !isPrimitive(to)) return false;
  // Same type, spelling aside (`decimal(9,2)` is `decimal(9, 2)`).
  if (typesEqual(from, to)) return true;
  const fk = primitiveKind(from);
  const tk = primitiveKind(to);
  if (fk === 'int' && tk === 'long') return true;
  if (fk === 'float' && tk === 'double') return true;
  if (fk === 'decimal' && tk === 'decimal') {
    const f = decimalParams(from) as { precision: number; scale: number };
    const t = decimalParams(to) as { precision: number; scale: number };
    return f.scale === t.scale && t.precision >= f.precision;
  }
  if (formatVersion >= 3) {
    if (fk === 'unknown') return true;
    if (fk === 'date' && (tk === 'timestamp' || tk === 'timestamp_ns')) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Column operations
// ---------------------------------------------------------------------------------------------

type SlotKind = 'field' | 'element' | 'key' | 'value';

/**
 * Rebuilds a type, letting `fn` replace any slot (struct field, list element, map key/value).
 * `fn` returns the slot (possibly changed) or null to drop a struct field. Children are visited
 * after their parent was replaced, so `fn` sees the new parent's nested type.
 */
function mapSlots(t: IcebergType, fn: (slot: NestedField, kind: SlotKind) => NestedField | null): IcebergType {
  if (typeof t === 'string') return t;
  if (t.type === 'struct') {
    const fields: NestedField[] = [];
    for (const f of t.fields) {
      const r = fn(f, 'field');
      if (r) fields.push({ ...r, type: mapSlots(r.type, fn) });
    }
    return { type: 'struct', fields };
  }
  if (t.type === 'list') {
    const r = fn(elementField(t), 'element') ?? elementField(t);
    return { ...t, element: mapSlots(r.type, fn), 'element-required': r.required };
  }
  const k = fn(keyField(t), 'key') ?? keyField(t);
  const v = fn(valueField(t), 'value') ?? valueField(t);
  return { ...t, key: mapSlots(k.type, fn), value: mapSlots(v.type, fn), 'value-required': v.required };
}

function rebuild(schema: Schema, struct: IcebergType, opts: EvolveOptions): Schema {
  const out: Schema = { type: 'struct', 'schema-id': opts.schemaId, fields: (struct as StructType).fields };
  const ids = schema['identifier-field-ids'];
  if (ids && ids.length > 0) out['identifier-field-ids'] = [...ids];
  return out;
}

function resolve(schema: Schema, path: string, op: string): NestedField {
  const f = findFieldByName(schema, path);
  if (!f) fail(undefined, `cannot ${op} '${path}': no such column`);
  return f;
}

/** A column to add with {@link addColumn}. */
export interface NewColumn {
  /** Dotted name of the parent: a struct, or a list/map whose element/value is a struct. Top level when absent. */
  parent?: string;
  name: string;
  /** The type; ids inside nested types are placeholders and get fresh ids. */
  type: IcebergType;
  /** Required columns need a `defaultValue` (format v3). Default false. */
  required?: boolean;
  doc?: string;
  /**
   * Value for existing rows and for writers that omit the column, stored as both `initial-default`
   * and `write-default`. Defaults are a format-v3 feature: callers must refuse them for v1/v2 tables.
   */
  defaultValue?: IcebergValue;
}

/**
 * Adds a column at the end of the top-level struct or of a nested struct, with fresh ids taken
 * after `lastColumnId` (the table's `last-column-id`, so ids of deleted columns are never reused).
 * @returns the new schema and the new last column id
 */
export function addColumn(
  schema: Schema,
  col: NewColumn,
  opts: EvolveOptions & { lastColumnId: number },
): { schema: Schema; lastColumnId: number } {
  const label = col.parent ? `${col.parent}.${col.name}` : col.name;
  if (col.name === '') fail(undefined, 'cannot add a column with an empty name');
  if (!col.parent && col.name.includes('.')) {
    fail(undefined, `cannot add column '${col.name}': ambiguous name with '.'; give the parent separately`);
  }
  const hasDefault = col.defaultValue !== undefined && col.defaultValue !== null;
  if (col.required && !hasDefault) {
    fail(undefined, `cannot add required column '${label}' without a default value (existing rows would have no value)`);
  }
  let last = Math.max(opts.lastColumnId, maxFieldId(schema));
  const nextId = () => ++last;
  const id = nextId();
  const type = assignFreshTypeIds(isPrimitive(col.type) ? parsePrimitiveType(col.type) : col.type, nextId);
  const field: NestedField = { id, name: col.name, required: col.required ?? false, type };
  if (col.doc !== undefined) field.doc = col.doc;
  if (hasDefault) {
    let json: unknown;
    try {
      json = isStruct(type) ? {} : toJsonValue(type, col.defaultValue as IcebergValue);
    } catch (e) {
      fail(undefined, `cannot add column '${label}': invalid default value: ${e instanceof Error ? e.message : String(e)}`);
    }
    field['initial-default'] = json;
    field['write-default'] = json;
    checkDefault(field, 'initial-default', undefined, label);
  }
  const conflict = (fields: NestedField[]) => {
    if (fields.some((f) => f.name === col.name)) fail(undefined, `cannot add column '${label}': name already exists`);
  };
  if (!col.parent) {
    conflict(schema.fields);
    return { schema: rebuild(schema, { type: 'struct', fields: [...schema.fields, field] }, opts), lastColumnId: last };
  }
  const parent = resolve(schema, col.parent, 'add a column to');
  // A list or map parent means its element or value struct (as in the reference implementation).
  let targetId = parent.id;
  let target = parent.type;
  if (isList(target)) {
    targetId = target['element-id'];
    target = target.element;
  } else if (isMap(target)) {
    targetId = target['value-id'];
    target = target.value;
  }
  if (!isStruct(target)) fail(undefined, `cannot add column '${label}': parent '${col.parent}' is not a struct`);
  conflict(target.fields);
  const struct = mapSlots(schema, (slot) => {
    if (slot.id !== targetId) return slot;
    const st = slot.type as StructType;
    return { ...slot, type: { type: 'struct', fields: [...st.fields, field] } };
  });
  return { schema: rebuild(schema, struct, opts), lastColumnId: last };
}

/** Renames a struct field (by dotted name); the id is kept. */
export function renameColumn(schema: Schema, path: string, newName: string, opts: EvolveOptions): Schema {
  const f = resolve(schema, path, 'rename');
  if (newName === '') fail(undefined, `cannot rename '${path}' to an empty name`);
  const parentId = indexParents(schema).get(f.id);
  const parentType = parentId === undefined ? schema : indexById(schema).get(parentId)?.type;
  if (!parentType || !isStruct(parentType) || !parentType.fields.some((x) => x.id === f.id)) {
    fail(undefined, `cannot rename '${path}': only struct fields have names (not list elements or map keys/values)`);
  }
  if (newName === f.name) return rebuild(schema, schema, opts);
  if (parentType.fields.some((x) => x.name === newName)) {
    fail(undefined, `cannot rename '${path}' to '${newName}': name already exists`);
  }
  const struct = mapSlots(schema, (slot, kind) => (kind === 'field' && slot.id === f.id ? { ...slot, name: newName } : slot));
  return rebuild(schema, struct, opts);
}

/**
 * Changes a primitive column's type (a struct field, list element or map value) to a type it can
 * be promoted to ({@link canPromote}).
 */
export function promoteColumn(
  schema: Schema,
  path: string,
  newType: PrimitiveType,
  opts: EvolveOptions & { formatVersion?: number },
): Schema {
  const f = resolve(schema, path, 'change the type of');
  const to = parsePrimitiveType(newType);
  if (!isPrimitive(f.type)) fail(undefined, `cannot change the type of '${path}': it is a ${(f.type as { type: string }).type}, not a primitive`);
  const parentId = indexParents(schema).get(f.id);
  const parentType = parentId === undefined ? undefined : indexById(schema).get(parentId)?.type;
  if (parentType && isMap(parentType) && parentType['key-id'] === f.id) {
    fail(undefined, `cannot change the type of '${path}': map keys cannot be changed`);
  }
  const version = opts.formatVersion ?? 2;
  if (!canPromote(f.type, to, version)) {
    const allowed =
      'int→long, float→double, decimal(P,S)→decimal(P2,S) with P2≥P' + (version >= 3 ? ', unknown→any, date→timestamp/timestamp_ns' : '');
    fail(undefined, `cannot change column '${path}' from ${f.type} to ${to}: only ${allowed} are allowed`);
  }
  const struct = mapSlots(schema, (slot) => (slot.id === f.id ? { ...slot, type: to } : slot));
  return rebuild(schema, struct, opts);
}

/** Makes a required column (struct field, list element or map value) optional. */
export function makeOptional(schema: Schema, path: string, opts: EvolveOptions): Schema {
  const f = resolve(schema, path, 'make optional');
  if (schema['identifier-field-ids']?.includes(f.id)) {
    fail(undefined, `cannot make '${path}' optional: it is an identifier field`);
  }
  const struct = mapSlots(schema, (slot, kind) => {
    if (slot.id !== f.id) return slot;
    if (kind === 'key') fail(undefined, `cannot make '${path}' optional: map keys are always required`);
    return { ...slot, required: false };
  });
  return rebuild(schema, struct, opts);
}

/**
 * Deletes a struct field (and everything nested in it). Identifier fields cannot be deleted;
 * callers must also refuse columns that the table's current partition spec or sort order uses.
 */
export function deleteColumn(schema: Schema, path: string, opts: EvolveOptions): Schema {
  const f = resolve(schema, path, 'delete');
  const removed = new Set<number>([f.id]);
  walkFields(f.type, (slot) => removed.add(slot.id));
  const ids = schema['identifier-field-ids'] ?? [];
  const hit = ids.find((id) => removed.has(id));
  if (hit !== undefined) fail(undefined, `cannot delete '${path}': it is or contains identifier field id ${hit}`);
  let deleted = false;
  const struct = mapSlots(schema, (slot, kind) => {
    if (slot.id !== f.id) return slot;
    if (kind !== 'field') fail(undefined, `cannot delete '${path}': list elements and map keys/values cannot be deleted`);
    deleted = true;
    return null;
  });
  if (!deleted) fail(undefined, `cannot delete '${path}': not found`);
  return rebuild(schema, struct, opts);
}
