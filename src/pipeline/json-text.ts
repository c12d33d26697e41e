/**
 * JSON text on the record path without recursion on the record's depth, and the exact text of a
 * record's numbers.
 *
 * `JSON.parse` is iterative in V8, but `JSON.stringify` is not: a value nested ~4,500 deep (a
 * 9 KB record) overflows the stack. Anything that serializes a record's value (a string column
 * fed an object, an error message quoting a value) goes through {@link serializeJson}, which
 * walks with its own stack and can stop at a length.
 *
 * `JSON.parse` reads numbers as doubles: `9223372036854775807` arrives as 9223372036854775808,
 * `1e400` as Infinity, `0.10000000000000000001` as 0.1. Where the exact value or text matters (an
 * error message, a long beyond 2^53, a decimal column, a string column fed a number), the casts
 * ask {@link findNumber} for the number's text in the record. That costs a pass over the record,
 * so it is done only when a double may have lost something ({@link mayBeInexact},
 * {@link mayOverflow}, an integer beyond 2^53) or to quote a value in an error.
 */

/** What {@link serializeJson} made of a value. */
export interface SerializedJson {
  /** The JSON text (JSON.stringify's), possibly cut at the limit. */
  text: string;
  /** The text was cut at the limit (it is then a prefix of the whole text). */
  truncated: boolean;
  /** A number that JSON cannot write (Infinity, NaN: a JSON number beyond a double's range). */
  nonFinite: boolean;
}

interface Frame {
  value: unknown;
  /** Object keys (undefined for an array). */
  keys: string[] | undefined;
  next: number;
}

/**
 * JSON.stringify of a value that JSON.parse produced (plain objects, arrays, strings, numbers,
 * booleans, null), the same text, iteratively. Stops once the text passes `limit` characters.
 * A non-finite number is written `null`, as JSON.stringify does, and reported in `nonFinite`.
 */
export function serializeJson(value: unknown, limit = Infinity): SerializedJson {
  const parts: string[] = [];
  let length = 0;
  let nonFinite = false;
  const put = (s: string): void => {
    parts.push(s);
    length += s.length;
  };
  const scalar = (v: unknown): string | undefined => {
    if (typeof v === 'string') {
      // A huge string costs only what the limit keeps.
      return JSON.stringify(v.length > limit - length + 2 ? v.slice(0, Math.max(0, limit - length + 2)) : v);
    }
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) {
        nonFinite = true;
        return 'null';
      }
      return String(v);
    }
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    if (typeof v === 'bigint') return v.toString();
    if (v === null) return 'null';
    return undefined; // an object or array
  };
  const stack: Frame[] = [];
  const open = (v: unknown): void => {
    if (Array.isArray(v)) {
      put('[');
      stack.push({ value: v, keys: undefined, next: 0 });
    } else {
      put('{');
      stack.push({ value: v, keys: Object.keys(v as object), next: 0 });
    }
  };
  const first = scalar(value);
  if (first !== undefined) put(first);
  else open(value);
  while (stack.length > 0 && length <= limit) {
    const top = stack[stack.length - 1]!;
    const keys = top.keys;
    const count = keys === undefined ? (top.value as unknown[]).length : keys.length;
    if (top.next >= count) {
      put(keys === undefined ? ']' : '}');
      stack.pop();
      continue;
    }
    const k = top.next++;
    if (k > 0) put(',');
    let v: unknown;
    if (keys === undefined) v = (top.value as unknown[])[k];
    else {
      const key = keys[k]!;
      put(JSON.stringify(key) + ':');
      v = (top.value as Record<string, unknown>)[key];
    }
    const s = scalar(v);
    if (s !== undefined) put(s);
    else open(v);
  }
  const text = parts.join('');
  if (stack.length > 0 || text.length > limit) return { text: text.slice(0, limit), truncated: true, nonFinite };
  return { text, truncated: false, nonFinite };
}

/**
 * A segment of where a cast's value is in a record: an object key, or a slot (a list element or
 * a map entry) whose array index or key is known only per record, read from the transform's
 * slot values when a number's text is looked up.
 */
export type PathSegment = string | Slot;
/** A list element (`index` of the enclosing array) or a map entry (a key), numbered per cast path. */
export interface Slot {
  slot: number;
}

/**
 * Whether a record's text may hold a number a double does not hold exactly: 16 or more digits
 * in a row (digits and points: `12345678901234567`, `0.1000000000000000001`) or a three-digit
 * exponent (`1e400`, `1e-400`). A number without either has at most 15 significant digits and a
 * double reads it exactly (its shortest form, String(n), is the same decimal value). A regular
 * expression over the text: cheap beside the JSON.parse that precedes it.
 */
export function mayBeInexact(text: string): boolean {
  // Two expressions: one with an alternation backtracks at every digit (measured 3x slower).
  return LONG_EXPONENT.test(text) || LONG_DIGITS.test(text);
}
const LONG_EXPONENT = /[eE][+-]?\d{3}/;
const LONG_DIGITS = /\d[\d.]{15}/;

/**
 * Whether a record's text may hold a number JSON.parse reads as Infinity: a positive three-digit
 * exponent or 309 digits in a row (a double ends near 1.8e308).
 */
export function mayOverflow(text: string): boolean {
  return POSITIVE_LONG_EXPONENT.test(text) || OVERFLOW_DIGITS.test(text);
}
const POSITIVE_LONG_EXPONENT = /[eE]\+?\d{3}/;
const OVERFLOW_DIGITS = /\d{309}/;

/**
 * The text of a number in a record's JSON text, found by its place: `pattern` with its slots
 * read from `slots` (array indexes, map keys). One pass, iterative, nothing allocated per number.
 *
 * `last`: the last number at exactly that place, which is the one JSON.parse kept (a later
 * duplicate key replaces the earlier value and its whole subtree). `overflow`: the first number
 * at or under that place that reads as ±Infinity.
 */
export function findNumber(text: string, pattern: readonly PathSegment[], slots: readonly (string | number)[], mode: 'last' | 'overflow'): string | undefined {
  const want: (string | number | undefined)[] = pattern.map((p) => (typeof p === 'string' ? p : slots[p.slot]));
  const depth = want.length;
  // The keys and indexes leading to the current value; per level whether it is an object.
  const path: (string | number)[] = [];
  const inObject: boolean[] = [];
  let expectKey = false;
  let found: string | undefined;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      const object = c === 0x7b;
      inObject.push(object);
      path.push(object ? '' : 0); // a key is set when read; an index counts commas
      expectKey = object;
      i++;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      inObject.pop();
      path.pop();
      expectKey = false;
      i++;
    } else if (c === 0x2c /* , */) {
      const object = inObject[inObject.length - 1];
      expectKey = object === true;
      if (object === false) path[path.length - 1] = (path[path.length - 1] as number) + 1;
      i++;
    } else if (c === 0x22 /* " */) {
      let j = i + 1;
      let escaped = false;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d === 0x5c) {
          escaped = true;
          j += 2;
        } else if (d === 0x22) break;
        else j++;
      }
      if (expectKey) {
        let key = text.slice(i + 1, j);
        if (escaped) {
          try {
            key = JSON.parse(text.slice(i, j + 1)) as string;
          } catch {
            // not JSON: such a record is refused before any cast
          }
        }
        path[path.length - 1] = key;
        expectKey = false;
      }
      i = j + 1;
    } else if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      let j = i + 1;
      while (j < n) {
        const d = text.charCodeAt(j);
        if ((d >= 0x30 && d <= 0x39) || d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d) j++;
        else break;
      }
      if (mode === 'last' ? path.length === depth : path.length >= depth) {
        let k = 0;
        while (k < depth && path[k] === want[k]) k++;
        if (k === depth) {
          if (mode === 'last') found = text.slice(i, j);
          else if (!Number.isFinite(Number(text.slice(i, j)))) return text.slice(i, j);
        }
      }
      i = j;
    } else i++;
  }
  return found;
}

/**
 * Whether two decimal numbers in JSON syntax have the same value (`1.50` and `15e-1` do), by
 * their digits: no double involved.
 */
export function sameDecimal(a: string, b: string): boolean {
  const x = canonicalDecimal(a);
  return x !== undefined && x === canonicalDecimal(b);
}

/** `sign digits e exponent` with no leading or trailing zero digits; undefined when not a number. */
function canonicalDecimal(s: string): string | undefined {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(s);
  if (!m) return undefined;
  const [, sign = '', int = '', frac = '', exp = '0'] = m;
  let digits = int + frac;
  // Exponents past a few million digits are absurd for any column: compared as text beyond that.
  let e = -frac.length + (exp.length > 9 ? Math.sign(Number(exp)) * 1e9 : Number(exp));
  const lead = digits.search(/[1-9]/);
  if (lead < 0) return '0';
  digits = digits.slice(lead);
  const trail = digits.length - digits.replace(/0+$/, '').length;
  digits = digits.slice(0, digits.length - trail);
  e += trail;
  return `${sign === '-' ? '-' : ''}${digits}e${e}`;
}
