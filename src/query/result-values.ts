/**
 * Converts DuckDB result values into JSON-safe values and display strings.
 *
 * JSON rules (the `--format json` contract): numbers a double holds exactly are JSON numbers;
 * larger integers and every decimal are strings (a double would round them); dates, times and
 * timestamps are ISO-8601 strings (timestamptz in UTC with `Z`); binary is lowercase hex (as in
 * Iceberg's JSON single-value serialization); lists are arrays, structs objects, maps objects when
 * every key is a string and arrays of {key, value} otherwise. NaN and ±Infinity, which JSON cannot
 * hold, are the strings "NaN", "Infinity", "-Infinity".
 */
import {
  DuckDBArrayValue,
  DuckDBBlobValue,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBListValue,
  DuckDBMapValue,
  DuckDBStructValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  DuckDBTimeValue,
  DuckDBUUIDValue,
  type DuckDBValue,
} from '@duckdb/node-api';

/** A JSON-compatible value. */
export type JsonOut = null | boolean | number | string | JsonOut[] | { [key: string]: JsonOut };

const MICROS_PER_DAY = 86_400_000_000n;

function pad(n: number | bigint, width: number): string {
  return n.toString().padStart(width, '0');
}

/** Days since 1970-01-01 → `YYYY-MM-DD` (proleptic Gregorian, negative years as `-YYYY`). */
export function isoDate(days: number): string {
  const d = new Date(days * 86_400_000);
  const y = d.getUTCFullYear();
  const year = y < 0 ? '-' + pad(-y, 4) : y > 9999 ? '+' + y : pad(y, 4);
  return `${year}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}`;
}

/** Microseconds since midnight → `HH:MM:SS[.ffffff]`. */
export function isoTime(micros: bigint): string {
  const totalSeconds = micros / 1_000_000n;
  const frac = micros % 1_000_000n;
  const h = totalSeconds / 3600n;
  const m = (totalSeconds / 60n) % 60n;
  const s = totalSeconds % 60n;
  const base = `${pad(h, 2)}:${pad(m, 2)}:${pad(s, 2)}`;
  return frac === 0n ? base : `${base}.${pad(frac, 6)}`;
}

/** Microseconds since the epoch → `YYYY-MM-DDTHH:MM:SS[.ffffff]` (no zone). */
export function isoTimestamp(micros: bigint): string {
  let days = micros / MICROS_PER_DAY;
  let rest = micros % MICROS_PER_DAY;
  if (rest < 0n) {
    rest += MICROS_PER_DAY;
    days -= 1n;
  }
  return `${isoDate(Number(days))}T${isoTime(rest)}`;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function jsonNumber(n: number): number | string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return 'Infinity';
  if (n === -Infinity) return '-Infinity';
  return n;
}

/** Converts one DuckDB value to its JSON form (rules in the module comment). */
export function toJsonValue(v: DuckDBValue): JsonOut {
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case 'boolean':
      return v;
    case 'number':
      return jsonNumber(v);
    case 'bigint':
      return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(v)
        : v.toString();
    case 'string':
      return v;
  }
  if (v instanceof DuckDBDecimalValue) return v.toString();
  if (v instanceof DuckDBTimestampTZValue) return v.isFinite ? isoTimestamp(v.micros) + 'Z' : v.toString();
  if (v instanceof DuckDBTimestampValue) return v.isFinite ? isoTimestamp(v.micros) : v.toString();
  if (v instanceof DuckDBTimestampMillisecondsValue) return isoTimestamp(v.millis * 1000n);
  if (v instanceof DuckDBTimestampSecondsValue) return isoTimestamp(v.seconds * 1_000_000n);
  if (v instanceof DuckDBTimestampNanosecondsValue) {
    const micros = v.nanos / 1000n;
    const nanos = ((v.nanos % 1000n) + 1000n) % 1000n;
    const base = isoTimestamp(micros);
    return nanos === 0n ? base : `${base.includes('.') ? base : base + '.000000'}${pad(nanos, 3)}`;
  }
  if (v instanceof DuckDBDateValue) return v.isFinite ? isoDate(v.days) : v.toString();
  if (v instanceof DuckDBTimeValue) return isoTime(v.micros);
  if (v instanceof DuckDBUUIDValue) return v.toString();
  if (v instanceof DuckDBBlobValue) return hex(v.bytes);
  if (v instanceof DuckDBListValue || v instanceof DuckDBArrayValue) return v.items.map(toJsonValue);
  if (v instanceof DuckDBStructValue) {
    const out: { [key: string]: JsonOut } = {};
    for (const [k, item] of Object.entries(v.entries)) out[k] = toJsonValue(item);
    return out;
  }
  if (v instanceof DuckDBMapValue) {
    if (v.entries.every((e) => typeof e.key === 'string')) {
      const out: { [key: string]: JsonOut } = {};
      for (const e of v.entries) out[e.key as string] = toJsonValue(e.value);
      return out;
    }
    return v.entries.map((e) => ({ key: toJsonValue(e.key), value: toJsonValue(e.value) }));
  }
  return String(v);
}

/** Converts one DuckDB value to a display string (table and CSV output). NULL is `null`-less ''. */
export function toDisplayString(v: DuckDBValue): string {
  if (v === null || v === undefined) return '';
  const j = toJsonValue(v);
  if (j === null) return '';
  if (typeof j === 'object') return JSON.stringify(j);
  return String(j);
}
