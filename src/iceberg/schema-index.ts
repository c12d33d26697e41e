/**
 * Field indexes over a type or schema: by id, by parent, by dotted name (full and short names),
 * a field id's column name, the highest id. Every nesting level counts: list elements and map
 * keys/values are presented as NestedFields named `element`, `key` and `value`, as the reference
 * implementation does.
 */
import { fail } from './schema-errors.js';
import type { IcebergType, ListType, MapType, NestedField } from './types.js';

/** Highest field id a table schema may use; larger ids are reserved for metadata columns. */
export const MAX_USER_FIELD_ID = 2147483447;

/**
 * Visits every id-carrying slot of a type (struct fields, list elements, map keys and values),
 * parents before children. List elements and map keys/values are presented as NestedFields named
 * `element`, `key` and `value`, as the reference implementation does.
 */
export function walkFields(
  t: IcebergType,
  visit: (slot: NestedField, path: string[], parentId: number | undefined) => void,
  path: string[] = [],
  parentId?: number,
): void {
  if (typeof t === 'string') return;
  if (t.type === 'struct') {
    for (const f of t.fields) {
      const p = [...path, f.name];
      visit(f, p, parentId);
      walkFields(f.type, visit, p, f.id);
    }
  } else if (t.type === 'list') {
    const slot = elementField(t);
    const p = [...path, 'element'];
    visit(slot, p, parentId);
    walkFields(t.element, visit, p, slot.id);
  } else {
    const k = keyField(t);
    const v = valueField(t);
    visit(k, [...path, 'key'], parentId);
    walkFields(t.key, visit, [...path, 'key'], k.id);
    visit(v, [...path, 'value'], parentId);
    walkFields(t.value, visit, [...path, 'value'], v.id);
  }
}

/** The element of a list as a NestedField named `element`. */
export function elementField(t: ListType): NestedField {
  return { id: t['element-id'], name: 'element', required: t['element-required'], type: t.element };
}

/** The key of a map as a (required) NestedField named `key`. */
export function keyField(t: MapType): NestedField {
  return { id: t['key-id'], name: 'key', required: true, type: t.key };
}

/** The value of a map as a NestedField named `value`. */
export function valueField(t: MapType): NestedField {
  return { id: t['value-id'], name: 'value', required: t['value-required'], type: t.value };
}

/**
 * Indexes every field by id at all nesting levels, including list elements and map keys/values
 * (as synthetic NestedFields named `element`, `key`, `value`).
 */
export function indexById(schema: IcebergType): Map<number, NestedField> {
  const out = new Map<number, NestedField>();
  walkFields(schema, (slot) => {
    out.set(slot.id, slot);
  });
  return out;
}

/** Maps each nested field id to the id of its parent field; top-level fields have no entry. */
export function indexParents(schema: IcebergType): Map<number, number> {
  const out = new Map<number, number>();
  walkFields(schema, (slot, _path, parent) => {
    if (parent !== undefined) out.set(slot.id, parent);
  });
  return out;
}

/**
 * Indexes fields by dotted name. Full names include `element`/`key`/`value` for list and map
 * children (`points.element.x`); like the reference implementation, short names that leave out
 * `element` and `value` (`points.x`) are indexed too when they do not clash with a full name.
 */
export function indexByName(schema: IcebergType): Map<string, number> {
  const full = new Map<string, number>();
  const short = new Map<string, number>();
  const visit = (t: IcebergType, fullPath: string[], shortPath: string[]): void => {
    if (typeof t === 'string') return;
    // A list element / map value has only its full name; its children may skip "element"/"value".
    const add = (slot: NestedField, fp: string[], sp: string[], hasShortName: boolean) => {
      full.set(fp.join('.'), slot.id);
      if (hasShortName) short.set(sp.join('.'), slot.id);
      visit(slot.type, fp, sp);
    };
    if (t.type === 'struct') {
      for (const f of t.fields) add(f, [...fullPath, f.name], [...shortPath, f.name], true);
    } else if (t.type === 'list') {
      add(elementField(t), [...fullPath, 'element'], shortPath, false);
    } else {
      add(keyField(t), [...fullPath, 'key'], [...shortPath, 'key'], true);
      add(valueField(t), [...fullPath, 'value'], shortPath, false);
    }
  };
  visit(schema, [], []);
  for (const [name, id] of short) if (!full.has(name)) full.set(name, id);
  return full;
}

/** Full dotted name of a field id (`a.element.b`), or undefined when the id is not in the schema. */
export function columnName(schema: IcebergType, id: number): string | undefined {
  let found: string | undefined;
  walkFields(schema, (slot, path) => {
    if (found === undefined && slot.id === id) found = path.join('.');
  });
  return found;
}

/**
 * Finds a field by dotted name (`address.city`, `tags.element`, `points.x`).
 * Case-sensitive unless `caseInsensitive` is set; an ambiguous case-insensitive match throws.
 */
export function findFieldByName(
  schema: IcebergType,
  dottedName: string,
  opts: { caseInsensitive?: boolean } = {},
): NestedField | undefined {
  const byName = indexByName(schema);
  let id = byName.get(dottedName);
  if (id === undefined && opts.caseInsensitive) {
    const lower = dottedName.toLowerCase();
    const matches = new Set<number>();
    for (const [name, fid] of byName) if (name.toLowerCase() === lower) matches.add(fid);
    if (matches.size > 1) fail(undefined, `ambiguous column name '${dottedName}' (case-insensitive match of ${matches.size} fields)`);
    id = [...matches][0];
  }
  return id === undefined ? undefined : indexById(schema).get(id);
}

/** Highest field id used anywhere in the type (0 when there are no fields). */
export function maxFieldId(schema: IcebergType): number {
  let max = 0;
  walkFields(schema, (slot) => {
    if (slot.id > max) max = slot.id;
  });
  return max;
}
