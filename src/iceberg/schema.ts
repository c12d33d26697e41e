/**
 * Iceberg types and schemas: parsing and validation of the spec's JSON form (Appendix C), field
 * indexes, fresh id assignment, type promotion rules and schema evolution.
 *
 * Types stay in their JSON shape (see `types.ts`). Parsing normalizes primitive spellings the way
 * the reference implementation writes them (`decimal(9, 2)`, `fixed[16]`, lower-case names), so two
 * parsed schemas can be compared structurally.
 */
import { ValidationError } from '../errors.js';
import { fromJsonValue, toJsonValue } from './conversions.js';
import type {
  IcebergType,
  IcebergValue,
  ListType,
  MapType,
  NestedField,
  PrimitiveType,
  Schema,
  StructType,
} from './types.js';

/** The kind of a primitive type, without its parameters. */
export type PrimitiveKind =
  | 'boolean'
  | 'int'
  | 'long'
  | 'float'
  | 'double'
  | 'decimal'
  | 'date'
  | 'time'
  | 'timestamp'
  | 'timestamptz'
  | 'timestamp_ns'
  | 'timestamptz_ns'
  | 'string'
  | 'uuid'
  | 'fixed'
  | 'binary'
  | 'unknown'
  | 'variant'
  | 'geometry'
  | 'geography';

const SIMPLE_KINDS: ReadonlySet<string> = new Set([
  'boolean',
  'int',
  'long',
  'float',
  'double',
  'date',
  'time',
  'timestamp',
  'timestamptz',
  'timestamp_ns',
  'timestamptz_ns',
  'string',
  'uuid',
  'binary',
  'unknown',
  'variant',
]);

/** Kinds added by format v3; v1/v2 tables must refuse them. */
const V3_ONLY_KINDS: ReadonlySet<PrimitiveKind> = new Set<PrimitiveKind>([
  'timestamp_ns',
  'timestamptz_ns',
  'unknown',
  'variant',
  'geometry',
  'geography',
]);

/** Kinds whose values cannot have non-null defaults (spec §Default values). */
const NULL_DEFAULT_ONLY_KINDS: ReadonlySet<PrimitiveKind> = new Set<PrimitiveKind>([
  'unknown',
  'variant',
  'geometry',
  'geography',
]);

const DECIMAL_RE = /^decimal\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)$/i;
const FIXED_RE = /^fixed\s*\[\s*(\d+)\s*\]$/i;
const GEOMETRY_RE = /^geometry\s*(?:\((.*)\))?$/i;
const GEOGRAPHY_RE = /^geography\s*(?:\((.*)\))?$/i;

/** Highest field id a table schema may use; larger ids are reserved for metadata columns. */
export const MAX_USER_FIELD_ID = 2147483447;

/** Options shared by the evolution operations. */
export interface EvolveOptions {
  /** Id of the schema the operation produces. */
  schemaId: number;
}

function fail(what: string | undefined, msg: string): never {
  throw new ValidationError(`schema: ${what ? `${what}: ` : ''}${msg}`);
}

function quote(v: unknown): string {
  try {
    const s = JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
    if (s === undefined) return String(v);
    return s.length > 120 ? `${s.slice(0, 117)}...` : s;
  } catch {
    return String(v);
  }
}

// ---------------------------------------------------------------------------------------------
// Primitive type strings
// ---------------------------------------------------------------------------------------------

/** True when `t` is a primitive type (a JSON string). */
export function isPrimitive(t: IcebergType): t is PrimitiveType {
  return typeof t === 'string';
}

/** True when `t` is a struct type. */
export function isStruct(t: IcebergType): t is StructType {
  return typeof t === 'object' && t.type === 'struct';
}

/** True when `t` is a list type. */
export function isList(t: IcebergType): t is ListType {
  return typeof t === 'object' && t.type === 'list';
}

/** True when `t` is a map type. */
export function isMap(t: IcebergType): t is MapType {
  return typeof t === 'object' && t.type === 'map';
}

/**
 * Parses and normalizes a primitive type string (`"Decimal(9,2)"` → `"decimal(9, 2)"`).
 * @throws ValidationError when the string is not an Iceberg primitive type
 */
export function parsePrimitiveType(s: string, what?: string): PrimitiveType {
  const text = s.trim();
  const lower = text.toLowerCase();
  if (SIMPLE_KINDS.has(lower)) return lower as PrimitiveType;
  let m = DECIMAL_RE.exec(text);
  if (m) {
    const precision = Number(m[1]);
    const scale = Number(m[2]);
    if (precision < 1 || precision > 38) {
      fail(what, `invalid type ${quote(s)}: decimal precision must be between 1 and 38`);
    }
    return `decimal(${precision}, ${scale})`;
  }
  m = FIXED_RE.exec(text);
  if (m) return `fixed[${Number(m[1])}]`;
  // The CRS and algorithm parameters are case-sensitive identifiers: keep them, trimmed.
  m = GEOMETRY_RE.exec(text);
  if (m) {
    const crs = m[1]?.trim();
    return crs ? `geometry(${crs})` : 'geometry';
  }
  m = GEOGRAPHY_RE.exec(text);
  if (m) {
    const params = m[1]?.split(',').map((p) => p.trim());
    if (!params || params.every((p) => p === '')) return 'geography';
    if (params.length > 2 || params[0] === '') {
      fail(what, `invalid type ${quote(s)}: expected geography(crs) or geography(crs, algorithm)`);
    }
    return `geography(${params.join(', ')})`;
  }
  return fail(what, `Cannot parse type from json: unknown primitive type ${quote(s)}`);
}

/**
 * The kind of a primitive type (`"decimal(9, 2)"` → `"decimal"`), or undefined for nested types.
 * @throws ValidationError when `t` is a string that is not an Iceberg primitive type
 */
export function primitiveKind(t: IcebergType): PrimitiveKind | undefined {
  if (typeof t !== 'string') return undefined;
  const lower = t.toLowerCase();
  if (SIMPLE_KINDS.has(lower)) return lower as PrimitiveKind;
  if (DECIMAL_RE.test(t)) return 'decimal';
  if (FIXED_RE.test(t)) return 'fixed';
  if (GEOMETRY_RE.test(t)) return 'geometry';
  if (GEOGRAPHY_RE.test(t)) return 'geography';
  return fail(undefined, `unknown primitive type ${quote(t)}`);
}

/** Precision and scale of a decimal type, or undefined for any other type. */
export function decimalParams(t: IcebergType): { precision: number; scale: number } | undefined {
  if (typeof t !== 'string') return undefined;
  const m = DECIMAL_RE.exec(t);
  return m ? { precision: Number(m[1]), scale: Number(m[2]) } : undefined;
}

/** Length of a fixed type, or undefined for any other type. */
export function fixedLength(t: IcebergType): number | undefined {
  if (typeof t !== 'string') return undefined;
  const m = FIXED_RE.exec(t);
  return m ? Number(m[1]) : undefined;
}

/**
 * True when `t` is, or (for nested types) contains, a type added by format v3: `timestamp_ns`,
 * `timestamptz_ns`, `unknown`, `variant`, `geometry`, `geography`. v1/v2 tables must refuse these.
 */
export function isV3OnlyType(t: IcebergType): boolean {
  if (typeof t === 'string') return V3_ONLY_KINDS.has(primitiveKind(t) as PrimitiveKind);
  if (t.type === 'struct') return t.fields.some((f) => isV3OnlyType(f.type));
  if (t.type === 'list') return isV3OnlyType(t.element);
  return isV3OnlyType(t.key) || isV3OnlyType(t.value);
}

/**
 * Lists the format-v3 features a schema uses (v3-only types, non-null default values), one
 * human-readable entry each; empty when the schema is valid for v1/v2 tables.
 */
export function findV3Features(schema: StructType): string[] {
  const found: string[] = [];
  const visit = (t: IcebergType, path: string): void => {
    if (typeof t === 'string') {
      if (V3_ONLY_KINDS.has(primitiveKind(t) as PrimitiveKind)) found.push(`${path}: type ${t}`);
      return;
    }
    if (t.type === 'struct') {
      for (const f of t.fields) {
        const p = path ? `${path}.${f.name}` : f.name;
        if (f['initial-default'] !== undefined && f['initial-default'] !== null) found.push(`${p}: initial-default`);
        if (f['write-default'] !== undefined && f['write-default'] !== null) found.push(`${p}: write-default`);
        visit(f.type, p);
      }
    } else if (t.type === 'list') {
      visit(t.element, `${path}.element`);
    } else {
      visit(t.key, `${path}.key`);
      visit(t.value, `${path}.value`);
    }
  };
  visit(schema, '');
  return found;
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function readId(v: unknown, what: string | undefined, label: string): number {
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 2147483647) {
    return fail(what, `${label} must be a non-negative 32-bit integer, got ${quote(v)}`);
  }
  return n;
}

function readBool(v: unknown, what: string | undefined, label: string): boolean {
  if (typeof v !== 'boolean') return fail(what, `${label} must be a boolean, got ${quote(v)}`);
  return v;
}

/** Checks a default value (JSON single-value form) against its field's type. */
function checkDefault(f: NestedField, key: 'initial-default' | 'write-default', what: string | undefined, path: string): void {
  const v = f[key];
  if (v === undefined || v === null) return;
  const kind = primitiveKind(f.type);
  if (kind !== undefined && NULL_DEFAULT_ONLY_KINDS.has(kind)) {
    fail(what, `field '${path}' (id ${f.id}): ${key} must be null for type ${String(f.type)}`);
  }
  if (isStruct(f.type)) {
    // Spec: a struct default is null or an empty struct; sub-field defaults live on the sub-fields.
    if (!isObject(v) || Object.keys(v).length !== 0) {
      fail(what, `field '${path}' (id ${f.id}): ${key} of a struct must be null or {} (sub-field defaults belong to the sub-fields)`);
    }
    return;
  }
  try {
    fromJsonValue(f.type, v);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    fail(what, `field '${path}' (id ${f.id}): invalid ${key} ${quote(v)}: ${msg}`);
  }
}

function parseTypeAt(json: unknown, what: string | undefined, path: string): IcebergType {
  const at = path ? ` for '${path}'` : '';
  if (json === undefined || json === null) return fail(what, `Cannot parse type from json${at}: missing "type"`);
  if (typeof json === 'string') {
    return parsePrimitiveType(json, what ? `${what}${path ? `: '${path}'` : ''}` : path ? `'${path}'` : undefined);
  }
  if (!isObject(json)) return fail(what, `Cannot parse type from json${at}: ${quote(json)}`);
  const kind = json.type;
  if (kind === 'struct') {
    if (!Array.isArray(json.fields)) return fail(what, `struct${at}: "fields" must be a list`);
    const fields: NestedField[] = [];
    const names = new Set<string>();
    for (const [i, fj] of json.fields.entries()) {
      if (!isObject(fj)) return fail(what, `struct${at}: field #${i} must be an object`);
      if (typeof fj.name !== 'string') return fail(what, `struct${at}: field #${i} has no string "name"`);
      const fpath = path ? `${path}.${fj.name}` : fj.name;
      const id = readId(fj.id, what, `field '${fpath}': "id"`);
      const required = readBool(fj.required, what, `field '${fpath}' (id ${id}): "required"`);
      if (fj.type === undefined || fj.type === null) {
        return fail(what, `Cannot parse type from json for field '${fpath}' (id ${id}): missing "type"`);
      }
      const type = parseTypeAt(fj.type, what, fpath);
      if (names.has(fj.name)) return fail(what, `duplicate field name '${fpath}'`);
      names.add(fj.name);
      const field: NestedField = { id, name: fj.name, required, type };
      if (fj.doc !== undefined && fj.doc !== null) {
        if (typeof fj.doc !== 'string') return fail(what, `field '${fpath}' (id ${id}): "doc" must be a string`);
        field.doc = fj.doc;
      }
      if (fj['initial-default'] !== undefined) field['initial-default'] = fj['initial-default'];
      if (fj['write-default'] !== undefined) field['write-default'] = fj['write-default'];
      if (required && primitiveKind(type) === 'unknown') {
        return fail(what, `field '${fpath}' (id ${id}): a column of type unknown must be optional`);
      }
      checkDefault(field, 'initial-default', what, fpath);
      checkDefault(field, 'write-default', what, fpath);
      fields.push(field);
    }
    return { type: 'struct', fields };
  }
  if (kind === 'list') {
    const elementId = readId(json['element-id'], what, `list${at}: "element-id"`);
    const elementRequired = readBool(json['element-required'], what, `list${at}: "element-required"`);
    if (json.element === undefined || json.element === null) {
      return fail(what, `Cannot parse type from json for list${at}: missing "element"`);
    }
    const element = parseTypeAt(json.element, what, path ? `${path}.element` : 'element');
    return { type: 'list', 'element-id': elementId, element, 'element-required': elementRequired };
  }
  if (kind === 'map') {
    const keyId = readId(json['key-id'], what, `map${at}: "key-id"`);
    const valueId = readId(json['value-id'], what, `map${at}: "value-id"`);
    const valueRequired = readBool(json['value-required'], what, `map${at}: "value-required"`);
    if (json.key === undefined || json.key === null || json.value === undefined || json.value === null) {
      return fail(what, `Cannot parse type from json for map${at}: missing "key" or "value"`);
    }
    const key = parseTypeAt(json.key, what, path ? `${path}.key` : 'key');
    const value = parseTypeAt(json.value, what, path ? `${path}.value` : 'value');
    return { type: 'map', 'key-id': keyId, key, 'value-id': valueId, value, 'value-required': valueRequired };
  }
  if (kind === undefined) return fail(what, `Cannot parse type from json${at}: missing "type"`);
  return fail(what, `Cannot parse type from json${at}: unknown type ${quote(kind)}`);
}

/**
 * Parses a type from its JSON form (a primitive string or a struct/list/map object).
 * @param what names the document in error messages
 */
export function parseType(json: unknown, what?: string): IcebergType {
  const t = parseTypeAt(json, what, '');
  checkUniqueIds(t, what);
  return t;
}

function checkUniqueIds(t: IcebergType, what: string | undefined): void {
  const seen = new Map<number, string>();
  walk(t, (slot, path) => {
    const name = path.join('.');
    const prev = seen.get(slot.id);
    if (prev !== undefined) fail(what, `duplicate field id ${slot.id} ('${prev}' and '${name}')`);
    seen.set(slot.id, name);
  });
}

/**
 * Parses and validates a schema from its JSON form (spec Appendix C). A missing `schema-id` (v1)
 * reads as 0. Checks: every type parses, ids are unique at all nesting levels, names are unique
 * within each struct, defaults match their types, and identifier fields follow the spec's rules.
 * @param what names the document in error messages (e.g. a metadata file path)
 * @throws ValidationError prefixed `schema:`
 */
export function parseSchema(json: unknown, what?: string): Schema {
  if (!isObject(json)) return fail(what, `Cannot parse type from json: expected a schema object, got ${quote(json)}`);
  if (json.type === undefined) return fail(what, 'Cannot parse type from json: schema has no "type" (expected "struct")');
  if (json.type !== 'struct') return fail(what, `Cannot parse type from json: schema type must be "struct", got ${quote(json.type)}`);
  const schemaId = json['schema-id'] === undefined ? 0 : readId(json['schema-id'], what, '"schema-id"');
  const struct = parseTypeAt(json, what, '') as StructType;
  checkUniqueIds(struct, what);
  const schema: Schema = { type: 'struct', 'schema-id': schemaId, fields: struct.fields };
  const ids = json['identifier-field-ids'];
  if (ids !== undefined && ids !== null) {
    if (!Array.isArray(ids)) return fail(what, `"identifier-field-ids" must be a list of ints, got ${quote(ids)}`);
    const list = ids.map((v) => readId(v, what, '"identifier-field-ids" entry'));
    schema['identifier-field-ids'] = list;
    validateIdentifierFields(schema, list, what);
  }
  return schema;
}

/**
 * Checks identifier fields per spec §Identifier Field IDs: each must exist, be a required
 * primitive other than float/double, and be nested only in required structs (never in a list/map).
 */
export function validateIdentifierFields(schema: StructType, ids: readonly number[], what?: string): void {
  const byId = indexById(schema);
  const parents = indexParents(schema);
  for (const id of ids) {
    const f = byId.get(id);
    const label = `identifier field id ${id}`;
    if (!f) fail(what, `${label}: field does not exist`);
    const name = `'${columnName(schema, id) ?? f.name}'`;
    if (!isPrimitive(f.type)) fail(what, `${label} (${name}): not a primitive type field`);
    if (!f.required) fail(what, `${label} (${name}): not a required field`);
    const kind = primitiveKind(f.type);
    if (kind === 'float' || kind === 'double') fail(what, `${label} (${name}): must not be float or double`);
    let p = parents.get(id);
    while (p !== undefined) {
      const pf = byId.get(p);
      if (!pf) break;
      if (!isStruct(pf.type)) fail(what, `${label} (${name}): must not be nested in a list or map`);
      if (!pf.required) fail(what, `${label} (${name}): must not be nested in an optional struct`);
      p = parents.get(p);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Indexes
// ---------------------------------------------------------------------------------------------

/**
 * Visits every id-carrying slot of a type (struct fields, list elements, map keys and values),
 * parents before children. List elements and map keys/values are presented as NestedFields named
 * `element`, `key` and `value`, as the reference implementation does.
 */
function walk(
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
      walk(f.type, visit, p, f.id);
    }
  } else if (t.type === 'list') {
    const slot = elementField(t);
    const p = [...path, 'element'];
    visit(slot, p, parentId);
    walk(t.element, visit, p, slot.id);
  } else {
    const k = keyField(t);
    const v = valueField(t);
    visit(k, [...path, 'key'], parentId);
    walk(t.key, visit, [...path, 'key'], k.id);
    visit(v, [...path, 'value'], parentId);
    walk(t.value, visit, [...path, 'value'], v.id);
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
  walk(schema, (slot) => {
    out.set(slot.id, slot);
  });
  return out;
}

/** Maps each nested field id to the id of its parent field; top-level fields have no entry. */
export function indexParents(schema: IcebergType): Map<number, number> {
  const out = new Map<number, number>();
  walk(schema, (slot, _path, parent) => {
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
  walk(schema, (slot, path) => {
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
  walk(schema, (slot) => {
    if (slot.id > max) max = slot.id;
  });
  return max;
}

// ---------------------------------------------------------------------------------------------
// Fresh ids
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Type comparison and promotion
// ---------------------------------------------------------------------------------------------

function normalizePrimitive(t: PrimitiveType): string {
  try {
    return parsePrimitiveType(t);
  } catch {
    return t;
  }
}

/**
 * Structural type equality, ids included (as the reference implementation compares types).
 * Primitive spellings are compared after normalization (`decimal(9,2)` equals `decimal(9, 2)`).
 * Field docs and defaults are ignored.
 */
export function typesEqual(a: IcebergType, b: IcebergType): boolean {
  if (typeof a === 'string' || typeof b === 'string') {
    return typeof a === 'string' && typeof b === 'string' && normalizePrimitive(a) === normalizePrimitive(b);
  }
  if (a.type === 'struct' && b.type === 'struct') {
    return (
      a.fields.length === b.fields.length &&
      a.fields.every((f, i) => {
        const g = b.fields[i] as NestedField;
        return f.id === g.id && f.name === g.name && f.required === g.required && typesEqual(f.type, g.type);
      })
    );
  }
  if (a.type === 'list' && b.type === 'list') {
    return a['element-id'] === b['element-id'] && a['element-required'] === b['element-required'] && typesEqual(a.element, b.element);
  }
  if (a.type === 'map' && b.type === 'map') {
    return (
      a['key-id'] === b['key-id'] &&
      a['value-id'] === b['value-id'] &&
      a['value-required'] === b['value-required'] &&
      typesEqual(a.key, b.key) &&
      typesEqual(a.value, b.value)
    );
  }
  return false;
}

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
  const a = normalizePrimitive(from);
  const b = normalizePrimitive(to);
  if (a === b) return true;
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
// Evolution
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
  walk(f.type, (slot) => removed.add(slot.id));
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

// ---------------------------------------------------------------------------------------------
// Display
// ---------------------------------------------------------------------------------------------

/** One-line form of a type: `list<string>`, `map<string, long>`, `struct<1: a: required int>`. */
export function typeToString(t: IcebergType): string {
  if (typeof t === 'string') return t;
  if (t.type === 'struct') {
    return `struct<${t.fields.map((f) => `${f.id}: ${f.name}: ${f.required ? 'required' : 'optional'} ${typeToString(f.type)}`).join(', ')}>`;
  }
  if (t.type === 'list') return `list<${typeToString(t.element)}>`;
  return `map<${typeToString(t.key)}, ${typeToString(t.value)}>`;
}

/**
 * A readable, indented rendering of a schema (for `floe table describe`):
 * ```
 * table {
 *   1: id: required long
 *   2: location: optional struct {
 *     3: lat: required double
 *   }
 * }
 * ```
 */
export function schemaToString(schema: StructType): string {
  const lines: string[] = ['table {'];
  const describe = (t: IcebergType, indent: string, head: string): void => {
    if (isStruct(t)) {
      lines.push(`${head}struct {`);
      for (const f of t.fields) field(f, `${indent}  `);
      lines.push(`${indent}}`);
    } else if (isList(t) && !isPrimitive(t.element)) {
      lines.push(`${head}list<${t['element-id']}: element: ${t['element-required'] ? 'required' : 'optional'}>`);
      describe(t.element, `${indent}  `, `${indent}  element: `);
    } else if (isMap(t) && !isPrimitive(t.value)) {
      lines.push(`${head}map<${typeToString(t.key)}, ${t['value-id']}: value: ${t['value-required'] ? 'required' : 'optional'}>`);
      describe(t.value, `${indent}  `, `${indent}  value: `);
    } else {
      lines.push(`${head}${typeToString(t)}`);
    }
  };
  const field = (f: NestedField, indent: string): void => {
    const before = lines.length;
    describe(f.type, indent, `${indent}${f.id}: ${f.name}: ${f.required ? 'required' : 'optional'} `);
    const extras: string[] = [];
    if (f.doc) extras.push(`(${f.doc})`);
    if (f['initial-default'] !== undefined) extras.push(`default=${quote(f['initial-default'])}`);
    if (extras.length > 0) lines[before] = `${lines[before] as string} ${extras.join(' ')}`;
  };
  for (const f of schema.fields) field(f, '  ');
  lines.push('}');
  return lines.join('\n');
}
