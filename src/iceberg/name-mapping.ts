/**
 * Name mapping: the table property `schema.name-mapping.default` (`format/spec.md` §Column
 * Projection, Appendix C). It gives field ids to columns of data files written without them
 * (imported Parquet/Avro/ORC files), by name.
 *
 * A name may contain `.` and then names one field literally, so lookups take a path of names,
 * never a dotted string.
 */
import { ValidationError } from '../errors.js';
import { parseJson, stringifyJson } from './json.js';
import { isList, isMap, isStruct } from './schema-types.js';
import type { IcebergType, StructType } from './types.js';

/** Name of the table property holding the default name mapping. */
export const NAME_MAPPING_PROPERTY = 'schema.name-mapping.default';

/** One field mapping: the names a field may have in files, its id, and its children. */
export interface MappedField {
  'field-id'?: number;
  names: string[];
  fields?: MappedField[];
}

/** A name mapping: the mappings of the top-level fields. */
export type NameMapping = MappedField[];

function fail(what: string | undefined, msg: string): never {
  throw new ValidationError(`name-mapping: ${what ? `${what}: ` : ''}${msg}`);
}

function parseFields(json: unknown, what: string | undefined, path: string): MappedField[] {
  if (!Array.isArray(json)) return fail(what, `${path || 'mapping'} must be a list of field mappings`);
  const seen = new Set<string>();
  return json.map((fj, i): MappedField => {
    const at = `${path}[${i}]`;
    if (typeof fj !== 'object' || fj === null || Array.isArray(fj)) return fail(what, `${at} must be an object`);
    const o = fj as Record<string, unknown>;
    if (!Array.isArray(o.names) || o.names.some((n) => typeof n !== 'string')) return fail(what, `${at}: "names" must be a list of strings`);
    const names = [...(o.names as string[])];
    for (const n of names) {
      if (seen.has(n)) fail(what, `${at}: name ${JSON.stringify(n)} is mapped twice at the same level`);
      seen.add(n);
    }
    const out: MappedField = { names };
    const id = typeof o['field-id'] === 'bigint' ? Number(o['field-id']) : o['field-id'];
    if (id !== undefined && id !== null) {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) return fail(what, `${at}: "field-id" must be a non-negative int`);
      out['field-id'] = id;
    }
    if (o.fields !== undefined && o.fields !== null) {
      const label = names[0] ?? `#${i}`;
      out.fields = parseFields(o.fields, what, path ? `${path}.${label}` : label);
    }
    return out;
  });
}

/**
 * Parses a name mapping from JSON text (the property value) or an already-parsed JSON value.
 * Names must be unique among siblings.
 * @param what names the source in error messages
 */
export function parseNameMapping(json: unknown, what?: string): NameMapping {
  const value = typeof json === 'string' ? parseJson(json, what ?? NAME_MAPPING_PROPERTY) : json;
  return parseFields(value, what, '');
}

/** Serializes a name mapping to the property's JSON text (compact). */
export function serializeNameMapping(mapping: NameMapping): string {
  return stringifyJson(mapping);
}

function mapType(t: IcebergType): MappedField[] | undefined {
  if (typeof t === 'string') return undefined;
  if (isStruct(t)) return t.fields.map((f) => mappedField(f.id, f.name, f.type));
  if (isList(t)) return [mappedField(t['element-id'], 'element', t.element)];
  if (isMap(t)) return [mappedField(t['key-id'], 'key', t.key), mappedField(t['value-id'], 'value', t.value)];
  return undefined;
}

function mappedField(id: number, name: string, type: IcebergType): MappedField {
  const out: MappedField = { 'field-id': id, names: [name] };
  const children = mapType(type);
  if (children) out.fields = children;
  return out;
}

/** A name mapping with each field's current name (lists map `element`, maps `key` and `value`). */
export function nameMappingFromSchema(schema: StructType): NameMapping {
  return mapType(schema) ?? [];
}

/**
 * Updates a mapping after schema evolution, keeping every old name (files written before a rename
 * still use it): renamed fields gain their new name, added fields get entries, and mappings of
 * dropped fields are kept (old files still contain them).
 */
export function updateNameMapping(mapping: NameMapping, schema: StructType): NameMapping {
  const merge = (existing: MappedField[] | undefined, current: MappedField[] | undefined): MappedField[] | undefined => {
    if (!current) return existing;
    const out: MappedField[] = (existing ?? []).map((m) => ({ ...m, names: [...m.names] }));
    for (const cur of current) {
      const name = cur.names[0] as string;
      const match = out.find((m) => m['field-id'] !== undefined && m['field-id'] === cur['field-id']);
      if (match) {
        // A name now used by another field's current name must move: drop it from the old owner.
        for (const m of out) if (m !== match && m.names.includes(name)) m.names = m.names.filter((n) => n !== name);
        if (!match.names.includes(name)) match.names.push(name);
        const children = merge(match.fields, cur.fields);
        if (children) match.fields = children;
      } else {
        // The current field owns its name; an old (dropped) field's mapping gives it up.
        for (const m of out) if (m.names.includes(name)) m.names = m.names.filter((n) => n !== name);
        out.push(cur);
      }
    }
    return out;
  };
  return merge(mapping, nameMappingFromSchema(schema)) ?? [];
}

/**
 * A fast lookup from a file column's name path (e.g. `['location', 'lat']`, or
 * `['points', 'element', 'x']` for list elements) to its mapped field.
 */
export function nameMappingLookup(mapping: NameMapping): (path: readonly string[]) => MappedField | undefined {
  interface Level {
    byName: Map<string, { field: MappedField; children?: Level }>;
  }
  const build = (fields: MappedField[]): Level => {
    const byName = new Map<string, { field: MappedField; children?: Level }>();
    for (const f of fields) {
      const entry: { field: MappedField; children?: Level } = { field: f };
      if (f.fields) entry.children = build(f.fields);
      for (const n of f.names) byName.set(n, entry);
    }
    return { byName };
  };
  const root = build(mapping);
  return (path) => {
    let level: Level | undefined = root;
    let found: MappedField | undefined;
    for (const name of path) {
      const e: { field: MappedField; children?: Level } | undefined = level?.byName.get(name);
      if (!e) return undefined;
      found = e.field;
      level = e.children;
    }
    return found;
  };
}

/** The field id mapped to a file column's name path, or undefined when unmapped. */
export function mappedFieldId(mapping: NameMapping, path: readonly string[]): number | undefined {
  return nameMappingLookup(mapping)(path)?.['field-id'];
}
