/**
 * Partition transforms (`format/spec.md` §Partition Transforms, Appendix B): parsing, applying,
 * result types, human-readable partition strings, and inclusive predicate projection for pruning.
 *
 * Values use the `IcebergValue` representation (`types.ts`).
 */
import { UnsupportedError, ValidationError } from '../errors.js';
import {
  bytesToHex,
  civilFromDays,
  floorDiv,
  formatDate,
  minimalBigEndian,
  utf8Bytes,
  uuidToBytes,
} from './conversions.js';
import { hashLong, murmur3Hash32 } from './murmur3.js';
import { decimalParams, isPrimitive, primitiveKind } from './schema-types.js';
import type { PrimitiveKind } from './schema-types.js';
import type { IcebergType, IcebergValue } from './types.js';

/** A parsed transform. Unknown transforms round-trip through `text` but cannot be applied. */
export type Transform =
  | { kind: 'identity' }
  | { kind: 'bucket'; numBuckets: number }
  | { kind: 'truncate'; width: number }
  | { kind: 'year' }
  | { kind: 'month' }
  | { kind: 'day' }
  | { kind: 'hour' }
  | { kind: 'void' }
  | { kind: 'unknown'; text: string };

const MICROS_PER_HOUR = 3_600_000_000n;
const MICROS_PER_DAY = 86_400_000_000n;

function fail(msg: string): never {
  throw new ValidationError(`transform: ${msg}`);
}

/**
 * Parses a transform string (`identity`, `bucket[16]`, `truncate[4]`, `year`, `month`, `day`,
 * `hour`, `void`; names are case-insensitive, plural `years`… accepted as Java does). Anything else
 * becomes `{ kind: 'unknown' }`: v3 readers must tolerate unknown transforms and ignore them.
 * @throws ValidationError for `bucket[N]`/`truncate[W]` with a non-positive parameter
 */
export function parseTransform(s: string): Transform {
  const text = s.trim();
  const lower = text.toLowerCase();
  const m = /^(bucket|truncate)\[\s*(\d+)\s*\]$/.exec(lower);
  if (m) {
    const n = Number(m[2]);
    if (!Number.isSafeInteger(n) || n <= 0 || n > 2147483647) fail(`invalid ${m[1]} parameter in ${JSON.stringify(s)}: must be a positive int`);
    return m[1] === 'bucket' ? { kind: 'bucket', numBuckets: n } : { kind: 'truncate', width: n };
  }
  switch (lower) {
    case 'identity':
      return { kind: 'identity' };
    case 'year':
    case 'years':
      return { kind: 'year' };
    case 'month':
    case 'months':
      return { kind: 'month' };
    case 'day':
    case 'days':
      return { kind: 'day' };
    case 'hour':
    case 'hours':
      return { kind: 'hour' };
    case 'void':
      return { kind: 'void' };
    default:
      return { kind: 'unknown', text: s };
  }
}

/** The canonical string of a transform (`bucket[16]`); unknown transforms return their original text. */
export function transformToString(t: Transform): string {
  switch (t.kind) {
    case 'bucket':
      return `bucket[${t.numBuckets}]`;
    case 'truncate':
      return `truncate[${t.width}]`;
    case 'unknown':
      return t.text;
    default:
      return t.kind;
  }
}

const BUCKET_KINDS: ReadonlySet<PrimitiveKind> = new Set<PrimitiveKind>([
  'int',
  'long',
  'decimal',
  'date',
  'time',
  'timestamp',
  'timestamptz',
  'timestamp_ns',
  'timestamptz_ns',
  'string',
  'uuid',
  'fixed',
  'binary',
]);
const TRUNCATE_KINDS: ReadonlySet<PrimitiveKind> = new Set<PrimitiveKind>(['int', 'long', 'decimal', 'string', 'binary']);
const TIMESTAMP_KINDS: ReadonlySet<PrimitiveKind> = new Set<PrimitiveKind>([
  'timestamp',
  'timestamptz',
  'timestamp_ns',
  'timestamptz_ns',
]);
const NOT_IDENTITY_KINDS: ReadonlySet<PrimitiveKind> = new Set<PrimitiveKind>(['variant', 'geometry', 'geography']);

/** True for year, month, day and hour. */
export function isTimeTransform(t: Transform): boolean {
  return t.kind === 'year' || t.kind === 'month' || t.kind === 'day' || t.kind === 'hour';
}

/**
 * Whether the transform can be applied to a source type (spec's "Source types" column).
 * Unknown transforms cannot be applied to anything.
 */
export function canTransform(t: Transform, sourceType: IcebergType): boolean {
  if (t.kind === 'void') return true;
  if (!isPrimitive(sourceType)) return false;
  const kind = primitiveKind(sourceType) as PrimitiveKind;
  switch (t.kind) {
    case 'identity':
      return !NOT_IDENTITY_KINDS.has(kind);
    case 'bucket':
      return BUCKET_KINDS.has(kind);
    case 'truncate':
      return TRUNCATE_KINDS.has(kind);
    case 'year':
    case 'month':
    case 'day':
      return kind === 'date' || TIMESTAMP_KINDS.has(kind);
    case 'hour':
      return TIMESTAMP_KINDS.has(kind);
    default:
      return false;
  }
}

/**
 * The partition value type a transform produces. Follows the reference implementation where the
 * spec table is terser: `day` produces `date` (an int on disk, shown as `2017-12-01`), `void`
 * keeps the source type, and an unknown transform is typed `string`.
 * @throws ValidationError when the transform cannot apply to the source type
 */
export function transformResultType(t: Transform, sourceType: IcebergType): IcebergType {
  if (t.kind === 'unknown') return 'string';
  if (!canTransform(t, sourceType)) {
    fail(`${transformToString(t)} cannot be applied to ${typeof sourceType === 'string' ? sourceType : sourceType.type}`);
  }
  switch (t.kind) {
    case 'bucket':
    case 'year':
    case 'month':
    case 'hour':
      return 'int';
    case 'day':
      return 'date';
    default:
      return sourceType;
  }
}

// ---------------------------------------------------------------------------------------------
// Applying
// ---------------------------------------------------------------------------------------------

function toBig(v: IcebergValue, what: string): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  return fail(`expected an integer value for ${what}, got ${typeof v}`);
}

function toInt(v: IcebergValue, what: string): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'bigint') return Number(v);
  return fail(`expected an integer value for ${what}, got ${typeof v}`);
}

function toBytes(v: IcebergValue, what: string): Uint8Array {
  if (v instanceof Uint8Array) return v;
  return fail(`expected a Uint8Array for ${what}, got ${typeof v}`);
}

function toStr(v: IcebergValue, what: string): string {
  if (typeof v === 'string') return v;
  return fail(`expected a string for ${what}, got ${typeof v}`);
}

/**
 * The 32-bit murmur3 hash of a value per Appendix B: int, long, date, time and timestamps hash as
 * an 8-byte little-endian long (nanosecond timestamps first floored to microseconds); decimals as
 * their minimal big-endian unscaled bytes; strings as UTF-8; uuids as 16 big-endian bytes;
 * fixed/binary as-is.
 */
export function bucketHash(sourceType: IcebergType, v: IcebergValue): number {
  const kind = isPrimitive(sourceType) ? primitiveKind(sourceType) : undefined;
  const what = String(sourceType);
  switch (kind) {
    case 'int':
    case 'long':
    case 'date':
    case 'time':
    case 'timestamp':
    case 'timestamptz':
      return hashLong(toBig(v, what));
    case 'timestamp_ns':
    case 'timestamptz_ns':
      return hashLong(floorDiv(toBig(v, what), 1000n));
    case 'decimal':
      return murmur3Hash32(minimalBigEndian(toBig(v, what)));
    case 'string':
      return murmur3Hash32(utf8Bytes(toStr(v, what)));
    case 'uuid':
      return murmur3Hash32(uuidToBytes(toStr(v, what)));
    case 'fixed':
    case 'binary':
      return murmur3Hash32(toBytes(v, what));
    default:
      return fail(`cannot hash values of type ${what}`);
  }
}

/** Truncates a string to at most `width` Unicode code points (never splitting a surrogate pair). */
function truncateString(s: string, width: number): string {
  let units = 0;
  let points = 0;
  while (units < s.length && points < width) {
    const c = s.charCodeAt(units);
    units += c >= 0xd800 && c <= 0xdbff && units + 1 < s.length ? 2 : 1;
    points++;
  }
  return s.slice(0, units);
}

function epochUnits(kind: PrimitiveKind, v: IcebergValue, what: string): { micros: bigint } | { days: number } {
  if (kind === 'date') return { days: toInt(v, what) };
  const n = toBig(v, what);
  return { micros: kind === 'timestamp_ns' || kind === 'timestamptz_ns' ? floorDiv(n, 1000n) : n };
}

function daysOf(u: { micros: bigint } | { days: number }): number {
  return 'days' in u ? u.days : Number(floorDiv(u.micros, MICROS_PER_DAY));
}

/**
 * Applies a transform to a source value. Null → null. Temporal transforms count from the epoch and
 * round toward negative infinity (`-1 µs` is year/month/day/hour -1).
 * @throws UnsupportedError for unknown transforms; ValidationError for inapplicable source types
 */
export function applyTransform(t: Transform, sourceType: IcebergType, v: IcebergValue): IcebergValue {
  return transformFunction(t, sourceType)(v);
}

/**
 * {@link applyTransform} for one transform and source type, checked once: the function a writer
 * calls for every row (the checks and the type's kind are not worked out again per value).
 * @throws UnsupportedError for unknown transforms; ValidationError for inapplicable source types
 */
export function transformFunction(t: Transform, sourceType: IcebergType): (v: IcebergValue) => IcebergValue {
  if (t.kind === 'unknown') throw new UnsupportedError(`transform: cannot apply unknown transform ${JSON.stringify(t.text)}`);
  if (!canTransform(t, sourceType)) {
    fail(`${transformToString(t)} cannot be applied to ${typeof sourceType === 'string' ? sourceType : sourceType.type}`);
  }
  if (t.kind === 'void') return () => null;
  const kind = primitiveKind(sourceType) as PrimitiveKind;
  const what = String(sourceType);
  return (v) => (v === null ? null : transformValue(t, kind, sourceType, what, v));
}

/** The transform of a non-null value of a source type it applies to (`kind`: the type's kind). */
function transformValue(t: Transform, kind: PrimitiveKind, sourceType: IcebergType, what: string, v: IcebergValue): IcebergValue {
  switch (t.kind) {
    case 'identity':
      return v;
    case 'bucket':
      return (bucketHash(sourceType, v) & 0x7fffffff) % t.numBuckets;
    case 'truncate': {
      const w = t.width;
      if (kind === 'int') {
        const x = toInt(v, what);
        // Java computes this in int arithmetic, which wraps near Integer.MIN_VALUE; `| 0` wraps
        // the same way so partition values match Java's (and stay within int32).
        return (x - (((x % w) + w) % w)) | 0;
      }
      if (kind === 'long' || kind === 'decimal') {
        // Decimal: the width applies to the unscaled value (it carries the column's scale).
        const x = toBig(v, what);
        const bw = BigInt(w);
        const r = x - (((x % bw) + bw) % bw);
        // long: wrap like Java's long arithmetic; decimals are BigDecimal in Java (no wrap).
        return kind === 'long' ? BigInt.asIntN(64, r) : r;
      }
      if (kind === 'string') return truncateString(toStr(v, what), w);
      const b = toBytes(v, what);
      return b.length <= w ? b : b.slice(0, w);
    }
    case 'year':
    case 'month': {
      const [y, m] = civilFromDays(daysOf(epochUnits(kind, v, what)));
      return t.kind === 'year' ? y - 1970 : (y - 1970) * 12 + (m - 1);
    }
    case 'day':
      return daysOf(epochUnits(kind, v, what));
    case 'hour': {
      const u = epochUnits(kind, v, what) as { micros: bigint };
      return Number(floorDiv(u.micros, MICROS_PER_HOUR));
    }
    default:
      // void and unknown never get here (transformFunction handles them).
      throw new UnsupportedError(`transform: cannot apply ${transformToString(t)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Human-readable strings (partition paths)
// ---------------------------------------------------------------------------------------------

/** Java's `String.format("%0Nd", n)`: zero padding to a width that includes the sign. */
function javaPad(n: number, width: number): string {
  if (n >= 0) return String(n).padStart(width, '0');
  return `-${String(-n).padStart(width - 1, '0')}`;
}

/** Java `LocalTime.toString()` fraction: none, 3, 6 or 9 digits; seconds omitted when zero. */
function javaLocalTime(nanosOfDay: bigint): string {
  const secs = Number(nanosOfDay / 1_000_000_000n);
  const nano = Number(nanosOfDay % 1_000_000_000n);
  const h = Math.floor(secs / 3600);
  const mi = Math.floor(secs / 60) % 60;
  const s = secs % 60;
  let out = `${javaPad(h, 2)}:${javaPad(mi, 2)}`;
  if (s > 0 || nano > 0) {
    out += `:${javaPad(s, 2)}`;
    if (nano > 0) {
      if (nano % 1_000_000 === 0) out += `.${javaPad(nano / 1_000_000, 3)}`;
      else if (nano % 1000 === 0) out += `.${javaPad(nano / 1000, 6)}`;
      else out += `.${javaPad(nano, 9)}`;
    }
  }
  return out;
}

function javaLocalDateTime(nanos: bigint): string {
  const perDay = 86_400_000_000_000n;
  const days = floorDiv(nanos, perDay);
  return `${formatDate(Number(days))}T${javaLocalTime(nanos - days * perDay)}`;
}

/** Java `BigDecimal.toString()` of an unscaled value at a non-negative scale. */
function javaDecimal(unscaled: bigint, scale: number): string {
  const neg = unscaled < 0n;
  const coeff = (neg ? -unscaled : unscaled).toString();
  const sign = neg ? '-' : '';
  if (scale === 0) return sign + coeff;
  const adjusted = -scale + (coeff.length - 1);
  if (adjusted >= -6) {
    const padded = coeff.padStart(scale + 1, '0');
    return `${sign}${padded.slice(0, -scale)}.${padded.slice(-scale)}`;
  }
  const mant = coeff.length > 1 ? `${coeff[0]}.${coeff.slice(1)}` : coeff;
  return `${sign}${mant}E${adjusted}`;
}

/** Java `Double.toString` / `Float.toString` (shortest round-trip digits, Java's layout). */
function javaFloat(x: number, isFloat: boolean): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  // Shortest digits that read back as the same float (9 digits suffice) or double (17).
  const target = isFloat ? Math.fround(x) : x;
  const maxDigits = isFloat ? 9 : 17;
  let e = target.toExponential(maxDigits - 1);
  for (let p = 1; p < maxDigits; p++) {
    const c = target.toExponential(p - 1);
    if ((isFloat ? Math.fround(Number(c)) : Number(c)) === target) {
      e = c;
      break;
    }
  }
  const [m, ex] = e.split('e') as [string, string];
  const digits = m.replace('-', '').replace('.', '').replace(/0+$/, '') || '0';
  const exp = Number(ex);
  const sign = x < 0 ? '-' : '';
  const a = Math.abs(x);
  if (a >= 1e-3 && a < 1e7) {
    // Plain notation with at least one digit after the point.
    let intPart: string;
    let frac: string;
    if (exp >= 0) {
      const all = digits.padEnd(exp + 1, '0');
      intPart = all.slice(0, exp + 1);
      frac = all.slice(exp + 1);
    } else {
      intPart = '0';
      frac = '0'.repeat(-exp - 1) + digits;
    }
    return `${sign}${intPart}.${frac === '' ? '0' : frac}`;
  }
  return `${sign}${digits[0]}.${digits.length > 1 ? digits.slice(1) : '0'}E${exp}`;
}

function base64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}

/** Human string of a value of a primitive type, as the reference implementation prints it. */
function humanValue(type: IcebergType, v: IcebergValue): string {
  if (v === null) return 'null';
  const kind = isPrimitive(type) ? primitiveKind(type) : undefined;
  const what = String(type);
  switch (kind) {
    case 'date':
      return formatDate(toInt(v, what));
    case 'time':
      return javaLocalTime(toBig(v, what) * 1000n);
    case 'timestamp':
      return javaLocalDateTime(toBig(v, what) * 1000n);
    case 'timestamptz':
      return `${javaLocalDateTime(toBig(v, what) * 1000n)}Z`;
    case 'timestamp_ns':
      return javaLocalDateTime(toBig(v, what));
    case 'timestamptz_ns':
      return `${javaLocalDateTime(toBig(v, what))}Z`;
    case 'fixed':
    case 'binary':
      return base64(toBytes(v, what));
    case 'decimal':
      return javaDecimal(toBig(v, what), (decimalParams(type) as { scale: number }).scale);
    case 'float':
    case 'double':
      return javaFloat(v as number, kind === 'float');
    default:
      if (v instanceof Uint8Array) return bytesToHex(v);
      return String(v);
  }
}

/**
 * The human-readable form of a partition value (the transform's output), used in partition paths:
 * year `2017`, month `2017-12`, day `2017-12-01`, hour `2017-12-01-18`, null `null`; identity and
 * truncate values print as their source type does in the reference implementation (dates ISO,
 * timestamps `2017-12-01T10:12:55.038194`, timestamptz with `Z`, binary as base64).
 */
export function toHumanString(t: Transform, sourceType: IcebergType, v: IcebergValue): string {
  if (v === null) return 'null';
  switch (t.kind) {
    case 'year':
      return javaPad(1970 + toInt(v, 'year'), 4);
    case 'month': {
      const n = toInt(v, 'month');
      return `${javaPad(1970 + Math.floor(n / 12), 4)}-${javaPad((((n % 12) + 12) % 12) + 1, 2)}`;
    }
    case 'day':
      return formatDate(toInt(v, 'day'));
    case 'hour': {
      const n = toInt(v, 'hour');
      const days = Math.floor(n / 24);
      const [y, m, d] = civilFromDays(days);
      return `${javaPad(y, 4)}-${javaPad(m, 2)}-${javaPad(d, 2)}-${javaPad(n - days * 24, 2)}`;
    }
    case 'bucket':
      return String(v);
    case 'void':
      return 'null';
    case 'unknown':
      return v instanceof Uint8Array ? bytesToHex(v) : String(v);
    default:
      return humanValue(sourceType, v);
  }
}

// ---------------------------------------------------------------------------------------------
// Inclusive projection
// ---------------------------------------------------------------------------------------------

/** Predicate operators understood by {@link projectInclusive}. */
export type PredicateOp =
  | '='
  | '!='
  | '<'
  | '<='
  | '>'
  | '>='
  | 'in'
  | 'not_in'
  | 'is_null'
  | 'not_null'
  | 'is_nan'
  | 'not_nan'
  | 'starts_with';

/**
 * A predicate on one column: `literal` for comparison ops and `starts_with`, `literals` for
 * `in`/`not_in`, neither for the unary ops. On a source column the literals have the source type;
 * projected onto a partition field they have the transform's result type.
 */
export interface ColumnPredicate {
  op: PredicateOp;
  literal?: IcebergValue;
  literals?: IcebergValue[];
}

function dedupe(values: IcebergValue[]): IcebergValue[] {
  const seen = new Set<unknown>();
  const out: IcebergValue[] = [];
  for (const v of values) {
    const key = v instanceof Uint8Array ? `b:${bytesToHex(v)}` : typeof v === 'bigint' ? `n:${v}` : v;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(v);
    }
  }
  return out;
}

/** The value just below / above a literal in the source domain (integers, decimals, temporal). */
function step(kind: PrimitiveKind, v: IcebergValue, delta: -1 | 1): IcebergValue {
  if (kind === 'int' || kind === 'date') return toInt(v, kind) + delta;
  return toBig(v, kind) + BigInt(delta);
}

/**
 * Old reference-implementation writers computed temporal partition values for pre-1970 values one
 * too high (rounding toward zero). Like Java's `fixInclusiveTimeProjection`, widen projections of
 * negative results by one so files they wrote are never wrongly pruned.
 */
function fixTimeProjection(p: ColumnPredicate): ColumnPredicate {
  const lit = p.literal as number;
  switch (p.op) {
    case '<':
    case '<=':
      return lit < 0 ? { op: p.op, literal: lit + 1 } : p;
    case '=':
      return lit < 0 ? { op: 'in', literals: [lit, lit + 1] } : p;
    case 'in': {
      const extra = (p.literals as number[]).filter((x) => x < 0).map((x) => x + 1);
      return extra.length > 0 ? { op: 'in', literals: dedupe([...(p.literals as number[]), ...extra]) } : p;
    }
    default:
      return p;
  }
}

/**
 * Projects a predicate on a source column onto a partition field produced by `t` (an *inclusive*
 * projection, spec §Scan Planning): whenever a row matches `pred`, its partition value matches the
 * result. Returns undefined when nothing can be said (the partition filter is then "true").
 *
 * - identity projects every operator unchanged;
 * - bucket projects `=` and `in` (and null checks);
 * - truncate and the temporal transforms project `=`, `in` and ranges (`<` becomes `<=` of the
 *   transformed predecessor, `>` becomes `>=` of the transformed successor; strings and binary
 *   map both `<`/`<=` to `<=` and `>`/`>=` to `>=`), truncate of strings also `starts_with`;
 * - void and unknown transforms project nothing; `!=`/`not_in` only project through identity.
 */
export function projectInclusive(t: Transform, sourceType: IcebergType, pred: ColumnPredicate): ColumnPredicate | undefined {
  if (t.kind === 'unknown' || t.kind === 'void') return undefined;
  if (!canTransform(t, sourceType)) return undefined;
  if (t.kind === 'identity') {
    const out: ColumnPredicate = { op: pred.op };
    if (pred.literal !== undefined) out.literal = pred.literal;
    if (pred.literals !== undefined) out.literals = [...pred.literals];
    return out;
  }
  if (pred.op === 'is_null' || pred.op === 'not_null') return { op: pred.op };
  const kind = primitiveKind(sourceType) as PrimitiveKind;
  // day(date) is the date itself: no old-writer rounding bug to compensate for.
  const needsTimeFix = isTimeTransform(t) && !(t.kind === 'day' && kind === 'date');
  const apply = (v: IcebergValue) => applyTransform(t, sourceType, v);
  const lit = pred.literal;
  if (pred.op === 'in') {
    if (!pred.literals) return undefined;
    const p: ColumnPredicate = { op: 'in', literals: dedupe(pred.literals.filter((x) => x !== null).map(apply)) };
    return needsTimeFix ? fixTimeProjection(p) : p;
  }
  if (lit === undefined || lit === null) return undefined;
  if (t.kind === 'bucket') return pred.op === '=' ? { op: '=', literal: apply(lit) } : undefined;

  let p: ColumnPredicate | undefined;
  const ordered = kind === 'string' || kind === 'binary';
  switch (pred.op) {
    case '=':
      p = { op: '=', literal: apply(lit) };
      break;
    case '<':
      p = { op: '<=', literal: apply(ordered ? lit : step(kind, lit, -1)) };
      break;
    case '<=':
      p = { op: '<=', literal: apply(lit) };
      break;
    case '>':
      p = { op: '>=', literal: apply(ordered ? lit : step(kind, lit, 1)) };
      break;
    case '>=':
      p = { op: '>=', literal: apply(lit) };
      break;
    case 'starts_with':
      p = t.kind === 'truncate' && kind === 'string' ? { op: 'starts_with', literal: apply(lit) } : undefined;
      break;
    default:
      p = undefined;
  }
  if (p && needsTimeFix) return fixTimeProjection(p);
  return p;
}
