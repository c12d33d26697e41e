/**
 * Lossless JSON for Iceberg metadata and REST payloads.
 *
 * Snapshot ids are random 64-bit integers and routinely exceed 2^53, so `JSON.parse` would
 * silently corrupt them. `parseJson` returns integers outside the safe range as `bigint`;
 * `stringifyJson` writes `bigint` values as bare JSON numbers.
 */
import { ValidationError } from '../errors.js';

/** A JSON value as parsed by {@link parseJson}. */
export type JsonValue = null | boolean | number | bigint | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * Parses JSON text; integers that a double cannot hold exactly become `bigint`.
 * @param text JSON text
 * @param what names the document in error messages (e.g. a file path)
 */
export function parseJson(text: string, what = 'json'): JsonValue {
  let i = 0;
  const n = text.length;
  const fail = (msg: string): never => {
    throw new ValidationError(`json: ${what}: ${msg} at offset ${i}`);
  };
  const ws = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13) i++;
      else break;
    }
  };
  const value = (): JsonValue => {
    ws();
    if (i >= n) fail('unexpected end of input');
    const c = text[i];
    if (c === '{') {
      i++;
      const obj: { [key: string]: JsonValue } = {};
      ws();
      if (text[i] === '}') {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a string key');
        const key = str();
        ws();
        if (text[i] !== ':') fail("expected ':'");
        i++;
        obj[key] = value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return obj;
        }
        fail("expected ',' or '}'");
      }
    }
    if (c === '[') {
      i++;
      const arr: JsonValue[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value());
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return arr;
        }
        fail("expected ',' or ']'");
      }
    }
    if (c === '"') return str();
    if (text.startsWith('true', i)) {
      i += 4;
      return true;
    }
    if (text.startsWith('false', i)) {
      i += 5;
      return false;
    }
    if (text.startsWith('null', i)) {
      i += 4;
      return null;
    }
    return num();
  };
  const str = (): string => {
    // Fast path: find the closing quote; fall back to JSON.parse for escapes.
    const start = i;
    i++;
    let escaped = false;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 92) {
        escaped = true;
        i += 2;
        continue;
      }
      if (c === 34) break;
      i++;
    }
    if (i >= n) fail('unterminated string');
    i++;
    const raw = text.slice(start, i);
    if (!escaped) return raw.slice(1, -1);
    try {
      return JSON.parse(raw) as string;
    } catch {
      return fail('invalid string escape');
    }
  };
  // -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?, scanned by hand (a regular expression allocated a
  // match per number: most of a metadata file's are snapshot ids, parsed at every commit) and
  // within 400 characters, as before: a longer number stops there (then fails as trailing text).
  const num = (): number | bigint => {
    const start = i;
    const end = Math.min(n, start + 400);
    const digit = (k: number): boolean => {
      if (k >= end) return false;
      const c = text.charCodeAt(k);
      return c >= 48 && c <= 57;
    };
    let k = i;
    if (k < end && text.charCodeAt(k) === 45) k++;
    if (!digit(k)) return fail(`unexpected character '${text[i]}'`);
    if (text.charCodeAt(k) === 48) k++;
    else while (digit(k)) k++;
    let integer = true;
    if (k < end && text.charCodeAt(k) === 46 && digit(k + 1)) {
      integer = false;
      k += 2;
      while (digit(k)) k++;
    }
    if (k < end && (text.charCodeAt(k) | 32) === 101) {
      let e = k + 1;
      if (e < end && (text.charCodeAt(e) === 43 || text.charCodeAt(e) === 45)) e++;
      if (digit(e)) {
        integer = false;
        k = e + 1;
        while (digit(k)) k++;
      }
    }
    i = k;
    const t = text.slice(start, k);
    if (integer) {
      const v = Number(t);
      return Number.isSafeInteger(v) ? v : BigInt(t);
    }
    return Number(t);
  };
  const result = value();
  ws();
  if (i < n) fail('unexpected trailing characters');
  return result;
}

/**
 * Serializes a value to JSON, writing `bigint` as a bare JSON integer.
 * `undefined` object members are omitted, as with `JSON.stringify`.
 */
export function stringifyJson(value: unknown, indent?: number): string {
  const marker = '\u0000bigint:';
  const s = JSON.stringify(
    value,
    (_k, v: unknown) => (typeof v === 'bigint' ? marker + v.toString() : v),
    indent,
  );
  if (s === undefined) return 'null';
  return s.replace(/"\\u0000bigint:(-?\d+)"/g, '$1');
}

/** Converts a JSON number or bigint (or a decimal string) to bigint; `what` names the field in errors. */
export function toBigInt(v: unknown, what: string): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  throw new ValidationError(`json: ${what} must be an integer, got ${JSON.stringify(String(v))}`);
}
