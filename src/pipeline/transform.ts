/**
 * The declared mapping from a stream record (a JSON object) to a table row.
 *
 * Each column takes its value from a field path of the record, a constant, or the record's source
 * metadata (shard, sequence number, arrival time, partition key) or the processing time. Values
 * are cast to the column's Iceberg type strictly: a value that cannot be cast is an error naming
 * the column and the path, never a silent null (the reference job's failure mode). Missing or
 * null values become null for optional columns and an error for required ones.
 *
 * The mapping is compiled once into closures, so the per-record cost is a JSON.parse plus one
 * small function call per column.
 */
import type { OperationConfig, RecordFormat } from './config-upsert.js';
import { ValidationError } from '../errors.js';
import { decimalParams, fixedLength, parsePrimitiveType } from '../iceberg/schema-types.js';
import { parseTimestampMicros } from '../iceberg/timestamp-text.js';
import type { IcebergType, IcebergValue, NestedField, PrimitiveType, Schema } from '../iceberg/types.js';
import type { SourceRecord } from '../source/source.js';
import { findNumber, mayBeInexact, mayOverflow, sameDecimal, serializeJson, type PathSegment } from './json-text.js';

/** The source metadata a column can take instead of a record field (`value:` in the config). */
export const DERIVED_VALUES = [
  'processing_time',
  'arrival_time',
  'partition',
  'shard',
  'position',
  'sequence_number',
  'sub_sequence_number',
  'partition_key',
  'stream',
  // Kafka: the record's key (UTF-8), its timestamp, topic and offset.
  'key',
  'timestamp',
  'topic',
  'offset',
] as const;

/** Source metadata a column can take instead of a record field. */
export type DerivedValue = (typeof DERIVED_VALUES)[number];

const DERIVED: ReadonlySet<string> = new Set(DERIVED_VALUES);

/** How numbers are read as timestamps/dates when the record holds a number. */
export type TimeFormat = 'iso' | 'epoch_s' | 'epoch_ms' | 'epoch_us';

/** One column of the mapping, as written in the config. */
export interface ColumnMapping {
  /** Column name in the table. */
  name: string;
  /** Iceberg type; optional when the table exists (its type is used). */
  type?: string;
  /** Dot-separated path into the record (`a.b.c`); default: the column name. */
  path?: string;
  /** Take source metadata or the processing time instead of a record field. */
  value?: DerivedValue;
  /** A constant (JSON) instead of a record field. */
  constant?: unknown;
  /** Missing/null is an error (dead letter) instead of null. Default false. */
  required?: boolean;
  /** For timestamp/date columns fed with numbers. Default 'iso' (strings only). */
  format?: TimeFormat;
  /** Take the value of this record header (Kafka) instead of a record field: UTF-8 text, null when absent. */
  header?: string;
}

/**
 * What becomes of a record's fields that no column maps (`transform.unmapped`): `ignore` (default:
 * left out); `dead_letter` (the record is a dead letter naming the field); `add_columns` (they
 * become optional columns, committed with the rows: `unmapped.ts`). With the last two, table
 * columns the mapping does not list are read from the record field of their own name.
 */
export type UnmappedPolicy = 'ignore' | 'add_columns' | 'dead_letter';

/** The values of {@link UnmappedPolicy}. */
export const UNMAPPED_POLICIES: readonly UnmappedPolicy[] = ['ignore', 'add_columns', 'dead_letter'];

/** The mapping, as written in the config. */
export interface TransformSpec {
  columns: ColumnMapping[];
  /** Default `ignore`. */
  unmapped?: UnmappedPolicy;
  /** `transform.max_new_columns`: columns `add_columns` may add per commit (default 100). */
  maxNewColumns?: number;
  /** `transform.max_columns`: the most columns (nested fields count) `add_columns` lets the table have (default 1000). */
  maxColumns?: number;
  /** `transform.operation` (with `table.upsert`, `config-upsert.ts`): the field and values that mean delete. */
  operation?: OperationConfig;
  /** `transform.format` (with `table.upsert`): `debezium` reads change events; default json. */
  format?: RecordFormat;
}

/** Thrown for a record that cannot be turned into a row; the pipeline dead-letters it. */
export class RecordError extends ValidationError {}

/** Context for one record. */
export interface RecordContext {
  record: SourceRecord;
  streamName: string;
  processingTimeUs: bigint;
  /**
   * The record's text, when the caller decoded it (the general path): where casts read the exact
   * text of a number. Without it, the record's bytes are decoded when needed.
   */
  text?: string | undefined;
}

type Getter = (obj: unknown, ctx: RecordContext) => IcebergValue;

const INT_MIN = -(2 ** 31);
const INT_MAX = 2 ** 31 - 1;
const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

function fail(column: string, path: string, msg: string): never {
  throw new RecordError(`transform: column '${column}' (from '${path}'): ${msg}`);
}

/** Longest quote of a value in an error message (characters), before the truncation marker. */
const QUOTE_LIMIT = 100;
/** Appended to a quote cut at {@link QUOTE_LIMIT}. */
export const TRUNCATED = '…[truncated]';

/**
 * A value as an error message quotes it: its JSON, at most {@link QUOTE_LIMIT} characters then
 * {@link TRUNCATED}; a number as the record wrote it (`9223372036854775807`, `1e400`, `1.0`, not
 * the double JSON.parse made of it) when `at` says where it is. Never recursive: a value nested
 * 100,000 deep is quoted by its first characters.
 */
function describe(v: unknown, at?: readonly PathSegment[]): string {
  let s: string;
  if (typeof v === 'number') {
    s = (at !== undefined ? numberTextAt(v, at) : undefined) ?? (Object.is(v, -0) ? '-0' : String(v));
    return s.length > QUOTE_LIMIT ? s.slice(0, QUOTE_LIMIT) + TRUNCATED : s;
  }
  if (typeof v === 'string' || (typeof v === 'object' && v !== null)) {
    const r = serializeJson(v, QUOTE_LIMIT);
    return r.truncated ? r.text + TRUNCATED : r.text;
  }
  return String(v);
}

/*
 * The record being transformed, set by `applyInto` for the length of the call (casts are
 * compiled closures without a context parameter; the transform is synchronous and never
 * re-entered). Casts use it to read a number's exact text from the record, which JSON.parse
 * does not keep. The text and the checks of it are computed at most once per record, and only
 * when a cast asks.
 */
let current: RecordContext | undefined;
let currentText: string | undefined;
let currentInexact: boolean | undefined;
let currentOverflow: boolean | undefined;
/**
 * Per slot of a cast path (see `PathSegment`), the array index or map key being cast: set by
 * the list and map casts as they go, so that a number's place in the record is exact.
 */
const slots: (string | number)[] = [];
const lenient = new TextDecoder('utf-8');

/** The record's text, or undefined outside a record (constants) or for a record without bytes. */
function recordText(): string | undefined {
  if (current === undefined) return undefined;
  if (currentText === undefined) currentText = current.text ?? (current.record.data.length > 0 ? lenient.decode(current.record.data) : '');
  return currentText === '' ? undefined : currentText;
}

/** The text of the record's number `v` at `at`, or undefined when it cannot be told. */
function numberTextAt(v: number, at: readonly PathSegment[]): string | undefined {
  const text = recordText();
  if (text === undefined) return undefined;
  const found = findNumber(text, at, slots, 'last');
  // A check that the place was found: the text reads as the value JSON.parse gave.
  return found !== undefined && Object.is(Number(found), v) ? found : undefined;
}

/**
 * The exact decimal value of the record's number `v` (finite) at `at`, as text: String(v) when
 * the double holds it exactly (every number of the record has at most 15 significant digits and
 * a short exponent, see `mayBeInexact`; the usual record, no further cost), else the number's text
 * in the record; undefined when that cannot be told (no record text and an integer beyond 2^53).
 */
function exactDecimal(v: number, at: readonly PathSegment[]): string | undefined {
  const text = recordText();
  if (text === undefined) return Number.isInteger(v) && !Number.isSafeInteger(v) ? undefined : String(v);
  currentInexact ??= mayBeInexact(text);
  if (!currentInexact) return String(v);
  return numberTextAt(v, at);
}

/** An integer in decimal JSON syntax (`12`, `1.0`, `1e3`) as a bigint; undefined for a fraction. */
function exactInteger(text: string): bigint | undefined {
  return parseDecimal(text, 40, 0);
}

/** Whether a string is well-formed UTF-16 (no lone surrogate; ES2024, in Node 20). */
function isWellFormed(s: string): boolean {
  return (s as unknown as { isWellFormed(): boolean }).isWellFormed();
}

function numberToMicros(n: number, format: TimeFormat | undefined): bigint | undefined {
  if (!Number.isFinite(n)) return undefined;
  let us: bigint | undefined;
  // Scaled beyond a double's range (1e305 seconds) is Infinity, which BigInt refuses with a throw.
  switch (format) {
    case 'epoch_s':
      us = Number.isFinite(n * 1e6) ? BigInt(Math.round(n * 1e6)) : undefined;
      break;
    case 'epoch_ms':
      us = Number.isFinite(n * 1e3) ? BigInt(Math.round(n * 1e3)) : undefined;
      break;
    case 'epoch_us':
      us = Number.isInteger(n) ? BigInt(n) : undefined;
      break;
    default:
      return undefined;
  }
  // Beyond 64 bits the column would refuse the value when it is buffered, failing the whole run
  // instead of dead-lettering the record.
  return us !== undefined && us >= LONG_MIN && us <= LONG_MAX ? us : undefined;
}

function parseDecimal(text: string, precision: number, scale: number): bigint | undefined {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text.trim());
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return undefined;
  const [, sign, intPart = '', fracPart = '', exp] = m;
  // Leading zeros carry nothing; without them an absurd exponent is refused before any padding.
  let digits = (intPart + fracPart).replace(/^0+/, '');
  if (digits === '') return 0n;
  const pointShift = -fracPart.length + (exp ? Number(exp) : 0); // value = digits * 10^pointShift
  if (digits.length + pointShift + scale > precision) return undefined;
  // Scale to the column's scale; refuse to drop non-zero digits (no silent rounding).
  const shift = pointShift + scale;
  if (shift >= 0) digits = digits + '0'.repeat(shift);
  else {
    const cut = digits.slice(digits.length + shift);
    if (/[1-9]/.test(cut)) return undefined;
    digits = digits.slice(0, digits.length + shift);
  }
  const unscaled = BigInt(digits === '' ? '0' : digits) * (sign === '-' ? -1n : 1n);
  const limit = 10n ** BigInt(precision);
  if (unscaled >= limit || unscaled <= -limit) return undefined;
  return unscaled;
}

/** Standard or URL-safe base64, padded or not; Buffer.from alone would skip invalid characters. */
function decodeBase64(v: unknown): Uint8Array | undefined {
  if (typeof v !== 'string') return undefined;
  const text = v.trim();
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(text) || text.replace(/=+$/, '').length % 4 === 1) return undefined;
  if (text.includes('=') && text.length % 4 !== 0) return undefined;
  return new Uint8Array(Buffer.from(text, 'base64')); // Node's base64 decoder reads both alphabets
}

/** A decimal number as text (no hex/binary/octal literals, which Number() would accept). */
const NUMBER_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const FLOAT_MAX = 3.4028234663852886e38;

/** The strings that give a float or double a non-finite value (a JSON number never does). */
const NON_FINITE: ReadonlyMap<string, number> = new Map([
  ['NaN', NaN],
  ['Infinity', Infinity],
  ['+Infinity', Infinity],
  ['-Infinity', -Infinity],
]);

/**
 * An object or array for a string column: its compact JSON, JSON.stringify's text (a lone
 * surrogate written as its `\\udXXX` escape, which is exact). A number in it that JSON.parse
 * read as Infinity (`1e400`, only possible when the record has a long exponent or digit run) is
 * refused rather than written `null`. JSON.stringify recurses: a value nested a few thousand deep
 * overflows the stack, and is then written by the iterative `serializeJson` (the same text).
 */
function objectText(v: object, column: string, path: string, at: readonly PathSegment[]): string {
  const text = recordText();
  currentOverflow ??= text === undefined ? true : mayOverflow(text);
  if (!currentOverflow) {
    try {
      return JSON.stringify(v);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
    }
  }
  const r = serializeJson(v);
  if (r.nonFinite) {
    const big = text === undefined ? undefined : findNumber(text, at, slots, 'overflow');
    const quote = big === undefined ? '' : big.length > QUOTE_LIMIT ? big.slice(0, QUOTE_LIMIT) + TRUNCATED : big;
    fail(column, path, `cannot cast ${describe(v)} to string: it holds a number beyond the range of a double${big ? ` (${quote})` : ''}`);
  }
  return r.text;
}

/** The number of slots (list elements, map entries) on a cast path: the next slot's number. */
function slotsIn(at: readonly PathSegment[]): number {
  return at.filter((s) => typeof s !== 'string').length;
}

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/**
 * Builds the cast from a JSON value to the Iceberg value of `type`. `at`: where the value is in
 * the record (to find a number's exact text); `path` names it in messages.
 */
function castFor(type: IcebergType, column: string, path: string, format: TimeFormat | undefined, at: readonly PathSegment[]): (v: unknown) => IcebergValue {
  // The type's nesting comes from the config (trusted), not from the record: recursion is fine.
  if (typeof type === 'object') {
    if (type.type === 'struct') {
      const fields = type.fields.map((f) => ({ f, cast: castFor(f.type, column, `${path}.${f.name}`, format, [...at, f.name]) }));
      return (v) => {
        if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(column, path, `expected an object, got ${describe(v, at)}`);
        return fields.map(({ f, cast }) => {
          const x = (v as Record<string, unknown>)[f.name];
          if (x === undefined || x === null) {
            if (f.required) fail(column, `${path}.${f.name}`, 'required field is missing');
            return null;
          }
          return cast(x);
        });
      };
    }
    if (type.type === 'list') {
      const slot = slotsIn(at);
      const cast = castFor(type.element, column, `${path}[]`, format, [...at, { slot }]);
      return (v) => {
        if (!Array.isArray(v)) fail(column, path, `expected an array, got ${describe(v, at)}`);
        return v.map((x, k) => {
          slots[slot] = k;
          return x === null || x === undefined ? (type['element-required'] ? fail(column, path, 'null element') : null) : cast(x);
        });
      };
    }
    const slot = slotsIn(at);
    const castValue = castFor(type.value, column, `${path}{}`, format, [...at, { slot }]);
    const castKey = castFor(type.key, column, `${path}{key}`, format, [...at, { slot }]);
    return (v) => {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(column, path, `expected an object (map), got ${describe(v, at)}`);
      const out = new Map<IcebergValue, IcebergValue>();
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        slots[slot] = k;
        out.set(castKey(k), x === null ? null : castValue(x));
      }
      return out;
    };
  }
  const p = type as PrimitiveType;
  const dec = decimalParams(p);
  if (dec) {
    return (v) => {
      // A number's exact value, not the double JSON.parse rounded it to (0.1000000000000000001).
      const text = typeof v === 'number' ? (Number.isFinite(v) ? exactDecimal(v, at) : undefined) : typeof v === 'string' ? v : undefined;
      const r = text === undefined ? undefined : parseDecimal(text, dec.precision, dec.scale);
      if (r === undefined) fail(column, path, `cannot cast ${describe(v, at)} to ${p} without losing digits`);
      return r;
    };
  }
  const fixed = fixedLength(p);
  if (fixed !== undefined) {
    return (v) => {
      const b = decodeBase64(v);
      if (!b || b.length !== fixed) fail(column, path, `expected base64 of ${fixed} bytes, got ${describe(v, at)}`);
      return b;
    };
  }
  switch (p) {
    case 'string':
      return (v) => {
        if (typeof v === 'string') {
          // `"\ud800"` parses to a string UTF-8 cannot hold; writing it would store U+FFFD instead.
          if (!isWellFormed(v)) fail(column, path, `cannot cast ${describe(v)} to string: a lone surrogate (UTF-8 cannot hold it)`);
          return v;
        }
        if (typeof v === 'number') {
          // Its shortest form (1.0 → "1"), or the text as sent when a double cannot hold it.
          const exact = Number.isFinite(v) ? exactDecimal(v, at) : undefined;
          if (exact === undefined) fail(column, path, `cannot cast ${describe(v, at)} to string: ${Number.isFinite(v) ? 'its exact text cannot be told (send it as a string)' : 'beyond the range of a double'}`);
          const short = String(v);
          return exact === short || sameDecimal(exact, short) ? short : exact;
        }
        if (typeof v === 'object' && v !== null) return objectText(v, column, path, at);
        return String(v);
      };
    case 'boolean':
      return (v) => {
        if (typeof v === 'boolean') return v;
        if (v === 'true' || v === 'false') return v === 'true';
        return fail(column, path, `cannot cast ${describe(v, at)} to boolean`);
      };
    case 'int':
      return (v) => {
        // A number a double reads as an integer (1.0, 1e3), or a string of digits.
        const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*[+-]?\d+\s*$/.test(v) ? Number(v) : NaN;
        if (!Number.isInteger(n) || n < INT_MIN || n > INT_MAX) fail(column, path, `cannot cast ${describe(v, at)} to int`);
        return n;
      };
    case 'long':
      return (v) => {
        let r: bigint | undefined;
        if (typeof v === 'number') {
          if (Number.isSafeInteger(v)) r = BigInt(v);
          else if (Number.isInteger(v)) {
            // JSON.parse rounded an integer beyond 2^53 (9223372036854775807 → …808): the record's
            // text gives the exact value. Without it, refuse rather than store a neighbouring value.
            const exact = numberTextAt(v, at);
            if (exact === undefined) fail(column, path, `cannot cast ${describe(v, at)} to long exactly (beyond 2^53: send it as a string)`);
            r = exactInteger(exact);
          }
        } else if (typeof v === 'bigint') r = v;
        else if (typeof v === 'string' && /^\s*[+-]?\d+\s*$/.test(v)) r = BigInt(v.trim());
        if (r === undefined || r < LONG_MIN || r > LONG_MAX) fail(column, path, `cannot cast ${describe(v, at)} to long`);
        return r;
      };
    case 'float':
    case 'double':
      return (v) => {
        let n = NaN;
        if (typeof v === 'number') {
          // Only a JSON number beyond a double's range (1e400) gives Infinity: refused, not stored.
          n = v;
          if (!Number.isFinite(n)) fail(column, path, `cannot cast ${describe(v, at)} to ${p}: beyond the range of a double (Infinity and NaN are given as the strings "Infinity", "-Infinity", "NaN")`);
        } else if (typeof v === 'string') {
          const t = v.trim();
          if (NUMBER_RE.test(t)) {
            n = Number(t);
            if (!Number.isFinite(n)) fail(column, path, `cannot cast ${describe(v)} to ${p}: beyond the range of a double`);
          } else if (NON_FINITE.has(t)) n = NON_FINITE.get(t)!;
        }
        if (Number.isNaN(n) ? !(typeof v === 'string' && v.trim() === 'NaN') : p === 'float' && Number.isFinite(n) && Math.abs(n) > FLOAT_MAX) {
          fail(column, path, `cannot cast ${describe(v, at)} to ${p}`);
        }
        return n;
      };
    case 'date':
      return (v) => {
        if (typeof v === 'string') {
          const us = /^\d{4}-\d\d-\d\d$/.test(v.trim()) ? parseTimestampMicros(v) : undefined;
          if (us !== undefined) return Number(us / 86_400_000_000n);
        } else if (typeof v === 'number') {
          const us = numberToMicros(v, format);
          if (us !== undefined) return Math.floor(Number(us) / 86_400_000_000);
        }
        return fail(column, path, `cannot cast ${describe(v, at)} to date (expected YYYY-MM-DD)`);
      };
    case 'time':
      return (v) => {
        const m = typeof v === 'string' ? /^(\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,6}))?)?$/.exec(v.trim()) : null;
        if (!m || Number(m[1]) > 23 || Number(m[2]) > 59 || Number(m[3] ?? 0) > 59) fail(column, path, `cannot cast ${describe(v, at)} to time`);
        return (BigInt(Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3] ?? 0)) * 1_000_000n) + BigInt(((m[4] ?? '') + '000000').slice(0, 6));
      };
    case 'timestamp':
    case 'timestamptz':
      return (v) => {
        let us: bigint | undefined;
        if (typeof v === 'string') us = parseTimestampMicros(v);
        else if (typeof v === 'number') us = numberToMicros(v, format);
        if (us === undefined) {
          fail(column, path, `cannot cast ${describe(v, at)} to ${p} (expected ISO-8601${format && format !== 'iso' ? ` or ${format}` : ''})`);
        }
        return us;
      };
    case 'uuid':
      return (v) => {
        if (typeof v !== 'string' || !UUID_RE.test(v)) fail(column, path, `cannot cast ${describe(v, at)} to uuid`);
        return v.toLowerCase();
      };
    case 'binary':
      return (v) => {
        const b = decodeBase64(v);
        if (!b) fail(column, path, `expected base64 text for binary, got ${describe(v, at)}`);
        return b;
      };
    default:
      throw new ValidationError(`transform: column '${column}': type ${p} is not supported in mappings`);
  }
}

function derivedGetter(value: DerivedValue, type: IcebergType, column: string, where: string): Getter {
  const isTime = type === 'timestamptz' || type === 'timestamp';
  const isString = type === 'string';
  const need = (ok: boolean, expected: string) => {
    if (!ok) throw new ValidationError(`${where}.value (${column}): '${value}' needs a ${expected} column, not ${JSON.stringify(type)}`);
  };
  switch (value) {
    case 'processing_time':
      need(isTime, 'timestamp/timestamptz');
      return (_o, ctx) => ctx.processingTimeUs;
    case 'arrival_time':
      need(isTime, 'timestamp/timestamptz');
      return (_o, ctx) => BigInt(ctx.record.arrivalTimeMs) * 1000n;
    case 'partition':
      // Kafka's partition number into an int/long column; a string column takes the partition id.
      if (type === 'int' || type === 'long') {
        return (_o, ctx) => {
          const p = ctx.record.meta.partition;
          if (p === undefined) return null;
          return type === 'long' ? BigInt(p) : Number(p);
        };
      }
      need(isString, 'string, int or long');
      return (_o, ctx) => ctx.record.partitionId;
    case 'shard':
      need(isString, 'string');
      return (_o, ctx) => ctx.record.partitionId;
    case 'key':
      need(isString, 'string');
      // A Kafka record without a key: null; Kinesis: the partition key.
      return (_o, ctx) => ctx.record.meta.key ?? (ctx.record.meta.topic === undefined ? ctx.record.partitionKey : null);
    case 'timestamp':
      need(isTime, 'timestamp/timestamptz');
      return (_o, ctx) => BigInt(ctx.record.arrivalTimeMs) * 1000n;
    case 'topic':
      need(isString, 'string');
      return (_o, ctx) => ctx.record.meta.topic ?? null;
    case 'offset':
      need(type === 'long' || isString, 'long or string');
      return (_o, ctx) => {
        const o = ctx.record.meta.offset;
        if (o === undefined) return null;
        return type === 'long' ? BigInt(o) : o;
      };
    case 'position':
      need(isString, 'string');
      return (_o, ctx) => ctx.record.position;
    case 'sequence_number':
      need(isString, 'string');
      return (_o, ctx) => ctx.record.meta.sequenceNumber ?? ctx.record.position;
    case 'sub_sequence_number':
      need(type === 'long' || type === 'int', 'long');
      return (_o, ctx) => {
        const s = ctx.record.meta.subSequenceNumber;
        if (s === undefined) return null;
        return type === 'long' ? BigInt(s) : Number(s);
      };
    case 'partition_key':
      need(isString, 'string');
      return (_o, ctx) => ctx.record.partitionKey;
    case 'stream':
      need(isString, 'string');
      return (_o, ctx) => ctx.streamName;
  }
}

function pathGetter(path: string): (obj: unknown) => unknown {
  const parts = path.split('.');
  // Own properties only: a record without `constructor` must not read Object.prototype's.
  const own = Object.prototype.hasOwnProperty;
  if (parts.length === 1) {
    const k = parts[0]!;
    return (o) => (own.call(o, k) ? (o as Record<string, unknown>)[k] : undefined);
  }
  return (o) => {
    let cur: unknown = o;
    for (const k of parts) {
      if (cur === null || typeof cur !== 'object' || !own.call(cur, k)) return undefined;
      cur = (cur as Record<string, unknown>)[k];
    }
    return cur;
  };
}

/** Where one table column's value comes from, as compiled (for the JSON fast path). */
export type ColumnSource =
  | { kind: 'path'; column: string; path: string; type: IcebergType; required: boolean; format: TimeFormat | undefined }
  | { kind: 'computed'; get: (ctx: RecordContext) => IcebergValue; value: DerivedValue | undefined };

/** A compiled mapping. */
export interface CompiledTransform {
  /** The table schema the rows follow (top-level field order). */
  schema: Schema;
  /** Where each column of the schema (in field order) takes its value from. */
  sources: readonly ColumnSource[];
  /** Turns a record's parsed JSON into a row (values in schema field order). Throws RecordError. */
  apply(obj: unknown, ctx: RecordContext): IcebergValue[];
  /**
   * {@link apply} into a row the caller reuses (one value per schema field; overwritten in full).
   * On a RecordError the row holds a partial mix of values and must not be used.
   */
  applyInto(obj: unknown, ctx: RecordContext, row: IcebergValue[]): void;
}

/** Validates a mapping and derives the schema of a table to create for it. */
export function schemaForTransform(spec: TransformSpec, what = 'transform'): Schema {
  let id = 0;
  const fields: NestedField[] = spec.columns.map((c, i) => {
    if (!c.type) throw new ValidationError(`${what}.columns[${i}] (${c.name}): 'type' is required to create the table`);
    const type = parseColumnType(c.type, `${what}.columns[${i}].type`);
    return { id: ++id, name: c.name, required: c.required === true, type };
  });
  return { type: 'struct', 'schema-id': 0, fields };
}

/** Parses a mapping's column type (`string`, `TIMESTAMPTZ`, `decimal(9, 2)`, `fixed[16]`); errors name `what`. */
export function parseColumnType(t: string, what: string): IcebergType {
  try {
    return parsePrimitiveType(t.trim().toLowerCase().replace(/\s+/g, ''));
  } catch (e) {
    // The schema module's message says where in a schema JSON; here the config key is what matters.
    const reason = (e as Error).message.split(': ').pop();
    throw new ValidationError(`${what}: invalid type '${t}' (${reason}; a primitive Iceberg type such as string, long, decimal(9,2), timestamptz)`);
  }
}

/**
 * Compiles the mapping against the table schema. Columns of the table that the mapping does not
 * name are null (they must be optional); mapping columns the table lacks are a config error.
 */
export function compileTransform(spec: TransformSpec, schema: Schema, what = 'transform'): CompiledTransform {
  const byName = new Map(spec.columns.map((c, i) => [c.name, { c, i }]));
  for (const [name, { c, i }] of byName) {
    if (!schema.fields.some((f) => f.name === name)) {
      const add = c.type ? ` (add it with \`floe table alter <table> add-column ${name} ${c.type}\`)` : '';
      throw new ValidationError(`${what}.columns[${i}]: the table has no column '${name}'${add}`);
    }
  }
  // Under add_columns and dead_letter, the table's other columns read the field of their name.
  const byOwnName = spec.unmapped !== undefined && spec.unmapped !== 'ignore';
  for (const field of schema.fields) {
    if (byOwnName && !byName.has(field.name)) byName.set(field.name, { c: { name: field.name }, i: -1 });
  }
  const sources: ColumnSource[] = [];
  const getters: Getter[] = schema.fields.map((field) => {
    const entry = byName.get(field.name);
    if (!entry) {
      if (field.required) throw new ValidationError(`${what}: required table column '${field.name}' has no mapping`);
      sources.push({ kind: 'computed', get: () => null, value: undefined });
      return () => null;
    }
    const { c, i } = entry;
    const where = `${what}.columns[${i}]`;
    if (c.type) {
      const declared = parseColumnType(c.type, `${where}.type`);
      if (JSON.stringify(declared) !== JSON.stringify(field.type)) {
        throw new ValidationError(`${where} (${c.name}): type ${c.type} does not match the table's ${JSON.stringify(field.type)}`);
      }
    }
    const given = [c.value !== undefined, c.constant !== undefined, c.path !== undefined, c.header !== undefined].filter(Boolean).length;
    if (given > 1) throw new ValidationError(`${where} (${c.name}): give only one of path, value, constant, header`);
    if (c.header !== undefined) {
      if (field.type !== 'string') throw new ValidationError(`${where}.header (${c.name}): a header needs a string column, not ${JSON.stringify(field.type)}`);
      const key = `header:${c.header}`;
      const required = c.required === true || field.required;
      const get: Getter = (_o, ctx) => {
        const v = ctx.record.meta[key];
        if (v === undefined && required) fail(c.name, `header ${c.header}`, 'required value is missing');
        return v ?? null;
      };
      sources.push({ kind: 'computed', get: (ctx) => get(undefined, ctx), value: undefined });
      return get;
    }
    if (c.value !== undefined) {
      if (!DERIVED.has(c.value)) {
        throw new ValidationError(`${where}.value: unknown value '${String(c.value)}' (one of ${[...DERIVED].join(', ')})`);
      }
      const get = derivedGetter(c.value, field.type, c.name, where);
      sources.push({ kind: 'computed', get: (ctx) => get(undefined, ctx), value: c.value });
      return get;
    }
    const cast = castFor(field.type, c.name, c.path ?? c.name, c.format, (c.path ?? c.name).split('.'));
    const required = c.required === true || field.required;
    if (c.constant !== undefined) {
      if (c.constant === null && required) throw new ValidationError(`${where}.constant (${c.name}): null for a required column`);
      let value: IcebergValue = null;
      try {
        value = c.constant === null ? null : cast(c.constant);
      } catch (e) {
        throw new ValidationError(`${where}.constant (${c.name}): ${(e as Error).message}`);
      }
      sources.push({ kind: 'computed', get: () => value, value: undefined });
      return () => value;
    }
    const path = c.path ?? c.name;
    sources.push({ kind: 'path', column: c.name, path, type: field.type, required, format: c.format });
    const get = pathGetter(path);
    return (obj) => {
      const v = get(obj);
      if (v === undefined || v === null) {
        if (required) fail(c.name, path, 'required value is missing');
        return null;
      }
      return cast(v);
    };
  });
  const applyInto = (obj: unknown, ctx: RecordContext, row: IcebergValue[]): void => {
    current = ctx;
    currentText = undefined;
    currentInexact = undefined;
    currentOverflow = undefined;
    try {
      if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
        throw new RecordError(`transform: record is not a JSON object (got ${Array.isArray(obj) ? 'an array' : describe(obj, [])})`);
      }
      for (let i = 0; i < getters.length; i++) row[i] = getters[i]!(obj, ctx);
    } finally {
      current = undefined;
      currentText = undefined;
    }
  };
  return {
    schema,
    sources,
    apply(obj, ctx) {
      const row = new Array<IcebergValue>(getters.length);
      applyInto(obj, ctx, row);
      return row;
    },
    applyInto,
  };
}
