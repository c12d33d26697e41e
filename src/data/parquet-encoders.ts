/**
 * Encoders: check an Iceberg value against its type, record it in the leaf metrics, and convert
 * it to the DuckDB value the node-api vector writers take (nested types, decimals, uuids; the
 * typed-array route of `parquet-columns.ts` uses the same checks and messages).
 */
import {
  DuckDBBlobValue,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBListValue,
  DuckDBMapValue,
  DuckDBStructValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTimeValue,
  DuckDBUUIDValue,
  type DuckDBMapEntry,
  type DuckDBValue,
} from '@duckdb/node-api';
import { UnsupportedError, ValidationError } from '../errors.js';
import { decimalParams, fixedLength, primitiveKind } from '../iceberg/schema-types.js';
import type { IcebergType, IcebergValue, PrimitiveType } from '../iceberg/types.js';
import { isUnknown } from './parquet-copy.js';
import { LeafStats } from './parquet-metrics.js';

/** Checks, counts and converts the values of one type (a column, or a part of a nested one). */
export interface Encoder {
  /** Converts a non-null value. */
  encode(v: IcebergValue): DuckDBValue;
  /** Records a null (or absent) slot in every leaf beneath. */
  addNull(): void;
}

function describe(v: IcebergValue): string {
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  if (v instanceof Map) return `a Map of ${v.size}`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  const s = typeof v === 'bigint' ? `${v}n` : JSON.stringify(v);
  return `${typeof v} ${s !== undefined && s.length > 60 ? s.slice(0, 57) + '...' : s}`;
}

/** Refuses a value that does not match its type; the message names the field path. */
export function badValue(path: string, type: string, v: IcebergValue, why?: string): never {
  throw new ValidationError(
    `parquet-writer: ${path}: ${why ?? `expected a ${type} value`}, got ${describe(v)}`,
  );
}

// Shared with the typed-array route (parquet-columns.ts), so its checks and messages match.
/** The smallest 64-bit value. */
export const INT64_MIN = -(2n ** 63n);
/** The largest 64-bit value. */
export const INT64_MAX = 2n ** 63n - 1n;
const MICROS_PER_DAY = 86_400_000_000n;
/** What a bad `time` value is told. */
export const TIME_MESSAGE = 'expected microseconds since midnight as a bigint in [0, 86400000000) (time)';
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function int64(path: string, type: string, v: IcebergValue): bigint {
  if (typeof v !== 'bigint') badValue(path, type, v, `expected a bigint (${type})`);
  if (v < INT64_MIN || v > INT64_MAX) badValue(path, type, v, `${type} value out of the 64-bit range`);
  return v;
}

/**
 * Checks a non-null value against a primitive type, records it in the leaf's metrics and returns
 * it in its plain form (what the typed columns of `duckdb/column-scan.ts` hold): boolean, number
 * (int, date, float, double), bigint (long, decimal unscaled, time, timestamps), string (string,
 * uuid lowercased), Uint8Array (fixed, binary).
 */
export function primitiveCheck(type: PrimitiveType, path: string, leaf: LeafStats): (v: IcebergValue) => IcebergValue {
  const kind = primitiveKind(type);
  switch (kind) {
    case 'boolean':
      return (v) => {
        if (typeof v !== 'boolean') badValue(path, type, v);
        leaf.add(v);
        return v;
      };
    case 'int':
      return (v) => {
        if (typeof v !== 'number' || (v | 0) !== v) badValue(path, type, v, 'expected a 32-bit integer (int)');
        leaf.add(v);
        return v;
      };
    case 'date':
      return (v) => {
        if (typeof v !== 'number' || (v | 0) !== v) badValue(path, type, v, 'expected days since 1970-01-01 as a 32-bit integer (date)');
        leaf.add(v);
        return v;
      };
    case 'long':
    case 'timestamp':
    case 'timestamptz':
    case 'timestamp_ns':
      return (v) => {
        const x = int64(path, type, v);
        leaf.add(x);
        return x;
      };
    case 'float':
      return (v) => {
        if (typeof v !== 'number') badValue(path, type, v);
        if (v !== v) leaf.addNaN();
        // Bounds are taken from the value as stored: a 32-bit float.
        else leaf.add(Math.fround(v));
        return v;
      };
    case 'double':
      return (v) => {
        if (typeof v !== 'number') badValue(path, type, v);
        if (v !== v) leaf.addNaN();
        else leaf.add(v);
        return v;
      };
    case 'decimal': {
      const { precision } = decimalParams(type)!;
      const limit = 10n ** BigInt(precision);
      return (v) => {
        if (typeof v !== 'bigint') badValue(path, type, v, `expected the unscaled value as a bigint (${type})`);
        if (v >= limit || v <= -limit) badValue(path, type, v, `unscaled value has more than ${precision} digits (${type})`);
        leaf.add(v);
        return v;
      };
    }
    case 'time':
      return (v) => {
        if (typeof v !== 'bigint' || v < 0n || v >= MICROS_PER_DAY) badValue(path, type, v, TIME_MESSAGE);
        leaf.add(v);
        return v;
      };
    case 'string':
      return (v) => {
        if (typeof v !== 'string') badValue(path, type, v);
        leaf.add(v);
        return v;
      };
    case 'uuid':
      return (v) => {
        if (typeof v !== 'string' || !UUID_RE.test(v)) badValue(path, type, v, 'expected a uuid string (8-4-4-4-12 hex)');
        const lower = v.toLowerCase();
        leaf.add(lower);
        return lower;
      };
    case 'fixed': {
      const length = fixedLength(type)!;
      return (v) => {
        if (!(v instanceof Uint8Array)) badValue(path, type, v, `expected a Uint8Array (${type})`);
        if (v.length !== length) badValue(path, type, v, `expected exactly ${length} bytes (${type})`);
        leaf.add(v);
        return v;
      };
    }
    case 'binary':
      return (v) => {
        if (!(v instanceof Uint8Array)) badValue(path, type, v, 'expected a Uint8Array (binary)');
        leaf.add(v);
        return v;
      };
    default:
      throw new UnsupportedError(`parquet-writer: ${path}: type ${type} cannot be written`);
  }
}

/** The DuckDB value of a checked plain value (see {@link primitiveCheck}). */
function duckdbValueOf(type: PrimitiveType): (v: IcebergValue) => DuckDBValue {
  switch (primitiveKind(type)) {
    case 'date':
      return (v) => new DuckDBDateValue(v as number);
    case 'decimal': {
      const { precision, scale } = decimalParams(type)!;
      return (v) => new DuckDBDecimalValue(v as bigint, precision, scale);
    }
    case 'time':
      return (v) => new DuckDBTimeValue(v as bigint);
    case 'timestamp':
      return (v) => new DuckDBTimestampValue(v as bigint);
    case 'timestamptz':
      return (v) => new DuckDBTimestampTZValue(v as bigint);
    case 'timestamp_ns':
      return (v) => new DuckDBTimestampNanosecondsValue(v as bigint);
    case 'uuid':
      return (v) => DuckDBUUIDValue.fromUint128(BigInt('0x' + (v as string).replace(/-/g, '')));
    case 'fixed':
    case 'binary':
      return (v) => new DuckDBBlobValue(v as Uint8Array);
    default:
      // boolean, int, long, float, double, string: DuckDB takes the JS value itself.
      return (v) => v as DuckDBValue;
  }
}

function primitiveEncoder(type: PrimitiveType, path: string, leaf: LeafStats): Encoder {
  const check = primitiveCheck(type, path, leaf);
  const wrap = duckdbValueOf(type);
  return {
    addNull: () => leaf.addNull(),
    encode: (v) => wrap(check(v)),
  };
}

/** Refuses a null in a required field (or list element, map key or value). */
export function nullInRequired(path: string): never {
  throw new ValidationError(`parquet-writer: ${path}: null in a required field`);
}

/**
 * Builds the encoder of a value of `type` and registers its leaves, in Parquet column order
 * (depth first), in `leaves`.
 */
export function encoderFor(type: IcebergType, fieldId: number, path: string, repeated: boolean, leaves: LeafStats[]): Encoder {
  if (typeof type === 'string') {
    const leaf = new LeafStats(fieldId, type, !repeated);
    leaves.push(leaf);
    return primitiveEncoder(type, path, leaf);
  }
  switch (type.type) {
    case 'struct': {
      const n = type.fields.length;
      // Values hold every field in order; `unknown` fields are not written (and hold nulls).
      const positions: number[] = [];
      type.fields.forEach((f, i) => {
        if (!isUnknown(f.type)) positions.push(i);
      });
      const fields = positions.map((i) => type.fields[i]!);
      const names = fields.map((f) => f.name);
      const required = fields.map((f) => f.required);
      const children = fields.map((f) => encoderFor(f.type, f.id, `${path}.${f.name}`, repeated, leaves));
      return {
        addNull() {
          for (const c of children) c.addNull();
        },
        encode(v) {
          if (!Array.isArray(v) || v.length !== n) {
            badValue(path, 'struct', v, `expected a struct as an array of its ${n} field values`);
          }
          // A null-prototype object: a field named "__proto__" stays an ordinary entry.
          const entries: Record<string, DuckDBValue> = Object.create(null) as Record<string, DuckDBValue>;
          for (let i = 0; i < children.length; i++) {
            const x = v[positions[i]!] as IcebergValue | undefined;
            if (x === null || x === undefined) {
              if (required[i]) nullInRequired(`${path}.${names[i]}`);
              children[i]!.addNull();
              entries[names[i]!] = null;
            } else {
              entries[names[i]!] = children[i]!.encode(x);
            }
          }
          return new DuckDBStructValue(entries);
        },
      };
    }
    case 'list': {
      const element = encoderFor(type.element, type['element-id'], `${path}.element`, true, leaves);
      const elementRequired = type['element-required'];
      return {
        addNull() {
          element.addNull();
        },
        encode(v) {
          if (!Array.isArray(v)) badValue(path, 'list', v, 'expected a list as an array');
          // An empty list still takes one (null) slot in each leaf column.
          if (v.length === 0) element.addNull();
          const items: DuckDBValue[] = new Array<DuckDBValue>(v.length);
          for (let i = 0; i < v.length; i++) {
            const x = v[i] as IcebergValue | undefined;
            if (x === null || x === undefined) {
              if (elementRequired) nullInRequired(`${path}.element`);
              element.addNull();
              items[i] = null;
            } else {
              items[i] = element.encode(x);
            }
          }
          return new DuckDBListValue(items);
        },
      };
    }
    case 'map': {
      const key = encoderFor(type.key, type['key-id'], `${path}.key`, true, leaves);
      const value = encoderFor(type.value, type['value-id'], `${path}.value`, true, leaves);
      const valueRequired = type['value-required'];
      return {
        addNull() {
          key.addNull();
          value.addNull();
        },
        encode(v) {
          if (!(v instanceof Map)) badValue(path, 'map', v, 'expected a map as a Map');
          if (v.size === 0) {
            key.addNull();
            value.addNull();
          }
          const entries: DuckDBMapEntry[] = [];
          for (const [k, x] of v) {
            if (k === null || k === undefined) nullInRequired(`${path}.key`);
            const ek = key.encode(k);
            let ev: DuckDBValue = null;
            if (x === null || x === undefined) {
              if (valueRequired) nullInRequired(`${path}.value`);
              value.addNull();
            } else {
              ev = value.encode(x);
            }
            entries.push({ key: ek, value: ev });
          }
          return new DuckDBMapValue(entries);
        },
      };
    }
    default:
      throw new ValidationError(`parquet-writer: ${path}: not an Iceberg type`);
  }
}
