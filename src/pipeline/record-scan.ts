/**
 * The JSON fast path: reads a record's bytes straight into a {@link RawRow}, without decoding
 * them to a string, parsing them into objects or encoding the strings back to UTF-8.
 *
 * It handles the shape nearly every stream carries (a JSON object whose mapped fields, at the top
 * or along dotted paths through nested objects, are plain strings without escapes, ISO timestamps
 * of the common shape, `YYYY-MM-DD` dates, integers, short decimals and booleans) and declines everything else: escapes
 * in a mapped string, a number where a string is mapped, a duplicate mapped key (or object on a
 * path), an array or scalar where a path expects an object, a missing required field, invalid JSON
 * or UTF-8. A declined record goes through the general path (TextDecoder → JSON.parse →
 * `transform.ts`), which then produces its row or its exact error. So every record the fast path accepts gets the value the
 * general path would give it (test/pipeline/record-scan.differential.test.ts checks this on
 * generated and mutated records), and no error message has two sources.
 *
 * It validates the whole record as the general path does: JSON grammar (including fields it does
 * not map, nested to any reasonable depth), UTF-8 of every string, nothing after the object.
 */
import { newRawRow, RAW_INT64, RAW_NULL, RAW_UTF8, RAW_VALUE, type RawRow, type RawStage } from '../data/column-batch.js';
import { encodedKindOf } from '../data/encoded-column.js';
import { FloeError } from '../errors.js';
import type { IcebergType } from '../iceberg/types.js';
import { civilSeconds } from '../iceberg/civil-time.js';
import { nativeScanBinding, type NativeScanBinding } from './record-scan-native.js';
import type { CompiledTransform, ColumnSource, RecordContext } from './transform.js';

const K_STRING = 1;
const K_TIMESTAMP = 2;
const K_LONG = 3;
const K_INT = 4;
const K_DOUBLE = 5;
const K_FLOAT = 6;
const K_BOOLEAN = 7;
const K_DATE = 8;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;

/** Deeper nesting in fields that are not mapped is left to the general path. */
const MAX_DEPTH = 64;
const FLOAT_MAX = 3.4028234663852886e38;
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i); // exact doubles up to 1e22

/** A mapped leaf: a column read from a scalar at the end of its path. */
interface Field {
  /** Position of the column in the schema (and the raw row). */
  index: number;
  kind: number;
  required: boolean;
  /** Its slot in `seen` (its key's). */
  slot: number;
}

/** A key of a mapped object: a leaf, or an object holding more mapped keys (a nested path). */
interface Entry {
  /** The key as UTF-8. */
  key: Uint8Array;
  /**
   * The key's bytes need no escape in JSON (no quote, backslash or control character), so a
   * record's key with exactly these bytes before a closing quote is this key.
   */
  plain: boolean;
  /** Per record, whether the key was seen (duplicates are declined): its index in `seen`. */
  slot: number;
  leaf: Field | undefined;
  child: Level | undefined;
}

/** The mapped keys of one object of the record (the record itself, or an object on a path). */
interface Level {
  entries: Entry[];
  /** Entry to try first: keys usually come in the order of the last record. */
  next: number;
}

function kindOf(type: IcebergType): number | undefined {
  switch (type) {
    case 'string':
      return K_STRING;
    case 'timestamp':
    case 'timestamptz':
      return K_TIMESTAMP;
    case 'long':
      return K_LONG;
    case 'int':
      return K_INT;
    case 'double':
      return K_DOUBLE;
    case 'float':
      return K_FLOAT;
    case 'boolean':
      return K_BOOLEAN;
    case 'date':
      return K_DATE;
    default:
      return undefined;
  }
}

const encoder = new TextEncoder();

/** Reads records of one compiled mapping on the fast path (see the file comment). */
export class RecordScanner {
  /** The row the last successful {@link scan} filled (reused: copy it out before the next scan). */
  readonly row: RawRow;
  private readonly root: Level;
  /** Every leaf, for the end-of-record check of missing fields. */
  private readonly leaves: Field[];
  private readonly computed: { index: number; get: (ctx: RecordContext) => unknown; int64: boolean; perPoll: boolean }[];
  /** The computed columns' indexes, tags and values handed to {@link scanStagedRun}. */
  private runColumns: { index: Int32Array; tag: Uint8Array; num: Float64Array } | undefined;
  /** The last computed bigint seen and its number (processing time is one bigint per batch). */
  private lastBig: bigint | undefined;
  private lastBigNumber = 0;
  /** Per key slot, the record count when it was last seen: no clearing between records. */
  private readonly seen: Uint32Array;
  private generation = 0;
  private data: Uint8Array = new Uint8Array(0);
  /** The native build of this scanner (`native/record_scan.c`), when used. */
  private readonly binding: NativeScanBinding | undefined;
  private readonly handle: unknown;
  /**
   * Leaves whose value the native scanner leaves as a number in `nums` (ints, floats, doubles,
   * dates; booleans as 0 or 1): moved to `values` after a native scan.
   */
  private readonly numberLeaves: { index: number; boolean: boolean }[];

  /**
   * A key the mapping does not read (at the top or in an object on a path) makes the record
   * declined instead of skipped: `transform.unmapped` other than `ignore` decides on the general
   * path (`unmapped.ts`), and records without such keys keep the fast path.
   */
  private readonly strictKeys: boolean;

  private constructor(root: Level, leaves: Field[], slots: number, computed: RecordScanner['computed'], columns: number, native: boolean, strictKeys: boolean) {
    this.root = root;
    this.strictKeys = strictKeys;
    this.leaves = leaves;
    this.computed = computed;
    this.row = newRawRow(columns);
    this.seen = new Uint32Array(slots);
    this.numberLeaves = leaves
      .filter((f) => f.kind === K_INT || f.kind === K_DOUBLE || f.kind === K_FLOAT || f.kind === K_BOOLEAN || f.kind === K_DATE)
      .map((f) => ({ index: f.index, boolean: f.kind === K_BOOLEAN }));
    // A build older than the strict-keys option would skip unknown keys: the JavaScript scanner then.
    const found = native ? nativeScanBinding() : undefined;
    const binding = found !== undefined && (!strictKeys || found.strictKeys === true) ? found : undefined;
    if (binding !== undefined) {
      const { spec, keys, levels } = flatten(root);
      const row = this.row;
      this.handle = binding.create(spec, keys, levels, row.tags, row.from, row.to, row.nums, strictKeys ? 1 : 0);
      this.binding = binding;
    }
  }

  /** The stage {@link scanStaged} fills, once {@link attachStage} gave one. */
  private stage: RawStage | undefined;

  /**
   * Whether {@link attachStage} can be used: the native scanner, and computed columns that
   * all go in 64-bit integer columns (processing time, arrival time…), the stage's other kind
   * of number.
   */
  get stageable(): boolean {
    return this.binding !== undefined && this.computed.every((c) => c.int64);
  }

  /**
   * Makes {@link scanStaged} fill `stage` (one of {@link RawStage}'s for this scanner's columns).
   * Only when {@link stageable}.
   */
  attachStage(stage: RawStage): void {
    if (!this.stageable || this.stage !== undefined) {
      throw new FloeError('INTERNAL', `record-scan: this scanner cannot take a stage (${this.binding === undefined ? 'not native' : this.stage !== undefined ? 'it has one' : 'computed columns other than 64-bit integers'})`);
    }
    this.binding!.stage(this.handle, stage.capacity, stage.regionBytes, stage.tags, stage.nums, stage.lengths, stage.bytes, stage.state);
    this.stage = stage;
  }

  /**
   * Reads one record into the next row of the stage, with its computed columns: {@link STAGED};
   * {@link DECLINED} (the general path decides); {@link NO_ROOM} (the stage must be emptied
   * first; nothing was staged); {@link UNSTAGED} (a computed value the stage cannot hold, a
   * bigint beyond 2^53: read this record with {@link scan}).
   */
  scanStaged(data: Uint8Array, ctx: RecordContext): number {
    const stage = this.stage!;
    const r = stage.state[0]!;
    if (r >= stage.capacity) return NO_ROOM;
    const computed = this.computed;
    for (let k = 0; k < computed.length; k++) {
      const c = computed[k]!;
      const v = c.get(ctx);
      const at = c.index * stage.capacity + r;
      if (v === null || v === undefined) {
        stage.tags[at] = RAW_NULL;
        continue;
      }
      const x = typeof v === 'bigint' ? this.safeNumber(v) : undefined;
      if (x === undefined) return UNSTAGED;
      stage.tags[at] = RAW_INT64;
      stage.nums[at] = x;
    }
    return this.binding!.scanStaged(this.handle, data);
  }

  /**
   * Whether {@link scanStagedRun} can be used: a stage, a native build that has it, and computed
   * columns whose value is the same for every record of a poll (the processing time).
   */
  get runnable(): boolean {
    return this.stage !== undefined && typeof this.binding?.scanStagedRun === 'function' && this.computed.every((c) => c.perPoll);
  }

  /**
   * Stages records `from`..`to` (exclusive) of a block's `data`, record i being `[starts[i],
   * ends[i])` (without `starts`: `[ends[i - 1], ends[i])`, from 0 for the first), in one native
   * call, every row with the computed columns of `ctx` (one value for all: {@link runnable}).
   * Returns how many were staged: it stops at the first record declined or not fitting the stage
   * (read that one with {@link scanStaged}, which says which), at `to`, or with the stage full. 0
   * when a computed value cannot be staged (a bigint beyond 2^53).
   */
  scanStagedRun(data: Uint8Array, ends: Int32Array, starts: Int32Array | null, from: number, to: number, ctx: RecordContext): number {
    const computed = this.computed;
    const cols = (this.runColumns ??= {
      index: Int32Array.from(computed, (c) => c.index),
      tag: new Uint8Array(computed.length),
      num: new Float64Array(computed.length),
    });
    for (let k = 0; k < computed.length; k++) {
      const v = computed[k]!.get(ctx);
      if (v === null || v === undefined) {
        cols.tag[k] = RAW_NULL;
        cols.num[k] = 0;
        continue;
      }
      const x = typeof v === 'bigint' ? this.safeNumber(v) : undefined;
      if (x === undefined) return 0;
      cols.tag[k] = RAW_INT64;
      cols.num[k] = x;
    }
    return this.binding!.scanStagedRun!(this.handle, data, ends, starts, from, to, cols.index, cols.tag, cols.num);
  }

  /** Whether records are read by the native build of the scanner (else by this file's code). */
  get native(): boolean {
    return this.binding !== undefined;
  }

  /**
   * A scanner for the mapping, or undefined when some column needs the general path every time
   * (a type the fast path does not read: decimal, time, uuid, binary…; a path with an empty
   * or numeric segment, which may index an array; a path that is also the prefix of another).
   */
  static for(transform: CompiledTransform, options: { native?: boolean; strictKeys?: boolean } = {}): RecordScanner | undefined {
    const root: Level = { entries: [], next: 0 };
    const leaves: Field[] = [];
    const computed: RecordScanner['computed'] = [];
    let slots = 0;
    const sources: readonly ColumnSource[] = transform.sources;
    for (let index = 0; index < sources.length; index++) {
      const s = sources[index]!;
      if (s.kind === 'computed') {
        const type = transform.schema.fields[index]?.type;
        // The processing time is one value for every record of a poll (the pipeline's).
        computed.push({ index, get: s.get, int64: type !== undefined && encodedKindOf(type) === 'int64', perPoll: s.value === 'processing_time' });
        continue;
      }
      const kind = kindOf(s.type);
      if (kind === undefined) return undefined;
      const segments = s.path.split('.');
      if (segments.some((g) => g === '' || /^\d+$/.test(g))) return undefined;
      let level = root;
      for (let k = 0; k < segments.length; k++) {
        const key = encoder.encode(segments[k]!);
        const last = k === segments.length - 1;
        let entry = level.entries.find((e) => e.key.length === key.length && e.key.every((b, i) => b === key[i]));
        if (entry === undefined) {
          entry = { key, plain: key.every((b) => b >= 0x20 && b !== QUOTE && b !== BACKSLASH), slot: slots++, leaf: undefined, child: undefined };
          level.entries.push(entry);
        } else if (last || entry.leaf !== undefined) {
          return undefined; // the same path twice, or a leaf that is also an object on another path
        }
        if (last) {
          if (entry.child !== undefined) return undefined;
          entry.leaf = { index, kind, required: s.required, slot: entry.slot };
          leaves.push(entry.leaf);
        } else {
          entry.child ??= { entries: [], next: 0 };
          level = entry.child;
        }
      }
    }
    return new RecordScanner(root, leaves, slots, computed, sources.length, options.native ?? true, options.strictKeys ?? false);
  }

  /**
   * Reads one record into {@link row}. False when the record is not one the fast path reads
   * (the general path must then decide); the row's content is undefined in that case.
   */
  scan(data: Uint8Array, ctx: RecordContext): boolean {
    const binding = this.binding;
    if (binding !== undefined) {
      if (!binding.scan(this.handle, data)) return false;
      this.data = data;
      const row = this.row;
      const numberLeaves = this.numberLeaves;
      for (let k = 0; k < numberLeaves.length; k++) {
        const f = numberLeaves[k]!;
        if (row.tags[f.index] === RAW_VALUE) row.values[f.index] = f.boolean ? row.nums[f.index] !== 0 : row.nums[f.index]!;
      }
      this.finish(ctx);
      return true;
    }
    this.data = data;
    const n = data.length;
    const seen = this.seen;
    let gen = this.generation + 1;
    if (gen > 0xffff_ffff) {
      // After 2^32 records: start over, or a field seen 2^32 records ago would count as seen now.
      seen.fill(0);
      gen = 1;
    }
    this.generation = gen;
    let p = this.ws(0);
    if (p >= n || data[p] !== LBRACE) return false;
    p = this.object(p, this.root, 0);
    if (p < 0 || this.ws(p) !== n) return false;
    const row = this.row;
    const leaves = this.leaves;
    for (let f = 0; f < leaves.length; f++) {
      const field = leaves[f]!;
      if (seen[field.slot] === gen) continue;
      // Missing, or under a missing or null object: null, as the general path reads it.
      if (field.required) return false;
      row.tags[field.index] = RAW_NULL;
    }
    this.finish(ctx);
    return true;
  }

  /**
   * A computed bigint as a number when it is a safe integer, else undefined. The last one is
   * kept: processing time is one bigint per batch, so most records convert nothing.
   */
  private safeNumber(v: bigint): number | undefined {
    if (v === this.lastBig) return this.lastBigNumber;
    const x = Number(v);
    if (!Number.isSafeInteger(x)) return undefined;
    this.lastBig = v;
    this.lastBigNumber = x;
    return x;
  }

  /** The computed columns of a scanned record, and the record's bytes. */
  private finish(ctx: RecordContext): void {
    const row = this.row;
    const data = this.data;
    const computed = this.computed;
    for (let k = 0; k < computed.length; k++) {
      const c = computed[k]!;
      const v = c.get(ctx) as RawRow['values'][number];
      if (c.int64 && typeof v === 'bigint') {
        // A 64-bit column's bigint within 2^53 goes in as a number: the column stores it without
        // bigint comparisons (appendInt64 ≡ append(BigInt(x)), encoded-column.raw.test.ts).
        const x = this.safeNumber(v);
        if (x !== undefined) {
          row.tags[c.index] = RAW_INT64;
          row.nums[c.index] = x;
          continue;
        }
      }
      row.tags[c.index] = RAW_VALUE;
      row.values[c.index] = v;
    }
    row.bytes = data;
  }

  /** Position of the first byte at or after `p` that is not JSON whitespace. */
  private ws(p: number): number {
    const data = this.data;
    for (;;) {
      const c = data[p];
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return p;
      p++;
    }
  }

  /**
   * Scans the object at `p` (its `{`), reading the keys of `level` into the row and validating
   * the rest; the position after its `}`, or -1 (decline). `depth`: objects around it.
   */
  private object(p: number, level: Level, depth: number): number {
    const data = this.data;
    const seen = this.seen;
    const gen = this.generation;
    p = this.ws(p + 1);
    if (data[p] === RBRACE) return p + 1;
    for (;;) {
      if (data[p] !== QUOTE) return -1;
      const keyFrom = p + 1;
      // Keys usually come in the order of the last record: try the next expected key's bytes
      // first, which also scans the key (one pass instead of a scan and a match).
      let e = this.expected(level, keyFrom);
      let keyTo: number;
      if (e >= 0) keyTo = keyFrom + level.entries[e]!.key.length;
      else {
        keyTo = this.string(keyFrom, true);
        if (keyTo < 0) return -1;
        e = this.match(level, keyFrom, keyTo);
      }
      p = this.ws(keyTo + 1);
      if (data[p] !== COLON) return -1;
      p = this.ws(p + 1);
      if (e < 0) {
        if (this.strictKeys) return -1;
        p = this.skip(p, depth);
      } else {
        const entry = level.entries[e]!;
        if (seen[entry.slot] === gen) return -1; // JSON.parse keeps the last: the general path decides
        seen[entry.slot] = gen;
        if (entry.leaf !== undefined) p = this.value(entry.leaf, p);
        else {
          const c = data[p];
          // An object on a path: its keys. null: what is under it is missing. Anything else
          // (an array the general path may index, a scalar): the general path decides.
          if (c === LBRACE && depth + 1 < MAX_DEPTH) p = this.object(p, entry.child!, depth + 1);
          else if (c === 0x6e /* n */) p = this.literal(p, NULL);
          else return -1;
        }
      }
      if (p < 0) return -1;
      p = this.ws(p);
      const c = data[p];
      if (c === COMMA) {
        p = this.ws(p + 1);
        continue;
      }
      return c === RBRACE ? p + 1 : -1;
    }
  }

  /**
   * The level's expected entry when the key starting at `from` is exactly its (plain) key
   * followed by the closing quote, or -1 (the key must then be scanned and matched).
   */
  private expected(level: Level, from: number): number {
    const entries = level.entries;
    if (entries.length === 0) return -1;
    const e = level.next;
    const entry = entries[e]!;
    if (!entry.plain) return -1;
    const key = entry.key;
    const len = key.length;
    const data = this.data;
    if (data[from + len] !== QUOTE) return -1;
    for (let i = 0; i < len; i++) if (key[i] !== data[from + i]) return -1;
    level.next = e + 1 === entries.length ? 0 : e + 1;
    return e;
  }

  /** The level's entry whose key is `data[from, to)`, or -1. */
  private match(level: Level, from: number, to: number): number {
    const entries = level.entries;
    const count = entries.length;
    const data = this.data;
    const len = to - from;
    for (let k = 0; k < count; k++) {
      let e = level.next + k;
      if (e >= count) e -= count;
      const key = entries[e]!.key;
      if (key.length !== len) continue;
      let i = 0;
      while (i < len && key[i] === data[from + i]) i++;
      if (i === len) {
        level.next = e + 1 === count ? 0 : e + 1;
        return e;
      }
    }
    return -1;
  }

  /**
   * Scans string content from `p` (just after the opening quote) to its closing quote and returns
   * that quote's position, or -1: an escape when `plain` (or an invalid one), a control character,
   * invalid UTF-8, or no closing quote.
   */
  private string(p: number, plain: boolean): number {
    const data = this.data;
    const n = data.length;
    while (p < n) {
      const c = data[p]!;
      const cls = STRING_CLASS[c]!;
      if (cls === PLAIN) {
        p++;
        continue;
      }
      if (c === QUOTE) return p;
      if (cls === CONTROL) return -1;
      if (c === BACKSLASH) {
        if (plain) return -1;
        const e = data[p + 1];
        if (e === 0x75 /* u */) {
          for (let k = 2; k < 6; k++) if (!isHex(data[p + k])) return -1;
          p += 6;
        } else if (e === QUOTE || e === BACKSLASH || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
          p += 2;
        } else return -1;
      } else {
        const len = utf8Sequence(data, p);
        if (len === 0) return -1;
        p += len;
      }
    }
    return -1;
  }

  /** Skips a JSON value at `p` (validating it); the position after it, or -1. */
  private skip(p: number, depth: number): number {
    const data = this.data;
    const c = data[p];
    if (c === QUOTE) {
      const q = this.string(p + 1, false);
      return q < 0 ? -1 : q + 1;
    }
    if (c === LBRACE || c === LBRACKET) {
      if (depth >= MAX_DEPTH) return -1;
      const close = c === LBRACE ? RBRACE : RBRACKET;
      p = this.ws(p + 1);
      if (data[p] === close) return p + 1;
      for (;;) {
        if (c === LBRACE) {
          if (data[p] !== QUOTE) return -1;
          const q = this.string(p + 1, false);
          if (q < 0) return -1;
          p = this.ws(q + 1);
          if (data[p] !== COLON) return -1;
          p = this.ws(p + 1);
        }
        p = this.skip(p, depth + 1);
        if (p < 0) return -1;
        p = this.ws(p);
        const d = data[p];
        if (d === close) return p + 1;
        if (d !== COMMA) return -1;
        p = this.ws(p + 1);
      }
    }
    if (c === 0x74 /* t */) return this.literal(p, TRUE);
    if (c === 0x66 /* f */) return this.literal(p, FALSE);
    if (c === 0x6e /* n */) return this.literal(p, NULL);
    return this.number(p).end;
  }

  /** The position after the literal `word` at `p`, or -1. */
  private literal(p: number, word: Uint8Array): number {
    const data = this.data;
    for (let k = 0; k < word.length; k++) if (data[p + k] !== word[k]) return -1;
    return p + word.length;
  }

  /**
   * Scans a JSON number at `p`: its end (-1 when not a number), and its value when it is exact
   * by construction (its digits below 2^53 and a power of ten within 1e22: one correctly
   * rounded operation, the same double JSON.parse gives), else NaN.
   */
  private number(p: number): { end: number; value: number; integer: boolean } {
    const data = this.data;
    const result = this.scratch;
    result.end = -1;
    result.value = NaN;
    result.integer = false;
    let i = p;
    const negative = data[i] === MINUS;
    if (negative) i++;
    let mantissa = 0;
    const first = data[i];
    if (first === ZERO) {
      i++;
    } else if (first !== undefined && first > ZERO && first <= 0x39) {
      while (true) {
        const d = (data[i] ?? 0) - ZERO;
        if (d < 0 || d > 9) break;
        mantissa = mantissa * 10 + d;
        i++;
      }
    } else return result;
    let scale = 0;
    let integer = true;
    if (data[i] === DOT) {
      integer = false;
      i++;
      const start = i;
      while (true) {
        const d = (data[i] ?? 0) - ZERO;
        if (d < 0 || d > 9) break;
        mantissa = mantissa * 10 + d;
        scale--;
        i++;
      }
      if (i === start) return result;
    }
    const e = data[i];
    if (e === 0x65 || e === 0x45) {
      integer = false;
      i++;
      let expNegative = false;
      if (data[i] === MINUS || data[i] === PLUS) {
        expNegative = data[i] === MINUS;
        i++;
      }
      const start = i;
      let exp = 0;
      while (true) {
        const d = (data[i] ?? 0) - ZERO;
        if (d < 0 || d > 9) break;
        if (exp < 100_000) exp = exp * 10 + d;
        i++;
      }
      if (i === start) return result;
      scale += expNegative ? -exp : exp;
    }
    result.end = i;
    result.integer = integer;
    // Leading zeros of a fraction (0.000123) do not count against the 2^53 bound: the mantissa
    // accumulates them as zeros.
    if (mantissa < 9_007_199_254_740_992 && scale >= -22 && scale <= 22) {
      const v = scale >= 0 ? mantissa * POW10[scale]! : mantissa / POW10[-scale]!;
      result.value = negative ? -v : v;
    }
    return result;
  }

  private readonly scratch = { end: -1, value: NaN, integer: false };

  /** Reads a mapped field's value at `p` into the row; the position after it, or -1 (decline). */
  private value(field: Field, p: number): number {
    const data = this.data;
    const row = this.row;
    const i = field.index;
    const c = data[p];
    if (c === 0x6e /* n */) {
      if (field.required) return -1;
      row.tags[i] = RAW_NULL;
      return this.literal(p, NULL);
    }
    switch (field.kind) {
      case K_STRING: {
        if (c !== QUOTE) return -1;
        const q = this.string(p + 1, true);
        if (q < 0) return -1;
        row.tags[i] = RAW_UTF8;
        row.from[i] = p + 1;
        row.to[i] = q;
        return q + 1;
      }
      case K_TIMESTAMP: {
        if (c !== QUOTE) return -1;
        const q = this.string(p + 1, true);
        if (q < 0) return -1;
        // Written straight into the row: a returned double would be boxed per record.
        if (!commonTimestampMicros(data, p + 1, q, row.nums, i)) return -1;
        row.tags[i] = RAW_INT64;
        return q + 1;
      }
      case K_DATE: {
        // `YYYY-MM-DD` exactly (the general path also trims spaces and takes epoch numbers).
        if (c !== QUOTE || data[p + 11] !== QUOTE || data[p + 5] !== MINUS || data[p + 8] !== MINUS) return -1;
        const yHi = twoDigits(data, p + 1);
        const yLo = twoDigits(data, p + 3);
        const month = twoDigits(data, p + 6);
        const day = twoDigits(data, p + 9);
        if (yHi < 0 || yLo < 0 || month < 0 || day < 0) return -1;
        const days = civilSeconds(yHi * 100 + yLo, month, day, 0, 0, 0) / 86_400; // NaN: no such day
        if (!Number.isSafeInteger(days)) return -1;
        row.tags[i] = RAW_VALUE;
        row.values[i] = days;
        return p + 12;
      }
      case K_LONG:
      case K_INT: {
        const r = this.number(p);
        if (r.end < 0 || !r.integer || !Number.isSafeInteger(r.value)) return -1;
        if (field.kind === K_INT) {
          if (r.value < -2_147_483_648 || r.value > 2_147_483_647) return -1;
          row.tags[i] = RAW_VALUE;
          row.values[i] = r.value;
        } else {
          row.tags[i] = RAW_INT64;
          row.nums[i] = r.value;
        }
        return r.end;
      }
      case K_DOUBLE:
      case K_FLOAT: {
        const r = this.number(p);
        if (r.end < 0 || Number.isNaN(r.value)) return -1;
        if (field.kind === K_FLOAT && Math.abs(r.value) > FLOAT_MAX) return -1;
        row.tags[i] = RAW_VALUE;
        row.values[i] = r.value;
        return r.end;
      }
      case K_BOOLEAN: {
        const end = c === 0x74 ? this.literal(p, TRUE) : c === 0x66 ? this.literal(p, FALSE) : -1;
        if (end < 0) return -1;
        row.tags[i] = RAW_VALUE;
        row.values[i] = c === 0x74;
        return end;
      }
      default:
        return -1;
    }
  }
}

/**
 * The key tree in the native scanner's layout (record-scan-native.ts): levels numbered in
 * breadth-first order from the root (0), each level's entries together, in its order.
 */
function flatten(root: Level): { spec: Int32Array; keys: Uint8Array; levels: number } {
  const levels: Level[] = [root];
  const spec: number[] = [];
  const keys: number[] = [];
  for (let l = 0; l < levels.length; l++) {
    for (const e of levels[l]!.entries) {
      let child = -1;
      if (e.child !== undefined) {
        child = levels.length;
        levels.push(e.child);
      }
      spec.push(l, keys.length, e.key.length, e.plain ? 1 : 0, e.leaf?.index ?? -1, e.leaf?.kind ?? 0, e.leaf?.required ? 1 : 0, child);
      keys.push(...e.key);
    }
  }
  return { spec: Int32Array.from(spec), keys: Uint8Array.from(keys), levels: levels.length };
}

/** {@link RecordScanner.scanStaged}: the record is in the stage. */
export const STAGED = 1;
/** {@link RecordScanner.scanStaged}: the general path must read the record. */
export const DECLINED = 0;
/** {@link RecordScanner.scanStaged}: the stage is full; empty it and scan again. */
export const NO_ROOM = 2;
/** {@link RecordScanner.scanStaged}: read this record with `scan` instead. */
export const UNSTAGED = 3;

/** Bytes inside a JSON string: PLAIN continue it; the others need a look (quote, backslash, control, non-ASCII). */
const PLAIN = 0;
const CONTROL = 1;
const SPECIAL = 2;
const STRING_CLASS = new Uint8Array(256).map((_, c) => (c < 0x20 ? CONTROL : c === QUOTE || c === BACKSLASH || c >= 0x80 ? SPECIAL : PLAIN));

const TRUE = encoder.encode('true');
const FALSE = encoder.encode('false');
const NULL = encoder.encode('null');

function isHex(c: number | undefined): boolean {
  return c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));
}

/** Length of the valid UTF-8 sequence starting with a non-ASCII byte at `p`, or 0 (invalid). */
function utf8Sequence(data: Uint8Array, p: number): number {
  const b = data[p]!;
  const c1 = data[p + 1] ?? 0;
  if (b < 0xc2) return 0;
  if (b < 0xe0) return (c1 & 0xc0) === 0x80 ? 2 : 0;
  const c2 = data[p + 2] ?? 0;
  if (b < 0xf0) {
    // No overlong forms (E0 A0..) and no surrogates (ED ..9F): what a fatal TextDecoder refuses.
    const lo = b === 0xe0 ? 0xa0 : 0x80;
    const hi = b === 0xed ? 0x9f : 0xbf;
    return c1 >= lo && c1 <= hi && (c2 & 0xc0) === 0x80 ? 3 : 0;
  }
  if (b < 0xf5) {
    const c3 = data[p + 3] ?? 0;
    const lo = b === 0xf0 ? 0x90 : 0x80;
    const hi = b === 0xf4 ? 0x8f : 0xbf;
    return c1 >= lo && c1 <= hi && (c2 & 0xc0) === 0x80 && (c3 & 0xc0) === 0x80 ? 4 : 0;
  }
  return 0;
}

/** Two ASCII digits at `i` as a number, or -1. */
function twoDigits(data: Uint8Array, i: number): number {
  const a = (data[i] ?? 0) - 48;
  const b = (data[i + 1] ?? 0) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z` (a space for the `T`, `z` too) in `data[from, to)` as epoch
 * microseconds, stored in `out[index]`: the bytes version of the general path's common-shape
 * parser (`parseCommonTimestamp` in iceberg/timestamp-text.ts), with the same arithmetic. False for any other
 * shape, an impossible time, or a value beyond 2^53 µs; the general path then decides.
 */
function commonTimestampMicros(data: Uint8Array, from: number, to: number, out: Float64Array, index: number): boolean {
  const n = to - from;
  if (n < 20 || n > 30) return false;
  const last = data[to - 1];
  if (last !== 90 && last !== 122) return false;
  const t = data[from + 10];
  if (data[from + 4] !== 45 || data[from + 7] !== 45 || (t !== 84 && t !== 32) || data[from + 13] !== 58 || data[from + 16] !== 58) {
    return false;
  }
  const yHi = twoDigits(data, from);
  const yLo = twoDigits(data, from + 2);
  const month = twoDigits(data, from + 5);
  const day = twoDigits(data, from + 8);
  const hour = twoDigits(data, from + 11);
  const minute = twoDigits(data, from + 14);
  const second = twoDigits(data, from + 17);
  if (yHi < 0 || yLo < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return false;
  let frac = 0;
  if (n > 20) {
    const sep = data[from + 19];
    if ((sep !== 46 && sep !== 44) || n === 21) return false;
    for (let i = 20; i < n - 1; i++) {
      const d = (data[from + i] ?? 0) - 48;
      if (d < 0 || d > 9) return false;
      if (i < 26) frac = frac * 10 + d;
    }
    for (let i = Math.min(n - 1, 26); i < 26; i++) frac *= 10;
  } else if (data[from + 19] !== 90 && data[from + 19] !== 122) {
    return false;
  }
  const seconds = civilSeconds(yHi * 100 + yLo, month, day, hour, minute, second);
  const micros = seconds * 1_000_000 + frac; // NaN for an impossible time
  if (!Number.isSafeInteger(micros)) return false;
  out[index] = micros;
  return true;
}
