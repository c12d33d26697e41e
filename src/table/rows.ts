/**
 * Rows given as plain JavaScript objects keyed by column name (what `Table.append` takes),
 * converted to the in-memory values of `IcebergValue` and checked against the table's schema.
 *
 * | column type | accepted values |
 * |---|---|
 * | boolean | boolean |
 * | int | integer number (or bigint) within 32 bits |
 * | long | bigint, safe integer number, integer string |
 * | float, double | number |
 * | decimal(P,S) | string (`"12.30"`, exact), number, bigint; more than S fraction digits or P digits is an error |
 * | date | Date (its UTC day), `YYYY-MM-DD` |
 * | time | `HH:MM[:SS[.ffffff]]`, bigint microseconds since midnight |
 * | timestamp, timestamptz (_ns) | Date, ISO-8601 string (no zone = UTC, an offset is converted to UTC), bigint µs (ns) since the epoch |
 * | string | string |
 * | uuid | string in 8-4-4-4-12 form |
 * | binary, fixed[L] | Uint8Array (a Buffer is one); fixed needs exactly L bytes |
 * | struct | object keyed by field name |
 * | list | array |
 * | map | Map, or an object when the key type is string |
 *
 * null or a missing key is null (an error for a required column). Keys that name no column are
 * errors, not silently dropped (a typo would otherwise lose a column). Errors name the row index
 * and the column: `table: row 3, column 'ts': expected a Date or ISO-8601 string, got 12`.
 */
import { ValidationError } from '../errors.js';
import { daysFromCivil } from '../iceberg/conversions.js';
import { decimalParams, fixedLength } from '../iceberg/schema-types.js';
import type { IcebergType, IcebergValue, PrimitiveType, Schema, StructType } from '../iceberg/types.js';
import { ColumnBatchBuilder, type ColumnBatch } from '../data/column-batch.js';

/** Converts one value; `path` names the column (`geo.lat`, `tags[2]`) in errors. */
type Convert = (v: unknown, path: string) => IcebergValue;

/** Thrown inside a row, turned into the row's error by {@link rowsToBatch}. */
class CellError extends Error {
  constructor(
    readonly path: string,
    readonly detail: string,
  ) {
    super(detail);
  }
}

function fail(path: string, detail: string): never {
  throw new CellError(path, detail);
}

/** A short description of a value for error messages. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'an invalid Date' : `Date ${v.toISOString()}`;
  if (v instanceof Uint8Array) return `a Uint8Array of ${v.length} bytes`;
  if (v instanceof Map) return 'a Map';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'symbol') return 'a symbol';
  return 'an object';
}

const INT_MIN = -(2 ** 31);
const INT_MAX = 2 ** 31 - 1;
const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;
const FLOAT_MAX = 3.4028234663852886e38;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE_RE = /^([+-]?\d{4,6})-(\d\d)-(\d\d)$/;
const TIME_RE = /^(\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,9}))?)?$/;
const TIMESTAMP_RE = /^([+-]?\d{4,6})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d{1,9}))?)?)?(Z|z|[+-]\d\d(?::?\d\d)?)?$/;
const DECIMAL_RE = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** An object whose own keys name fields (a plain object or a class instance; not a Date, Map, array, bytes). */
function isRecord(v: unknown): v is Record<string, unknown> {
  return (
    typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date) && !(v instanceof Map) && !(v instanceof Set) && !ArrayBuffer.isView(v) && !(v instanceof ArrayBuffer)
  );
}

/** Days since the epoch of a valid civil date, or undefined (2026-02-30, month 13). */
function civilDays(year: number, month: number, day: number): number | undefined {
  if (month < 1 || month > 12 || day < 1) return undefined;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const dim = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
  return day > dim ? undefined : daysFromCivil(year, month, day);
}

/** Units since midnight of `HH`, `MM`, `SS` and fraction digits, or undefined when out of range. */
function timeOfDay(h: string, mi: string, s: string, frac: string, perSecond: bigint, digits: number): bigint | undefined {
  const hh = Number(h);
  const mm = Number(mi);
  const ss = Number(s);
  if (hh > 23 || mm > 59 || ss > 59) return undefined;
  return BigInt((hh * 60 + mm) * 60 + ss) * perSecond + BigInt(frac.padEnd(digits, '0').slice(0, digits) || '0');
}

/** Epoch units of an ISO-8601 date or date-time; no zone is UTC. Undefined when not one. */
function parseIsoTimestamp(text: string, perSecond: bigint, digits: number): bigint | undefined {
  const m = TIMESTAMP_RE.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h = '00', mi = '00', s = '00', frac = '', zone] = m;
  const days = civilDays(Number(y), Number(mo), Number(d));
  const tod = timeOfDay(h, mi, s, frac, perSecond, digits);
  if (days === undefined || tod === undefined) return undefined;
  let value = BigInt(days) * 86_400n * perSecond + tod;
  if (zone && zone !== 'Z' && zone !== 'z') {
    const digitsOnly = zone.slice(1).replace(':', '');
    const oh = Number(digitsOnly.slice(0, 2));
    const om = Number(digitsOnly.slice(2, 4) || '0');
    if (oh > 23 || om > 59) return undefined;
    const offset = BigInt(oh * 3600 + om * 60) * perSecond;
    value += zone.startsWith('-') ? offset : -offset;
  }
  return value;
}

/** The unscaled value of decimal text at `scale` within `precision` digits, or an error text. */
function parseDecimalText(text: string, precision: number, scale: number): bigint | string {
  const m = DECIMAL_RE.exec(text.trim());
  if (!m || ((m[2] ?? '') === '' && (m[3] ?? '') === '')) return 'not a decimal number';
  const [, sign, intPart = '', fracPart = '', exp] = m;
  let digits = (intPart + fracPart).replace(/^0+/, '');
  if (digits === '') return 0n;
  const shift = (exp ? Number(exp) : 0) - fracPart.length + scale; // unscaled = digits * 10^shift
  if (digits.length + shift > precision) return `more than ${precision} digits`;
  if (shift >= 0) digits += '0'.repeat(shift);
  else {
    if (/[1-9]/.test(digits.slice(digits.length + shift))) return `more than ${scale} fraction digits`;
    digits = digits.slice(0, digits.length + shift) || '0';
  }
  const unscaled = BigInt(digits);
  if (unscaled >= 10n ** BigInt(precision)) return `more than ${precision} digits`;
  return sign === '-' ? -unscaled : unscaled;
}

function timestampConverter(type: PrimitiveType): Convert {
  const nanos = type === 'timestamp_ns' || type === 'timestamptz_ns';
  const perSecond = nanos ? 1_000_000_000n : 1_000_000n;
  const unit = nanos ? 'nanoseconds' : 'microseconds';
  return (v, path) => {
    let r: bigint | undefined;
    if (v instanceof Date) {
      const ms = v.getTime();
      if (Number.isNaN(ms)) fail(path, `expected a Date or ISO-8601 string, got an invalid Date`);
      r = BigInt(ms) * (perSecond / 1000n);
    } else if (typeof v === 'string') {
      r = parseIsoTimestamp(v, perSecond, nanos ? 9 : 6);
      if (r === undefined) fail(path, `expected a Date or ISO-8601 string, got ${describeValue(v)} (not a valid ISO-8601 date-time)`);
    } else if (typeof v === 'bigint') {
      r = v; // already in the column's unit
    } else {
      fail(path, `expected a Date or ISO-8601 string, got ${describeValue(v)}`);
    }
    if (r < LONG_MIN || r > LONG_MAX) fail(path, `${describeValue(v)} is out of range for ${type} (64-bit ${unit})`);
    return r;
  };
}

function primitiveConverter(type: PrimitiveType): Convert {
  const dec = decimalParams(type);
  if (dec) {
    return (v, path) => {
      let text: string;
      if (typeof v === 'string') text = v;
      else if (typeof v === 'bigint') text = v.toString();
      else if (typeof v === 'number' && Number.isFinite(v)) text = String(v);
      else return fail(path, `expected a decimal string (e.g. "12.30"), number or bigint for ${type}, got ${describeValue(v)}`);
      const r = parseDecimalText(text, dec.precision, dec.scale);
      if (typeof r === 'string') fail(path, `cannot store ${describeValue(v)} in ${type} exactly: ${r}`);
      return r;
    };
  }
  const fixed = fixedLength(type);
  if (fixed !== undefined) {
    return (v, path) => {
      if (!(v instanceof Uint8Array) || v.length !== fixed) fail(path, `expected a Uint8Array of ${fixed} bytes for ${type}, got ${describeValue(v)}`);
      return v;
    };
  }
  switch (type) {
    case 'boolean':
      return (v, path) => (typeof v === 'boolean' ? v : fail(path, `expected a boolean, got ${describeValue(v)}`));
    case 'int':
      return (v, path) => {
        if (typeof v === 'bigint' && (v < BigInt(INT_MIN) || v > BigInt(INT_MAX))) fail(path, `${describeValue(v)} is out of range for int (32 bits)`);
        const n = typeof v === 'bigint' ? Number(v) : v;
        if (typeof n !== 'number' || !Number.isInteger(n)) return fail(path, `expected an integer number for int, got ${describeValue(v)}`);
        if (n < INT_MIN || n > INT_MAX) fail(path, `${describeValue(v)} is out of range for int (32 bits)`);
        return n;
      };
    case 'long':
      return (v, path) => {
        let r: bigint;
        if (typeof v === 'bigint') r = v;
        else if (typeof v === 'number' && Number.isSafeInteger(v)) r = BigInt(v);
        else if (typeof v === 'number' && Number.isInteger(v)) return fail(path, `${describeValue(v)} is beyond 2^53 and may have been rounded: pass a bigint for long`);
        else if (typeof v === 'string' && /^\s*[+-]?\d+\s*$/.test(v)) r = BigInt(v.trim());
        else return fail(path, `expected a bigint or an integer number for long, got ${describeValue(v)}`);
        if (r < LONG_MIN || r > LONG_MAX) fail(path, `${describeValue(v)} is out of range for long (64 bits)`);
        return r;
      };
    case 'float':
    case 'double':
      return (v, path) => {
        if (typeof v !== 'number') return fail(path, `expected a number for ${type}, got ${describeValue(v)}`);
        if (type === 'float' && Number.isFinite(v) && Math.abs(v) > FLOAT_MAX) fail(path, `${v} is out of range for float`);
        return v;
      };
    case 'date':
      return (v, path) => {
        if (v instanceof Date) {
          const ms = v.getTime();
          if (Number.isNaN(ms)) fail(path, 'expected a Date or YYYY-MM-DD string, got an invalid Date');
          return Math.floor(ms / 86_400_000);
        }
        const m = typeof v === 'string' ? DATE_RE.exec(v.trim()) : null;
        const days = m ? civilDays(Number(m[1]), Number(m[2]), Number(m[3])) : undefined;
        if (days === undefined) fail(path, `expected a Date or YYYY-MM-DD string, got ${describeValue(v)}`);
        return days;
      };
    case 'time':
      return (v, path) => {
        if (typeof v === 'bigint') {
          if (v < 0n || v >= 86_400_000_000n) fail(path, `${describeValue(v)} is not a time of day in microseconds`);
          return v;
        }
        const m = typeof v === 'string' ? TIME_RE.exec(v.trim()) : null;
        const r = m ? timeOfDay(m[1]!, m[2]!, m[3] ?? '0', m[4] ?? '', 1_000_000n, 6) : undefined;
        if (r === undefined) fail(path, `expected an HH:MM[:SS[.ffffff]] string or bigint microseconds, got ${describeValue(v)}`);
        return r;
      };
    case 'timestamp':
    case 'timestamptz':
    case 'timestamp_ns':
    case 'timestamptz_ns':
      return timestampConverter(type);
    case 'string':
      return (v, path) => (typeof v === 'string' ? v : fail(path, `expected a string, got ${describeValue(v)}`));
    case 'uuid':
      return (v, path) => {
        if (typeof v !== 'string' || !UUID_RE.test(v)) fail(path, `expected a UUID string (8-4-4-4-12 hex digits), got ${describeValue(v)}`);
        return v.toLowerCase();
      };
    case 'binary':
      return (v, path) => (v instanceof Uint8Array ? v : fail(path, `expected a Uint8Array for binary, got ${describeValue(v)}`));
    default:
      return (_v, path) => fail(path, `columns of type ${type} cannot be written`);
  }
}

/** Null handling around a converter: null/undefined is null, unless `required`. */
function nullable(convert: Convert, required: boolean): Convert {
  return (v, path) => {
    if (v === null || v === undefined) {
      if (required) fail(path, `required, got ${describeValue(v)}`);
      return null;
    }
    return convert(v, path);
  };
}

/** The converter of a struct's fields from an object keyed by field name. */
function structConverter(struct: StructType): (v: Record<string, unknown>, prefix: string) => IcebergValue[] {
  const fields = struct.fields.map((f) => ({ name: f.name, convert: nullable(converterFor(f.type), f.required) }));
  const names = new Set(struct.fields.map((f) => f.name));
  return (obj, prefix) => {
    for (const key of Object.keys(obj)) {
      if (!names.has(key)) {
        const known = struct.fields.map((f) => f.name).join(', ');
        fail(prefix ? `${prefix}.${key}` : key, `no such ${prefix ? 'field' : 'column'} (${prefix ? `fields of '${prefix}'` : 'columns'}: ${known})`);
      }
    }
    return fields.map(({ name, convert }) => convert(obj[name], prefix ? `${prefix}.${name}` : name));
  };
}

function converterFor(type: IcebergType): Convert {
  if (typeof type === 'string') return primitiveConverter(type);
  if (type.type === 'struct') {
    const convert = structConverter(type);
    return (v, path) => {
      if (!isRecord(v)) fail(path, `expected an object keyed by field name, got ${describeValue(v)}`);
      return convert(v, path);
    };
  }
  if (type.type === 'list') {
    const element = nullable(converterFor(type.element), type['element-required']);
    return (v, path) => {
      if (!Array.isArray(v)) fail(path, `expected an array, got ${describeValue(v)}`);
      return v.map((x, i) => element(x, `${path}[${i}]`));
    };
  }
  const key = converterFor(type.key);
  const value = nullable(converterFor(type.value), type['value-required']);
  const stringKeys = type.key === 'string';
  return (v, path) => {
    let entries: Iterable<[unknown, unknown]>;
    if (v instanceof Map) entries = v.entries();
    else if (stringKeys && isRecord(v)) entries = Object.entries(v);
    else return fail(path, `expected a Map${stringKeys ? ' or an object' : ''}, got ${describeValue(v)}`);
    const out = new Map<IcebergValue, IcebergValue>();
    for (const [k, x] of entries) {
      if (k === null || k === undefined) fail(`${path}{}`, 'map keys must not be null');
      const ck = key(k, `${path}{${describeValue(k)}}`);
      out.set(ck, value(x, `${path}{${describeValue(k)}}`));
    }
    return out;
  };
}

/**
 * Makes the converter of rows for `schema`: each row, an object keyed by top-level column name,
 * becomes its values in schema field order (for `ColumnBatchBuilder.append`). Errors are
 * ValidationErrors naming the row index and the column.
 */
export function rowConverter(schema: Schema): (row: unknown, index: number) => IcebergValue[] {
  const convert = structConverter(schema);
  return (row, index) => {
    if (!isRecord(row)) {
      throw new ValidationError(`table: row ${index}: expected an object keyed by column name, got ${describeValue(row)}`);
    }
    try {
      return convert(row, '');
    } catch (e) {
      if (e instanceof CellError) throw new ValidationError(`table: row ${index}, column '${e.path}': ${e.detail}`);
      throw e;
    }
  };
}

/** Converts rows given as plain objects (see the module comment for the accepted values) to a batch. */
export function rowsToBatch(schema: Schema, rows: Iterable<object>): ColumnBatch {
  const convert = rowConverter(schema);
  const builder = new ColumnBatchBuilder(schema);
  let index = 0;
  for (const row of rows) builder.append(convert(row, index++));
  return builder.build();
}
