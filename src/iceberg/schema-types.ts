/**
 * Iceberg data types (spec §Schemas and Data Types; JSON form in Appendix C): type guards, primitive
 * type strings (parsing and normalizing spellings, kind, decimal/fixed parameters), the types added
 * by format v3, and structural type equality.
 *
 * Types stay in their JSON shape (see `types.ts`). Parsing normalizes primitive spellings the way
 * the reference implementation writes them (`decimal(9, 2)`, `fixed[16]`, lower-case names), so two
 * parsed schemas can be compared structurally.
 */
import { fail, quote } from './schema-errors.js';
import type { IcebergType, ListType, MapType, NestedField, PrimitiveType, StructType } from './types.js';

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

const DECIMAL_RE = /^decimal\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)$/i;
const FIXED_RE = /^fixed\s*\[\s*(\d+)\s*\]$/i;
const GEOMETRY_RE = /^geometry\s*(?:\((.*)\))?$/i;
const GEOGRAPHY_RE = /^geography\s*(?:\((.*)\))?$/i;

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
// Type comparison
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
