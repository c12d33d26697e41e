/**
 * Parsing and validation of types and schemas from their JSON form (spec Appendix C): every type
 * parses, ids are unique at all nesting levels, names are unique within each struct, default
 * values match their types (spec §Default values), identifier fields follow §Identifier Field IDs.
 */
import { fromJsonValue } from './conversions.js';
import { fail, quote } from './schema-errors.js';
import { columnName, indexById, indexParents, walkFields } from './schema-index.js';
import { isPrimitive, isStruct, parsePrimitiveType, primitiveKind, type PrimitiveKind } from './schema-types.js';
import type { IcebergType, NestedField, Schema, StructType } from './types.js';

/** Kinds whose values cannot have non-null defaults (spec §Default values). */
const NULL_DEFAULT_ONLY_KINDS: ReadonlySet<PrimitiveKind> = new Set<PrimitiveKind>([
  'unknown',
  'variant',
  'geometry',
  'geography',
]);

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

/**
 * Checks a default value (`initial-default` / `write-default`, JSON single-value form) against its
 * field's type.
 * @throws ValidationError prefixed `schema:`
 */
export function checkDefault(f: NestedField, key: 'initial-default' | 'write-default', what: string | undefined, path: string): void {
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
  walkFields(t, (slot, path) => {
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
