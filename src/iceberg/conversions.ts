/**
 * Single-value serializations (`format/spec.md` Appendix D) and value ordering.
 *
 * - Binary: used for column bounds and partition summaries in manifests.
 * - JSON: used for default values, REST payloads and partition values in JSON. Geometry and
 *   geography values are WKT text there and pass through unchanged (floe does not decode them).
 *
 * Values use the in-memory representation documented on `IcebergValue` (`types.ts`). Inputs are
 * accepted a little more loosely than they are produced (a safe-integer `number` where a `bigint`
 * is expected, a decimal string with fewer fraction digits than the scale, any zone offset on a
 * `timestamptz`); outputs are always canonical.
 */
import { UnsupportedError, ValidationError } from '../errors.js';
import { decimalParams, fixedLength, isPrimitive, primitiveKind } from './schema-types.js';
import type { IcebergType, IcebergValue, NestedField, PrimitiveType } from './types.js';

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8');

const MICROS_PER_DAY = 86_400_000_000n;
const NANOS_PER_DAY = 86_400_000_000_000n;

function fail(msg: string): never {
  throw new ValidationError(`conversions: ${msg}`);
}

function show(v: unknown): string {
  if (v instanceof Uint8Array) return `bytes[${v.length}]`;
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  if (v instanceof Map) return `Map(${v.size})`;
  if (Array.isArray(v)) return `array[${v.length}]`;
  return String(v);
}

// ---------------------------------------------------------------------------------------------
// Value coercion (IcebergValue → the JS type a kind uses)
// ---------------------------------------------------------------------------------------------

function asBigInt(v: IcebergValue, type: string): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  return fail(`expected a bigint for ${type}, got ${show(v)}`);
}

function asInt32(v: IcebergValue, type: string): number {
  const n = typeof v === 'bigint' && v >= -2147483648n && v <= 2147483647n ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < -2147483648 || n > 2147483647) {
    return fail(`expected a 32-bit integer number for ${type}, got ${show(v)}`);
  }
  return n;
}

function asLong(v: IcebergValue, type: string): bigint {
  const b = asBigInt(v, type);
  if (b !== BigInt.asIntN(64, b)) fail(`${type} value ${b} does not fit in 64 bits`);
  return b;
}

function asNumber(v: IcebergValue, type: string): number {
  if (typeof v !== 'number') return fail(`expected a number for ${type}, got ${show(v)}`);
  return v;
}

function asBytes(v: IcebergValue, type: string): Uint8Array {
  if (!(v instanceof Uint8Array)) return fail(`expected a Uint8Array for ${type}, got ${show(v)}`);
  return v;
}

function asString(v: IcebergValue, type: string): string {
  if (typeof v !== 'string') return fail(`expected a string for ${type}, got ${show(v)}`);
  return v;
}

function checkDecimal(unscaled: bigint, type: PrimitiveType): bigint {
  const p = decimalParams(type);
  if (p) {
    const digits = (unscaled < 0n ? -unscaled : unscaled).toString().length;
    if (unscaled !== 0n && digits > p.precision) {
      fail(`decimal value with unscaled ${unscaled} exceeds the precision of ${type}`);
    }
  }
  return unscaled;
}

// ---------------------------------------------------------------------------------------------
// Byte helpers (exported for transforms and bounds)
// ---------------------------------------------------------------------------------------------

/** UTF-8 bytes of a string. */
export function utf8Bytes(s: string): Uint8Array {
  return utf8Encoder.encode(s);
}

/**
 * The minimal two's-complement big-endian bytes of an integer (Java `BigInteger.toByteArray()`):
 * 0 → `00`, 127 → `7f`, 128 → `0080`, -128 → `80`.
 */
export function minimalBigEndian(v: bigint): Uint8Array {
  let n = 1;
  while (v < -(1n << BigInt(8 * n - 1)) || v >= 1n << BigInt(8 * n - 1)) n++;
  const out = new Uint8Array(n);
  let x = BigInt.asUintN(8 * n, v);
  for (let i = n - 1; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

/** Reads a two's-complement big-endian integer of any length (the inverse of {@link minimalBigEndian}). */
export function bigEndianToBigInt(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  if (bytes.length > 0 && ((bytes[0] as number) & 0x80) !== 0) v -= 1n << BigInt(8 * bytes.length);
  return v;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The 16 big-endian bytes of a UUID string. */
export function uuidToBytes(s: string): Uint8Array {
  if (!UUID_RE.test(s)) fail(`invalid uuid ${show(s)}`);
  return hexToBytes(s.replace(/-/g, ''));
}

/** The canonical lowercase string of 16 UUID bytes. */
export function bytesToUuid(b: Uint8Array): string {
  if (b.length !== 16) fail(`uuid must be 16 bytes, got ${b.length}`);
  const h = bytesToHex(b);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Lowercase hex of bytes. */
export function bytesToHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

/** Bytes of a hex string (either case). */
export function hexToBytes(s: string): Uint8Array {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) fail(`invalid hex string ${show(s)}`);
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Calendar helpers (proleptic Gregorian, as java.time)
// ---------------------------------------------------------------------------------------------

/** Days since 1970-01-01 of a civil date (month 1–12). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Civil date `[year, month 1–12, day]` of a day count since 1970-01-01. */
export function civilFromDays(days: number): [number, number, number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

/** Floor division for bigint (rounds toward negative infinity, unlike `/`). */
export function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
}

function pad(n: number | bigint, width: number): string {
  return n.toString().padStart(width, '0');
}

/** ISO year as java.time prints it: 4 digits, a sign when negative, `+` beyond 9999. */
function isoYear(y: number): string {
  if (y > 9999) return `+${y}`;
  if (y < 0) return `-${pad(-y, 4)}`;
  return pad(y, 4);
}

/** ISO date (`2017-11-16`) of a day count. */
export function formatDate(days: number): string {
  const [y, m, d] = civilFromDays(days);
  return `${isoYear(y)}-${pad(m, 2)}-${pad(d, 2)}`;
}

/** `HH:MM:SS` plus a fraction of exactly `digits` digits (6 for µs, 9 for ns). */
function formatTimeOfDay(unitsOfDay: bigint, unitsPerSecond: bigint, digits: number): string {
  const secs = unitsOfDay / unitsPerSecond;
  const frac = unitsOfDay % unitsPerSecond;
  const h = secs / 3600n;
  const m = (secs / 60n) % 60n;
  const s = secs % 60n;
  return `${pad(h, 2)}:${pad(m, 2)}:${pad(s, 2)}.${pad(frac, digits)}`;
}

/** ISO time of day with microseconds (`22:31:08.123456`). */
export function formatTime(micros: bigint): string {
  if (micros < 0n || micros >= MICROS_PER_DAY) fail(`time value ${micros} µs is outside one day`);
  return formatTimeOfDay(micros, 1_000_000n, 6);
}

/** ISO local timestamp from epoch units (`2017-11-16T22:31:08.123456`); `unitsPerSecond` 1e6 or 1e9. */
export function formatTimestamp(value: bigint, unitsPerSecond: 1_000_000n | 1_000_000_000n): string {
  const perDay = unitsPerSecond * 86_400n;
  const days = floorDiv(value, perDay);
  const rest = value - days * perDay;
  return `${formatDate(Number(days))}T${formatTimeOfDay(rest, unitsPerSecond, unitsPerSecond === 1_000_000n ? 6 : 9)}`;
}

const DATE_RE = /^([+-]?\d{4,9})-(\d{2})-(\d{2})$/;
const TIME_RE = /^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$/;
const OFFSET_RE = /(Z|[+-]\d{2}:\d{2}(?::\d{2})?)$/i;

/** Day count of an ISO date (`2017-11-16`). */
export function parseDate(s: string): number {
  const m = DATE_RE.exec(s);
  if (!m) return fail(`invalid date ${show(s)}: expected YYYY-MM-DD`);
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  const dim = [31, y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  if (mo < 1 || mo > 12 || d < 1 || d > (dim[mo - 1] as number)) fail(`invalid date ${show(s)}`);
  return daysFromCivil(y, mo, d);
}

/** Units since midnight of an ISO time; extra fraction digits beyond the unit are truncated. */
function parseTimeOfDay(s: string, unitsPerSecond: bigint, digits: number, what: string): bigint {
  const m = TIME_RE.exec(s);
  if (!m) return fail(`invalid ${what} ${show(s)}: expected HH:MM[:SS[.fraction]]`);
  const h = BigInt(m[1] as string);
  const mi = BigInt(m[2] as string);
  const sec = BigInt(m[3] ?? '0');
  if (h > 23n || mi > 59n || sec > 59n) fail(`invalid ${what} ${show(s)}`);
  const frac = BigInt((m[4] ?? '').padEnd(9, '0').slice(0, digits) || '0');
  return ((h * 60n + mi) * 60n + sec) * unitsPerSecond + frac;
}

/** Microseconds since midnight of an ISO time (`22:31:08.123456`). */
export function parseTime(s: string): bigint {
  return parseTimeOfDay(s, 1_000_000n, 6, 'time');
}

/**
 * Epoch units of an ISO timestamp. With `zoned`, an offset is required (any offset is converted to
 * UTC; writers use `+00:00`); without it, an offset is an error.
 */
export function parseTimestamp(s: string, unitsPerSecond: 1_000_000n | 1_000_000_000n, zoned: boolean): bigint {
  const what = zoned ? 'timestamptz' : 'timestamp';
  const t = s.indexOf('T');
  if (t < 0) return fail(`invalid ${what} ${show(s)}: expected YYYY-MM-DDTHH:MM:SS[.fraction]${zoned ? '+00:00' : ''}`);
  let timePart = s.slice(t + 1);
  let offsetSeconds = 0n;
  const om = OFFSET_RE.exec(timePart);
  if (om) {
    if (!zoned) fail(`invalid ${what} ${show(s)}: must not include a zone offset`);
    timePart = timePart.slice(0, om.index);
    const o = om[1] as string;
    if (o.toUpperCase() !== 'Z') {
      const [hh, mm, ss] = o.slice(1).split(':').map((x) => BigInt(x));
      offsetSeconds = ((hh as bigint) * 3600n + (mm as bigint) * 60n + (ss ?? 0n)) * (o[0] === '-' ? -1n : 1n);
    }
  } else if (zoned) {
    fail(`invalid ${what} ${show(s)}: must include a zone offset (+00:00)`);
  }
  const days = BigInt(parseDate(s.slice(0, t)));
  const digits = unitsPerSecond === 1_000_000n ? 6 : 9;
  const tod = parseTimeOfDay(timePart, unitsPerSecond, digits, what);
  return days * unitsPerSecond * 86_400n + tod - offsetSeconds * unitsPerSecond;
}

// ---------------------------------------------------------------------------------------------
// Decimal text
// ---------------------------------------------------------------------------------------------

/** Plain decimal text of an unscaled value at a scale (`1420n, 2` → `"14.20"`). */
export function formatDecimal(unscaled: bigint, scale: number): string {
  if (scale <= 0) return (unscaled * 10n ** BigInt(-scale)).toString();
  const neg = unscaled < 0n;
  const digits = (neg ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  return `${neg ? '-' : ''}${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}

/**
 * Parses decimal text (plain or scientific, `"14.20"`, `"2E+20"`) into an unscaled value at
 * `scale`. Text with fewer fraction digits than the scale is accepted; text that cannot be
 * represented exactly at the scale is an error.
 */
export function parseDecimal(s: string, scale: number): bigint {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(s.trim());
  if (!m || ((m[2] ?? '') === '' && (m[3] ?? '') === '')) return fail(`invalid decimal ${show(s)}`);
  const intPart = m[2] ?? '';
  const fracPart = m[3] ?? '';
  const exp = Number(m[4] ?? '0');
  let unscaled = BigInt(`${intPart}${fracPart}` || '0');
  // value = unscaled * 10^(exp - fracPart.length); rescale to `scale`.
  const shift = exp - fracPart.length + scale;
  if (shift >= 0) {
    unscaled *= 10n ** BigInt(shift);
  } else {
    const div = 10n ** BigInt(-shift);
    if (unscaled % div !== 0n) fail(`decimal ${show(s)} has more than ${scale} fraction digits`);
    unscaled /= div;
  }
  return m[1] === '-' ? -unscaled : unscaled;
}

// ---------------------------------------------------------------------------------------------
// Binary single-value serialization
// ---------------------------------------------------------------------------------------------

function le(size: 4 | 8, write: (v: DataView) => void): Uint8Array {
  const b = new Uint8Array(size);
  write(new DataView(b.buffer));
  return b;
}

/**
 * Serializes a primitive value with Appendix D's binary single-value serialization.
 * @throws UnsupportedError for types without one (unknown, variant, geometry, geography)
 */
export function toBinary(type: PrimitiveType, v: IcebergValue): Uint8Array {
  if (v === null) return fail(`cannot serialize null as ${type}`);
  const kind = primitiveKind(type);
  switch (kind) {
    case 'boolean':
      if (typeof v !== 'boolean') return fail(`expected a boolean for boolean, got ${show(v)}`);
      return Uint8Array.of(v ? 1 : 0);
    case 'int':
    case 'date': {
      const n = asInt32(v, type);
      return le(4, (d) => d.setInt32(0, n, true));
    }
    case 'long':
    case 'time':
    case 'timestamp':
    case 'timestamptz':
    case 'timestamp_ns':
    case 'timestamptz_ns': {
      const n = asLong(v, type);
      return le(8, (d) => d.setBigInt64(0, n, true));
    }
    case 'float': {
      const n = asNumber(v, type);
      return le(4, (d) => d.setFloat32(0, n, true));
    }
    case 'double': {
      const n = asNumber(v, type);
      return le(8, (d) => d.setFloat64(0, n, true));
    }
    case 'string':
      return utf8Bytes(asString(v, type));
    case 'uuid':
      return uuidToBytes(asString(v, type));
    case 'fixed': {
      const b = asBytes(v, type);
      const len = fixedLength(type);
      if (b.length !== len) fail(`${type} value must be ${len} bytes, got ${b.length}`);
      return b.slice();
    }
    case 'binary':
      return asBytes(v, type).slice();
    case 'decimal':
      return minimalBigEndian(checkDecimal(asBigInt(v, type), type));
    default:
      throw new UnsupportedError(`conversions: binary serialization of ${type} values is not supported`);
  }
}

/**
 * Deserializes Appendix D binary single values. Bounds written before a type promotion keep their
 * old width (spec §Schema Evolution), so shorter encodings are read as the original type and
 * converted: a 4-byte `long` is an int, a 4-byte `double` a float, a 4-byte timestamp a date.
 * @throws UnsupportedError for types without a binary serialization
 */
export function fromBinary(type: PrimitiveType, bytes: Uint8Array): IcebergValue {
  const kind = primitiveKind(type);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (n: number) => {
    if (bytes.length !== n) fail(`${type} value must be ${n} bytes, got ${bytes.length}`);
  };
  switch (kind) {
    case 'boolean':
      need(1);
      return bytes[0] !== 0;
    case 'int':
    case 'date':
      need(4);
      return view.getInt32(0, true);
    case 'long':
    case 'time':
      if (kind === 'long' && bytes.length === 4) return BigInt(view.getInt32(0, true));
      need(8);
      return view.getBigInt64(0, true);
    case 'timestamp':
    case 'timestamptz':
      if (bytes.length === 4) return BigInt(view.getInt32(0, true)) * MICROS_PER_DAY;
      need(8);
      return view.getBigInt64(0, true);
    case 'timestamp_ns':
    case 'timestamptz_ns':
      if (bytes.length === 4) return BigInt(view.getInt32(0, true)) * NANOS_PER_DAY;
      need(8);
      return view.getBigInt64(0, true);
    case 'float':
      need(4);
      return view.getFloat32(0, true);
    case 'double':
      if (bytes.length === 4) return view.getFloat32(0, true);
      need(8);
      return view.getFloat64(0, true);
    case 'string':
      return utf8Decoder.decode(bytes);
    case 'uuid':
      return bytesToUuid(bytes);
    case 'fixed':
    case 'binary':
      return bytes.slice();
    case 'decimal':
      if (bytes.length === 0) return fail(`${type} value must have at least one byte`);
      return bigEndianToBigInt(bytes);
    default:
      throw new UnsupportedError(`conversions: binary serialization of ${type} values is not supported`);
  }
}

// ---------------------------------------------------------------------------------------------
// JSON single-value serialization
// ---------------------------------------------------------------------------------------------

/** Shortest decimal text that reads back as the same float32 (JSON would otherwise print the double). */
function shortestFloat(n: number): number {
  if (!Number.isFinite(n)) return n;
  const f = Math.fround(n);
  for (let p = 1; p <= 9; p++) {
    const c = Number(f.toPrecision(p));
    if (Math.fround(c) === f) return c;
  }
  return f;
}

function floatToJson(n: number, float: boolean): number | string {
  // JSON has no NaN/Infinity; write them as strings (what Jackson-style readers accept with quotes).
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return 'Infinity';
  if (n === -Infinity) return '-Infinity';
  return float ? shortestFloat(n) : n;
}

function jsonToFloat(j: unknown, type: string): number {
  if (typeof j === 'number') return type === 'float' ? Math.fround(j) : j;
  if (typeof j === 'bigint') return Number(j);
  if (j === 'NaN') return NaN;
  if (j === 'Infinity') return Infinity;
  if (j === '-Infinity') return -Infinity;
  return fail(`expected a JSON number for ${type}, got ${show(j)}`);
}

/**
 * Serializes a value with Appendix D's JSON single-value serialization. `long` values are returned
 * as `number` when safe and `bigint` otherwise (write them with `stringifyJson`).
 */
export function toJsonValue(type: IcebergType, v: IcebergValue): unknown {
  if (v === null) return null;
  if (!isPrimitive(type)) {
    if (type.type === 'struct') {
      if (!Array.isArray(v)) return fail(`expected an array of field values for struct, got ${show(v)}`);
      if (v.length !== type.fields.length) fail(`struct value has ${v.length} values for ${type.fields.length} fields`);
      const out: Record<string, unknown> = {};
      type.fields.forEach((f: NestedField, i) => {
        const fv = v[i] as IcebergValue;
        if (fv !== null) out[String(f.id)] = toJsonValue(f.type, fv);
      });
      return out;
    }
    if (type.type === 'list') {
      if (!Array.isArray(v)) return fail(`expected an array for list, got ${show(v)}`);
      return v.map((x) => toJsonValue(type.element, x));
    }
    if (!(v instanceof Map)) return fail(`expected a Map for map, got ${show(v)}`);
    const keys: unknown[] = [];
    const values: unknown[] = [];
    for (const [k, x] of v) {
      keys.push(toJsonValue(type.key, k));
      values.push(toJsonValue(type.value, x));
    }
    return { keys, values };
  }
  const kind = primitiveKind(type);
  switch (kind) {
    case 'boolean':
      if (typeof v !== 'boolean') return fail(`expected a boolean for boolean, got ${show(v)}`);
      return v;
    case 'int':
      return asInt32(v, type);
    case 'long': {
      const b = asLong(v, type);
      return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
    }
    case 'float':
      return floatToJson(asNumber(v, type), true);
    case 'double':
      return floatToJson(asNumber(v, type), false);
    case 'decimal': {
      const p = decimalParams(type) as { scale: number };
      return formatDecimal(checkDecimal(asBigInt(v, type), type), p.scale);
    }
    case 'date':
      return formatDate(asInt32(v, type));
    case 'time':
      return formatTime(asLong(v, type));
    case 'timestamp':
      return formatTimestamp(asLong(v, type), 1_000_000n);
    case 'timestamptz':
      return `${formatTimestamp(asLong(v, type), 1_000_000n)}+00:00`;
    case 'timestamp_ns':
      return formatTimestamp(asLong(v, type), 1_000_000_000n);
    case 'timestamptz_ns':
      return `${formatTimestamp(asLong(v, type), 1_000_000_000n)}+00:00`;
    case 'string':
      return asString(v, type);
    case 'uuid': {
      const s = asString(v, type);
      if (!UUID_RE.test(s)) fail(`invalid uuid ${show(s)}`);
      return s.toLowerCase();
    }
    case 'fixed':
    case 'binary': {
      const b = asBytes(v, type);
      if (kind === 'fixed' && b.length !== fixedLength(type)) fail(`${type} value must be ${fixedLength(type)} bytes, got ${b.length}`);
      return bytesToHex(b);
    }
    case 'geometry':
    case 'geography':
      // floe has no geometry codec: in JSON, geospatial values are WKT text and pass through as-is.
      return asString(v, `${type} (WKT text)`);
    default:
      throw new UnsupportedError(`conversions: JSON serialization of non-null ${type} values is not supported`);
  }
}

/**
 * Parses a value from Appendix D's JSON single-value serialization. Missing struct fields read as
 * null (callers apply field defaults).
 */
export function fromJsonValue(type: IcebergType, json: unknown): IcebergValue {
  if (json === null || json === undefined) return null;
  if (!isPrimitive(type)) {
    if (type.type === 'struct') {
      if (typeof json !== 'object' || Array.isArray(json)) return fail(`expected a JSON object keyed by field id for struct, got ${show(json)}`);
      const obj = json as Record<string, unknown>;
      const known = new Set(type.fields.map((f) => String(f.id)));
      for (const k of Object.keys(obj)) if (!known.has(k)) fail(`struct value has unknown field id ${JSON.stringify(k)}`);
      return type.fields.map((f) => fromJsonValue(f.type, obj[String(f.id)]));
    }
    if (type.type === 'list') {
      if (!Array.isArray(json)) return fail(`expected a JSON array for list, got ${show(json)}`);
      return json.map((x) => fromJsonValue(type.element, x));
    }
    const o = json as { keys?: unknown; values?: unknown };
    if (typeof json !== 'object' || !Array.isArray(o.keys) || !Array.isArray(o.values) || o.keys.length !== o.values.length) {
      return fail('expected {"keys": [...], "values": [...]} of equal length for map');
    }
    const out = new Map<IcebergValue, IcebergValue>();
    o.keys.forEach((k, i) => out.set(fromJsonValue(type.key, k), fromJsonValue(type.value, (o.values as unknown[])[i])));
    return out;
  }
  const kind = primitiveKind(type);
  const str = (): string => {
    if (typeof json !== 'string') return fail(`expected a JSON string for ${type}, got ${show(json)}`);
    return json;
  };
  switch (kind) {
    case 'boolean':
      if (typeof json !== 'boolean') return fail(`expected a JSON boolean, got ${show(json)}`);
      return json;
    case 'int':
      return asInt32(json as IcebergValue, type);
    case 'long':
      if (typeof json === 'string' && /^-?\d+$/.test(json)) return asLong(BigInt(json), type);
      return asLong(json as IcebergValue, type);
    case 'float':
    case 'double':
      return jsonToFloat(json, kind);
    case 'decimal': {
      const p = decimalParams(type) as { scale: number };
      return checkDecimal(parseDecimal(str(), p.scale), type);
    }
    case 'date':
      return parseDate(str());
    case 'time':
      return parseTime(str());
    case 'timestamp':
      return parseTimestamp(str(), 1_000_000n, false);
    case 'timestamptz':
      return parseTimestamp(str(), 1_000_000n, true);
    case 'timestamp_ns':
      return parseTimestamp(str(), 1_000_000_000n, false);
    case 'timestamptz_ns':
      return parseTimestamp(str(), 1_000_000_000n, true);
    case 'string':
      return str();
    case 'uuid': {
      const s = str();
      if (!UUID_RE.test(s)) fail(`invalid uuid ${show(s)}`);
      return s.toLowerCase();
    }
    case 'fixed':
    case 'binary': {
      const b = hexToBytes(str());
      if (kind === 'fixed' && b.length !== fixedLength(type)) fail(`${type} value must be ${fixedLength(type)} bytes, got ${b.length}`);
      return b;
    }
    case 'geometry':
    case 'geography':
      return str();
    default:
      throw new UnsupportedError(`conversions: JSON serialization of non-null ${type} values is not supported`);
  }
}

// ---------------------------------------------------------------------------------------------
// Ordering
// ---------------------------------------------------------------------------------------------

/**
 * Compares strings by Unicode code point, which is also UTF-8 byte order (and the order Parquet
 * statistics use). Plain `<` compares UTF-16 code units and misorders surrogate pairs against
 * U+E000–U+FFFF.
 */
export function compareStrings(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      // Move surrogates above U+FFFF's code units: D800–DFFF → F800–FFFF, E000–FFFF → D800–F7FF.
      if (x >= 0xd800) x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      if (y >= 0xd800) y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
      return x < y ? -1 : 1;
    }
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/**
 * The string its UTF-8 encoding reads back as: lone surrogates become U+FFFD, as every UTF-8
 * encoder writes them. Bounds of a string column must be taken over these, the values in the file.
 */
export function wellFormed(s: string): string {
  // ES2024 methods (Node 20 has them; the compile target's lib does not declare them).
  const w = s as unknown as { isWellFormed(): boolean; toWellFormed(): string };
  return w.isWellFormed() ? s : w.toWellFormed();
}

/** Unsigned lexicographic byte comparison; a prefix sorts first. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    if (x !== y) return x < y ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/**
 * Java's `Double.compare` order: -Infinity < … < -0.0 < 0.0 < … < Infinity < NaN (all NaNs equal;
 * JavaScript cannot tell -NaN apart, so every NaN sorts last).
 */
function compareFloats(a: number, b: number): number {
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : 1;
  if (Number.isNaN(b)) return -1;
  if (a < b) return -1;
  if (a > b) return 1;
  if (a === 0 && b === 0) {
    const an = Object.is(a, -0);
    const bn = Object.is(b, -0);
    return an === bn ? 0 : an ? -1 : 1;
  }
  return 0;
}

function compareNumeric(a: IcebergValue, b: IcebergValue, type: string): number {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  const x = asBigInt(a, type);
  const y = asBigInt(b, type);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Orders two values of a type; negative, zero or positive. Null sorts before every non-null value.
 * - strings by code point (= UTF-8 bytes); binary/fixed unsigned lexicographic;
 * - uuid as unsigned 128-bit big-endian (byte order, not Java's signed `UUID.compareTo`);
 * - float/double as Java's `Double.compare`: -0.0 < 0.0 and NaN above +Infinity;
 * - decimal by unscaled value (both at the type's scale); structs field by field, lists element by element.
 * @throws UnsupportedError for maps and types without an order (variant, geometry, geography)
 */
export function compareValues(type: IcebergType, a: IcebergValue, b: IcebergValue): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  if (!isPrimitive(type)) {
    if (type.type === 'struct' || type.type === 'list') {
      if (!Array.isArray(a) || !Array.isArray(b)) return fail(`expected arrays for ${type.type} comparison`);
      const n = Math.min(a.length, b.length);
      for (let i = 0; i < n; i++) {
        const t = type.type === 'struct' ? (type.fields[i] as NestedField).type : type.element;
        const c = compareValues(t, a[i] as IcebergValue, b[i] as IcebergValue);
        if (c !== 0) return c;
      }
      return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
    }
    throw new UnsupportedError('conversions: map values have no order');
  }
  const kind = primitiveKind(type);
  switch (kind) {
    case 'boolean':
      return a === b ? 0 : a === false ? -1 : 1;
    case 'int':
    case 'date':
    case 'long':
    case 'time':
    case 'timestamp':
    case 'timestamptz':
    case 'timestamp_ns':
    case 'timestamptz_ns':
    case 'decimal':
      return compareNumeric(a, b, type);
    case 'float':
    case 'double':
      return compareFloats(asNumber(a, type), asNumber(b, type));
    case 'string':
      return compareStrings(asString(a, type), asString(b, type));
    case 'uuid': {
      // Lowercase canonical hex strings order exactly like their unsigned big-endian bytes.
      const x = asString(a, type).toLowerCase();
      const y = asString(b, type).toLowerCase();
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case 'fixed':
    case 'binary':
      return compareBytes(asBytes(a, type), asBytes(b, type));
    default:
      throw new UnsupportedError(`conversions: ${type} values have no order`);
  }
}
