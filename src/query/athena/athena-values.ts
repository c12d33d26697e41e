/**
 * Athena result values (always text in GetQueryResults, typed by `ResultSetMetadata.ColumnInfo`)
 * converted to the JSON values of floe's output formats, following the same rules as DuckDB
 * results (`query/result-values.ts`), so `floe query --engine athena` prints what
 * `floe query` prints for the same data:
 *
 * - booleans are JSON booleans; integers a double holds exactly are numbers, larger ones strings;
 *   real/double are numbers (`NaN`, `Infinity`, `-Infinity` as strings); decimals are strings;
 * - dates are `YYYY-MM-DD`; timestamps ISO-8601 `YYYY-MM-DDTHH:MM:SS[.ffffff]` (Athena prints a
 *   space and always milliseconds); `timestamp with time zone` is converted to UTC with `Z`;
 *   times `HH:MM:SS[.ffffff]`; varbinary lowercase hex (Athena prints spaced hex bytes);
 * - arrays, maps and rows are kept as Athena's text (`[1, 2]`, `{a=1, b=2}`): that format cannot
 *   be parsed back unambiguously (strings are not quoted); `CAST(x AS JSON)` gives JSON text.
 * - A SQL NULL (a Datum without VarCharValue) is null.
 */
import type { JsonOut } from '../result-values.js';
import { isoTimestamp } from '../result-values.js';

/**
 * The base type name of an Athena column type, lower case, without parameters:
 * `timestamp(3) with time zone` → `timestamp with time zone`, `array(integer)` → `array`.
 */
export function athenaBaseType(type: string): string {
  const t = type.trim().toLowerCase();
  const nested = /^(array|map|row)\b/.exec(t);
  if (nested) return nested[1]!;
  return t.replace(/\(\s*\d+\s*(?:,\s*\d+\s*)?\)/g, '').replace(/\s+/g, ' ').trim();
}

/** Fraction digits → the DuckDB rendering: none when zero, 6 digits, or 9 when finer than micros. */
function fraction(digits: string): string {
  if (!digits || /^0*$/.test(digits)) return '';
  if (digits.length <= 6) return '.' + digits.padEnd(6, '0');
  const nine = digits.slice(0, 9).padEnd(9, '0');
  return nine.endsWith('000') ? '.' + nine.slice(0, 6) : '.' + nine;
}

const DATE_TIME = /^(-?\d{4,})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?$/;

/** Whole seconds since the epoch of a wall-clock date and time read as UTC. */
function utcSeconds(m: RegExpExecArray): number {
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  // Date.UTC maps years 0-99 to 1900-1999.
  const year = Number(m[1]);
  if (year >= 0 && year < 100) {
    const d = new Date(ms);
    d.setUTCFullYear(year);
    return d.getTime() / 1000;
  }
  return ms / 1000;
}

function isoFromSeconds(seconds: number, frac: string): string {
  return isoTimestamp(BigInt(seconds) * 1_000_000n) + fraction(frac);
}

/** Offset of an IANA zone from UTC at an instant, in seconds (wall time − UTC). */
function zoneOffsetSeconds(zone: string, epochSeconds: number): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    era: 'short',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(epochSeconds * 1000));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  const era = parts.find((p) => p.type === 'era')?.value;
  const year = era === 'BC' || era === 'B' ? 1 - get('year') : get('year');
  const wallMs = Date.UTC(year, get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  const d = new Date(wallMs);
  if (year >= 0 && year < 100) d.setUTCFullYear(year);
  return d.getTime() / 1000 - epochSeconds;
}

/**
 * Seconds to subtract from a wall time in `zone` to get UTC, or undefined for an unknown zone.
 * Zones: `UTC`/`Z`/`GMT`, `+HH:MM`/`-HH:MM` (also `+HHMM`, `+HH`), or an IANA name.
 */
function offsetOf(zone: string, wallSeconds: number): number | undefined {
  if (/^(UTC|Z|GMT|UT|Etc\/UTC|Etc\/GMT)$/i.test(zone)) return 0;
  const fixed = /^(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?$/i.exec(zone);
  if (fixed) return (fixed[1] === '-' ? -1 : 1) * (Number(fixed[2]) * 3600 + Number(fixed[3] ?? 0) * 60);
  try {
    // Two passes: the offset at the wall time read as UTC, then at the corrected instant (DST edges).
    const first = zoneOffsetSeconds(zone, wallSeconds);
    return zoneOffsetSeconds(zone, wallSeconds - first);
  } catch {
    return undefined;
  }
}

/** `2026-01-08 15:16:52.000` → `2026-01-08T15:16:52`; unparseable text is returned as is. */
export function athenaTimestampToIso(text: string): string {
  const m = DATE_TIME.exec(text.trim());
  if (!m) return text;
  return isoFromSeconds(utcSeconds(m), m[7] ?? '');
}

/**
 * `2026-01-08 15:16:52.000 UTC` (or `… Asia/Tokyo`, `… +09:00`) → `2026-01-08T15:16:52Z` in UTC;
 * text that does not parse, or names an unknown zone, is returned as is.
 */
export function athenaTimestampTzToIso(text: string): string {
  const t = text.trim();
  const i = t.lastIndexOf(' ');
  const local = i > 0 ? t.slice(0, i) : t;
  let zone = i > 0 ? t.slice(i + 1) : 'UTC';
  let m = DATE_TIME.exec(local);
  if (!m) {
    // `2026-01-08 15:16:52.000+09:00` (offset glued to the time)
    const glued = /^(.*\d)([+-]\d{2}:?\d{2})$/.exec(t);
    if (!glued) return text;
    m = DATE_TIME.exec(glued[1]!);
    zone = glued[2]!;
    if (!m) return text;
  }
  const wall = utcSeconds(m);
  const offset = offsetOf(zone, wall);
  if (offset === undefined) return text;
  return isoFromSeconds(wall - offset, m[7] ?? '') + 'Z';
}

/** `15:16:52.000` → `15:16:52`. */
export function athenaTimeToIso(text: string): string {
  const m = /^(\d{2}:\d{2}:\d{2})(?:\.(\d+))?$/.exec(text.trim());
  return m ? m[1]! + fraction(m[2] ?? '') : text;
}

function integer(text: string): JsonOut {
  if (!/^[+-]?\d+$/.test(text.trim())) return text;
  const v = BigInt(text.trim());
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

function floating(text: string): JsonOut {
  const t = text.trim();
  if (t === 'NaN' || t === 'Infinity' || t === '-Infinity') return t;
  const n = Number(t);
  return t !== '' && Number.isFinite(n) ? n : text;
}

/**
 * One Athena value as floe's JSON value (rules in the module comment).
 * @param type the column's `ColumnInfo.Type` (`bigint`, `timestamp with time zone`, …)
 * @param text the Datum's VarCharValue; undefined for SQL NULL
 */
export function athenaValueToJson(type: string, text: string | undefined): JsonOut {
  if (text === undefined) return null;
  switch (athenaBaseType(type)) {
    case 'boolean':
      return text === 'true' ? true : text === 'false' ? false : text;
    case 'tinyint':
    case 'smallint':
    case 'integer':
    case 'int':
    case 'bigint':
      return integer(text);
    case 'real':
    case 'float':
    case 'double':
      return floating(text);
    case 'timestamp':
      return athenaTimestampToIso(text);
    case 'timestamp with time zone':
      return athenaTimestampTzToIso(text);
    case 'time':
      return athenaTimeToIso(text);
    case 'varbinary':
      return /^[0-9a-f]{2}( [0-9a-f]{2})*$/i.test(text.trim()) ? text.replace(/\s+/g, '').toLowerCase() : text;
    default:
      // varchar, char, decimal, date, uuid, json, array, map, row, interval…: the text itself.
      return text;
  }
}
