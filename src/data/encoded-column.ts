/**
 * A column that stores its values already encoded in the layout DuckDB's vectors take (see
 * `column-scan.ts`): strings as UTF-8 in one growing buffer with offsets, longs and timestamps in a
 * BigInt64Array, and so on, with its null count and min/max kept as values arrive.
 *
 * Why: a streaming batch holds hundreds of thousands of rows until its commit. Held as JavaScript
 * strings and bigints, every one of them survives the young generation and is copied and marked
 * by the garbage collector (measured at about 2 µs per row of the reference schema, more than
 * parsing it). Encoded on arrival, the values die young and the batch is a few large typed arrays;
 * the Parquet writer then hands them to DuckDB without touching a value.
 *
 * Reading a value back (`get`) decodes it; that is for the rare consumer that needs values
 * (partition splitting of a mixed batch, tests). Strings read back as their UTF-8 round trip: a
 * lone surrogate becomes U+FFFD, as it does in the written file anyway. A column is appended to
 * until it is sealed (when its batch is built, or read).
 */
import { ValidationError } from '../errors.js';
import { compareBytes, compareStrings, wellFormed } from '../iceberg/conversions.js';
import { fixedLength, primitiveKind } from '../iceberg/schema-types.js';
import type { IcebergType, IcebergValue, PrimitiveType } from '../iceberg/types.js';
import type { BufferPool } from './buffer-pool.js';
import { allValid, SCAN_CHUNK_ROWS, type PreparedColumn } from '../duckdb/column-scan.js';

/** How an encoded column lays out its values. */
export type EncodedKind = 'boolean' | 'int32' | 'int64' | 'time' | 'float' | 'double' | 'string' | 'binary';

/** The encoded layout of a type, or undefined when values of that type stay JavaScript values. */
export function encodedKindOf(type: IcebergType): EncodedKind | undefined {
  if (typeof type !== 'string') return undefined;
  switch (primitiveKind(type)) {
    case 'boolean':
      return 'boolean';
    case 'int':
    case 'date':
      return 'int32';
    case 'long':
    case 'timestamp':
    case 'timestamptz':
    case 'timestamp_ns':
      return 'int64';
    case 'time':
      return 'time';
    case 'float':
      return 'float';
    case 'double':
      return 'double';
    case 'string':
      return 'string';
    case 'binary':
    case 'fixed':
      return 'binary';
    default:
      return undefined;
  }
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const MICROS_PER_DAY = 86_400_000_000;

function describe(v: IcebergValue): string {
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  const s = typeof v === 'bigint' ? `${v}n` : JSON.stringify(v);
  return `${typeof v} ${s !== undefined && s.length > 60 ? s.slice(0, 57) + '...' : s}`;
}

const utf8 = new TextEncoder();

/** Slab sizes of string and binary chunks (see `EncodedColumn.slab`). */
const MIN_SLAB = 16 * 1024;
const MAX_SLAB = 2 * 1024 * 1024;

/** Whether this machine stores integers little-endian (every platform Node ships for). */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Byte-wise comparison of `a[aFrom, aTo)` and `b[bFrom, bTo)` (a shorter prefix sorts first). */
function compareSpans(a: Uint8Array, aFrom: number, aTo: number, b: Uint8Array, bFrom: number, bTo: number): number {
  const n = Math.min(aTo - aFrom, bTo - bFrom);
  for (let k = 0; k < n; k++) {
    const d = a[aFrom + k]! - b[bFrom + k]!;
    if (d !== 0) return d;
  }
  return aTo - aFrom - (bTo - bFrom);
}

/**
 * Values of one primitive top-level field, encoded on arrival.
 *
 * Strings and binary values are kept per 2048-row chunk (the chunks DuckDB reads): a chunk's
 * strings are held until the chunk is complete, then joined and encoded with one native call each
 * into a block of exactly their size. Nothing large is ever copied to grow.
 */
export class EncodedColumn {
  readonly kind: EncodedKind;
  /** Number of values (nulls included). */
  length = 0;
  /** Null values. */
  nulls = 0;
  /** NaN values (float and double). */
  nans = 0;
  private readonly fixedLen: number | undefined;
  private capacity: number;
  private sealed = false;
  private validity: Uint8Array | undefined;
  // Fixed-width values: one typed array per kind, so each store site sees one array type.
  private u8: Uint8Array | undefined;
  private i32: Int32Array | undefined;
  private i64: BigInt64Array | undefined;
  private f32: Float32Array | undefined;
  private f64: Float64Array | undefined;
  // Strings and binary: byte length per row, one block per complete chunk, the chunk being filled.
  private lengths: Int32Array | undefined;
  private readonly blocks: Uint8Array[] = [];
  private chunkStart = 0;
  /** JavaScript strings of rows `pendingFrom`.. not yet encoded (null joins as ''). */
  private readonly chunkStrings: (string | null)[] = [];
  private pendingFrom = 0;
  /** Bytes of the chunk being filled, when it holds raw UTF-8 spans (or binary values). */
  private chunkBytes: Uint8Array | undefined;
  private chunkUsed = 0;
  /**
   * Byte chunks are views carved one after another from a slab, so that a chunk costs no
   * allocation of its own (allocating and zeroing a buffer per 2048-row chunk and column was 5% of
   * ingest). Slabs start small and double up to {@link MAX_SLAB}, so a column of a small
   * partition group stays small.
   */
  private slab: Uint8Array | undefined;
  /** Where the chunk being filled starts in the slab (earlier bytes belong to finished chunks). */
  private slabUsed = 0;
  /**
   * Whether raw UTF-8 spans were appended. Their bounds are not kept on arrival (comparing every
   * span with the running min and max was an eighth of the fast path's time): the writer takes
   * the column's bounds from the written file's footer, and {@link range} finds them in the bytes.
   */
  private spans = false;
  /** Every buffer this column allocated (given back to the pool by {@link release}). */
  private owned: ArrayBuffer[] = [];
  private released = false;
  /** 32-bit view of the int64 values, to store safe integers without making bigints. */
  private i64Words: Int32Array | undefined;
  // Ranges: numbers where exact (ints, floats, bigints within ±2^53), bigints beyond, strings, bytes.
  private numMin = Infinity;
  private numMax = -Infinity;
  private bigMin: bigint | null = null;
  private bigMax: bigint | null = null;
  private minValue: string | Uint8Array | null = null;
  private maxValue: string | Uint8Array | null = null;
  private minAscii = true;
  private maxAscii = true;
  private sawFalse = false;
  private sawTrue = false;

  /**
   * @param type the field's primitive type (one {@link encodedKindOf} knows)
   * @param name names the field in errors
   * @param initialCapacity rows to reserve (the arrays double beyond)
   * @param pool where the column's buffers come from and go back to ({@link release})
   */
  constructor(
    readonly type: PrimitiveType,
    private readonly name: string,
    initialCapacity = 1024,
    private readonly pool?: BufferPool,
  ) {
    const kind = encodedKindOf(type);
    if (!kind) throw new ValidationError(`column-batch: ${name}: type ${type} has no encoded layout`);
    this.kind = kind;
    this.fixedLen = fixedLength(type);
    this.capacity = Math.max(16, initialCapacity);
    this.grow(this.capacity);
  }

  /** A buffer of `bytes` from the pool (or new), owned by this column until {@link release}. */
  private alloc(bytes: number): ArrayBuffer {
    const b = this.pool ? this.pool.take(bytes) : new ArrayBuffer(bytes);
    this.owned.push(b);
    return b;
  }

  /**
   * Gives this column's buffers back to its pool: the column, and every view it handed out
   * (`prepared()` blocks), must not be used afterwards. Call once its file is written.
   */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.sealed = true;
    if (this.pool) for (const b of this.owned) this.pool.give(b);
    this.owned = [];
    this.blocks.length = 0;
    this.slab = this.chunkBytes = undefined;
    this.u8 = this.i32 = this.i64 = this.f32 = this.f64 = this.lengths = this.i64Words = undefined;
  }

  private grow(n: number): void {
    const keep = this.length;
    switch (this.kind) {
      case 'boolean': {
        const a = new Uint8Array(this.alloc(n * 1));
        if (this.u8) a.set(this.u8.subarray(0, keep));
        this.u8 = a;
        break;
      }
      case 'int32': {
        const a = new Int32Array(this.alloc(n * 4));
        if (this.i32) a.set(this.i32.subarray(0, keep));
        this.i32 = a;
        break;
      }
      case 'int64':
      case 'time': {
        const a = new BigInt64Array(this.alloc(n * 8));
        if (this.i64) a.set(this.i64.subarray(0, keep));
        this.i64 = a;
        this.i64Words = new Int32Array(a.buffer);
        break;
      }
      case 'float': {
        const a = new Float32Array(this.alloc(n * 4));
        if (this.f32) a.set(this.f32.subarray(0, keep));
        this.f32 = a;
        break;
      }
      case 'double': {
        const a = new Float64Array(this.alloc(n * 8));
        if (this.f64) a.set(this.f64.subarray(0, keep));
        this.f64 = a;
        break;
      }
      default: {
        const a = new Int32Array(this.alloc(n * 4));
        if (this.lengths) a.set(this.lengths.subarray(0, keep));
        this.lengths = a;
      }
    }
    if (this.validity) {
      const v = allValid(n);
      v.set(this.validity.subarray(0, Math.min(this.validity.length, v.length)));
      this.validity = v;
    }
  }

  private bad(v: IcebergValue, expected: string): never {
    throw new ValidationError(`column-batch: ${this.name}: row ${this.length}: expected ${expected}, got ${describe(v)}`);
  }

  /** Appends one value (null for null), checking it against the type. */
  append(v: IcebergValue | undefined): void {
    if (this.sealed) throw new ValidationError(`column-batch: ${this.name}: column is complete (built), no more values`);
    const i = this.length;
    if (i === this.capacity) {
      // Grown first: a failed allocation leaves the column as it was (see dropLast).
      this.grow(this.capacity * 2);
      this.capacity *= 2;
    }
    if (v === null || v === undefined) {
      this.markNull(i);
      if (this.kind === 'string') this.chunkStrings.push(null);
      // Readers sum the lengths of a chunk's rows, nulls included: a null takes no bytes, whatever
      // a recycled buffer (or a row rolled back) left in its slot.
      else if (this.kind === 'binary') this.lengths![i] = 0;
    } else {
      switch (this.kind) {
        case 'string':
          if (typeof v !== 'string') this.bad(v, `a string (${this.type})`);
          this.chunkStrings.push(v);
          break;
        case 'int64':
        case 'time':
          if (typeof v !== 'bigint') this.bad(v, `a bigint (${this.type})`);
          this.appendBigInt(v, i);
          break;
        case 'int32':
          if (typeof v !== 'number' || (v | 0) !== v) this.bad(v, `a 32-bit integer (${this.type})`);
          this.i32![i] = v;
          if (v < this.numMin) this.numMin = v;
          if (v > this.numMax) this.numMax = v;
          break;
        case 'float':
          if (typeof v !== 'number') this.bad(v, `a number (${this.type})`);
          this.f32![i] = v;
          this.addFloat(v, Math.fround(v));
          break;
        case 'double':
          if (typeof v !== 'number') this.bad(v, `a number (${this.type})`);
          this.f64![i] = v;
          this.addFloat(v, v);
          break;
        case 'boolean':
          if (typeof v !== 'boolean') this.bad(v, 'a boolean');
          this.u8![i] = v ? 1 : 0;
          if (v) this.sawTrue = true;
          else this.sawFalse = true;
          break;
        case 'binary':
          if (!(v instanceof Uint8Array)) this.bad(v, `a Uint8Array (${this.type})`);
          if (this.fixedLen !== undefined && v.length !== this.fixedLen) this.bad(v, `exactly ${this.fixedLen} bytes (${this.type})`);
          this.appendBytes(v, i);
          break;
      }
    }
    this.length = i + 1;
    if (this.lengths && (this.length & (SCAN_CHUNK_ROWS - 1)) === 0) this.endChunk();
  }

  /**
   * Appends a string given as UTF-8 bytes `bytes[from, to)`, copied as they are: the caller
   * guarantees they are valid UTF-8 (the JSON fast path checks every byte it passes). Saves
   * decoding them to a JavaScript string and encoding that back.
   */
  appendUtf8(bytes: Uint8Array, from: number, to: number): void {
    if (this.kind !== 'string' || this.sealed) {
      throw new ValidationError(`column-batch: ${this.name}: ${this.sealed ? 'column is complete (built), no more values' : `UTF-8 bytes for a ${this.type} column`}`);
    }
    const i = this.length;
    if (i === this.capacity) {
      // Grown first: a failed allocation leaves the column as it was (see dropLast).
      this.grow(this.capacity * 2);
      this.capacity *= 2;
    }
    if (this.chunkStrings.length > 0) this.flushPending();
    const n = to - from;
    const used = this.chunkUsed;
    let block = this.chunkBytes;
    if (block === undefined || used + n > block.length) block = this.growChunk(used + n);
    // Short strings (the usual case) copy faster in a loop than through a subarray and set().
    if (n <= 64) for (let k = 0; k < n; k++) block[used + k] = bytes[from + k]!;
    else block.set(bytes.subarray(from, to), used);
    this.chunkUsed = used + n;
    this.lengths![i] = n;
    this.spans = true;
    const length = i + 1;
    this.length = length;
    this.pendingFrom = length;
    if ((length & (SCAN_CHUNK_ROWS - 1)) === 0) this.endChunk();
  }

  /**
   * Appends `n` strings given as UTF-8 bytes back to back from `bytes[from]`, with their byte
   * lengths in `lengths[at, at + n)` and null rows where `nulls[at + k]` is 0 (they take no bytes):
   * the same column as {@link appendUtf8} and `append(null)` row by row, in bulk (the staged rows
   * of the native scanner, `ColumnBatchBuilder.appendStaged`). Valid UTF-8 is the caller's
   * guarantee, as for {@link appendUtf8}.
   */
  appendUtf8Run(bytes: Uint8Array, from: number, lengths: Int32Array, nulls: Uint8Array, at: number, n: number): void {
    if (this.kind !== 'string' || this.sealed) {
      throw new ValidationError(`column-batch: ${this.name}: ${this.sealed ? 'column is complete (built), no more values' : `UTF-8 bytes for a ${this.type} column`}`);
    }
    this.reserve(n);
    if (this.chunkStrings.length > 0) this.flushPending();
    const own = this.lengths!;
    let r = 0;
    while (r < n) {
      // Up to the end of the chunk being filled: each chunk's bytes are one block.
      const start = this.length;
      const m = Math.min(n - r, SCAN_CHUNK_ROWS - (start & (SCAN_CHUNK_ROWS - 1)));
      let total = 0;
      for (let k = 0; k < m; k++) {
        if (nulls[at + r + k] === 0) {
          this.markNull(start + k);
          own[start + k] = 0;
        } else {
          const len = lengths[at + r + k]!;
          own[start + k] = len;
          total += len;
        }
      }
      const used = this.chunkUsed;
      let block = this.chunkBytes;
      if (block === undefined || used + total > block.length) {
        try {
          block = this.growChunk(used + total);
        } catch (e) {
          // Rows start.. are not the column's yet: their null marks go, so it is as it was.
          this.unmarkNulls(start, start + m);
          throw e;
        }
      }
      block.set(bytes.subarray(from, from + total), used);
      from += total;
      this.chunkUsed = used + total;
      this.spans = true;
      const length = start + m;
      this.length = length;
      this.pendingFrom = length;
      if ((length & (SCAN_CHUNK_ROWS - 1)) === 0) this.endChunk();
      r += m;
    }
  }

  /**
   * Appends `n` longs or timestamps given as safe integers `nums[at, at + n)`, null rows where
   * `nulls[at + k]` is 0: {@link appendInt64} and `append(null)` row by row, in bulk.
   */
  appendInt64Run(nums: Float64Array, nulls: Uint8Array, at: number, n: number): void {
    if (this.kind !== 'int64' || this.sealed) {
      throw new ValidationError(`column-batch: ${this.name}: ${this.sealed ? 'column is complete (built), no more values' : `numbers for a ${this.type} column`}`);
    }
    this.reserve(n);
    let min = this.numMin;
    let max = this.numMax;
    const start = this.length;
    for (let k = 0; k < n; k++) {
      const i = start + k;
      if (nulls[at + k] === 0) {
        this.markNull(i);
        continue;
      }
      const x = nums[at + k]!;
      if (!Number.isSafeInteger(x)) {
        this.length = i;
        this.numMin = min;
        this.numMax = max;
        throw new ValidationError(`column-batch: ${this.name}: ${x} is not a safe integer for a ${this.type} column`);
      }
      this.storeSafe(i, x);
      if (x < min) min = x;
      if (x > max) max = x;
    }
    this.numMin = min;
    this.numMax = max;
    this.length = start + n;
  }

  /**
   * Removes the last value: the rollback of a row whose later column refused its value
   * (`ColumnBatchBuilder` appends a row all or nothing). Nothing is recorded per value to make
   * this possible (the appends stay as fast): the value's own slot says what to give back. The
   * bounds are not narrowed again (they stay valid bounds, perhaps wider than the values).
   */
  dropLast(): void {
    if (this.sealed) throw new ValidationError(`column-batch: ${this.name}: column is complete (built), no value can be removed`);
    const i = this.length - 1;
    if (i < 0) return;
    const isNull = this.isNull(i);
    if (this.lengths) {
      // The value completed a chunk, already encoded into its block: open the chunk again.
      if (i < this.chunkStart) this.reopenChunk();
      if (this.kind === 'string' && i >= this.pendingFrom) {
        // A JavaScript string (or null) not encoded yet.
        this.chunkStrings.pop();
      } else {
        // Bytes copied into the chunk being filled: its last ones.
        this.chunkUsed -= isNull ? 0 : this.lengths[i]!;
        if (this.pendingFrom > i) this.pendingFrom = i;
      }
    } else if (!isNull && ((this.kind === 'double' && this.f64![i] !== this.f64![i]) || (this.kind === 'float' && this.f32![i] !== this.f32![i]))) {
      this.nans--;
    }
    if (isNull) {
      this.validity![i >>> 3]! |= 1 << (i & 7);
      this.nulls--;
    }
    this.length = i;
  }

  /**
   * Removes the values after the first `rows` ({@link dropLast} until `rows` remain): the
   * rollback of rows moved in bulk when a later column refused them (`ColumnBatchBuilder`).
   */
  truncate(rows: number): void {
    while (this.length > rows) this.dropLast();
  }

  /**
   * Makes the last complete chunk (it ended at {@link length}, a multiple of the chunk size) the
   * chunk being filled again, its bytes so far in the chunk's bytes ({@link dropLast}).
   */
  private reopenChunk(): void {
    const block = this.blocks.pop()!;
    const n = block.length;
    const slab = this.slab;
    this.chunkStart = this.length - SCAN_CHUNK_ROWS;
    this.chunkBytes = undefined;
    this.chunkUsed = 0;
    if (slab !== undefined && n > 0 && block.buffer === slab.buffer && block.byteOffset + n === slab.byteOffset + this.slabUsed) {
      // Raw bytes: the block is the end of the slab, where the chunk was filled.
      this.slabUsed -= n;
      this.chunkBytes = slab.subarray(this.slabUsed);
    } else {
      // Strings encoded at the chunk's end: their bytes, copied back (failures only pay this).
      this.growChunk(n).set(block, 0);
    }
    this.chunkUsed = n;
    this.pendingFrom = this.length;
  }

  /** Rows `from`.. `to` (beyond {@link length}) are not null after all. */
  private unmarkNulls(from: number, to: number): void {
    for (let i = from; i < to; i++) {
      if (this.isNull(i)) {
        this.validity![i >>> 3]! |= 1 << (i & 7);
        this.nulls--;
      }
    }
  }

  /** Row `i` is null (its value slot is left as it is: readers skip it). */
  private markNull(i: number): void {
    this.validity ??= allValid(this.capacity);
    this.validity[i >>> 3]! &= ~(1 << (i & 7));
    this.nulls++;
  }

  /** Stores the safe integer `x` as row `i` of a 64-bit column, without making a bigint where it can. */
  private storeSafe(i: number, x: number): void {
    if (LITTLE_ENDIAN) {
      const hi = Math.floor(x / 4_294_967_296);
      const words = this.i64Words!;
      words[2 * i] = x - hi * 4_294_967_296; // the low word, two's complement by the store
      words[2 * i + 1] = hi;
    } else {
      this.i64![i] = BigInt(x);
    }
  }

  /** Room for `n` more rows. */
  private reserve(n: number): void {
    let capacity = this.capacity;
    while (this.length + n > capacity) capacity *= 2;
    if (capacity !== this.capacity) {
      this.grow(capacity);
      this.capacity = capacity;
    }
  }

  /**
   * Room for `needed` bytes in the chunk being filled: the rest of the slab, or a new slab (at
   * least twice the last) with the chunk's bytes so far moved to its start.
   */
  private growChunk(needed: number): Uint8Array {
    const slab = this.slab;
    if (slab !== undefined && this.slabUsed + needed <= slab.length && this.chunkBytes === undefined) {
      return (this.chunkBytes = slab.subarray(this.slabUsed));
    }
    // Powers of two, so that the next unit's columns ask the pool for the sizes this one gives back.
    let size = Math.min(MAX_SLAB, Math.max(MIN_SLAB, (slab?.length ?? 0) * 2));
    while (size < needed) size *= 2;
    const next = new Uint8Array(this.alloc(size));
    if (this.chunkBytes !== undefined) next.set(this.chunkBytes.subarray(0, this.chunkUsed));
    this.slab = next;
    this.slabUsed = 0;
    return (this.chunkBytes = next);
  }

  /**
   * Appends a long or timestamp given as a number, which must be a safe integer (|x| < 2^53):
   * stored as two 32-bit words, no bigint made.
   */
  appendInt64(x: number): void {
    if (this.kind !== 'int64' || !Number.isSafeInteger(x)) {
      throw new ValidationError(`column-batch: ${this.name}: ${x} is not a safe integer for a ${this.type} column`);
    }
    if (this.sealed) throw new ValidationError(`column-batch: ${this.name}: column is complete (built), no more values`);
    const i = this.length;
    if (i === this.capacity) {
      // Grown first: a failed allocation leaves the column as it was (see dropLast).
      this.grow(this.capacity * 2);
      this.capacity *= 2;
    }
    this.storeSafe(i, x);
    if (x < this.numMin) this.numMin = x;
    if (x > this.numMax) this.numMax = x;
    this.length = i + 1;
  }

  private appendBigInt(v: bigint, i: number): void {
    const x = Number(v);
    if (this.kind === 'time' && !(x >= 0 && x < MICROS_PER_DAY)) this.bad(v, 'microseconds since midnight in [0, 86400000000) (time)');
    if (x >= -MAX_SAFE && x <= MAX_SAFE) {
      if (x < this.numMin) this.numMin = x;
      if (x > this.numMax) this.numMax = x;
    } else {
      if (v < INT64_MIN || v > INT64_MAX) this.bad(v, `a ${this.type} in the 64-bit range`);
      if (this.bigMin === null || v < this.bigMin) this.bigMin = v;
      if (this.bigMax === null || v > this.bigMax) this.bigMax = v;
    }
    this.i64![i] = v;
  }

  /** Bounds of the value as stored (`x`); -0.0 sorts before 0.0 (Java's compare). */
  private addFloat(v: number, x: number): void {
    if (v !== v) {
      this.nans++;
      return;
    }
    if (x < this.numMin || (x === 0 && this.numMin === 0 && Object.is(x, -0))) this.numMin = x;
    if (x > this.numMax || (x === 0 && this.numMax === 0 && Object.is(this.numMax, -0))) this.numMax = x;
  }

  private appendBytes(v: Uint8Array, i: number): void {
    let block = this.chunkBytes;
    if (block === undefined || this.chunkUsed + v.length > block.length) block = this.growChunk(this.chunkUsed + v.length);
    block.set(v, this.chunkUsed);
    this.chunkUsed += v.length;
    this.lengths![i] = v.length;
    if (this.minValue === null || compareBytes(v, this.minValue as Uint8Array) < 0) this.minValue = v.slice();
    if (this.maxValue === null || compareBytes(v, this.maxValue as Uint8Array) > 0) this.maxValue = v.slice();
  }

  /** Encodes the chunk being filled into its block. */
  private endChunk(): void {
    const start = this.chunkStart;
    const n = this.length - start;
    if (n === 0) return;
    if (this.kind === 'binary' || this.chunkBytes !== undefined) {
      // Raw spans (or binary values) were copied as they came; strings since the last span join them.
      if (this.chunkStrings.length > 0) this.flushPending();
      const block = (this.chunkBytes ?? new Uint8Array(0)).subarray(0, this.chunkUsed);
      this.blocks.push(block);
      // The next chunk starts where this one ends, in the same slab.
      this.slabUsed += this.chunkUsed;
      this.chunkBytes = undefined;
      this.chunkUsed = 0;
    } else {
      this.blocks.push(this.encodeStrings(start, n));
    }
    this.chunkStart = this.pendingFrom = this.length;
  }

  /** Encodes the pending strings into the chunk's bytes (a raw span follows them). */
  private flushPending(): void {
    const from = this.pendingFrom;
    const encoded = this.encodeStrings(from, this.length - from);
    const used = this.chunkUsed;
    let block = this.chunkBytes;
    if (block === undefined || used + encoded.length > block.length) block = this.growChunk(used + encoded.length);
    block.set(encoded, used);
    this.chunkUsed = used + encoded.length;
    this.pendingFrom = this.length;
  }

  /**
   * Encodes the pending strings (rows `start`.. `start + n`) into a block of exactly their size,
   * setting their byte lengths and the bounds; the pending list starts empty again.
   */
  private encodeStrings(start: number, n: number): Uint8Array {
    const strings = this.chunkStrings;
    // One native join and one native encode per chunk (nulls join as empty strings).
    const joined = strings.join('');
    const lengths = this.lengths!;
    // ASCII (the usual case): one native call, byte lengths are UTF-16 lengths.
    let block = new Uint8Array(joined.length);
    const ascii = utf8.encodeInto(joined, block).read === joined.length;
    if (ascii) {
      for (let k = 0; k < n; k++) {
        const s = strings[k];
        lengths[start + k] = s === null || s === undefined ? 0 : s.length;
      }
    } else {
      // Else string by string: a lone surrogate must not pair up with its neighbour's, and
      // becomes U+FFFD, as in every UTF-8 encoder.
      let total = 0;
      for (let k = 0; k < n; k++) {
        const s = strings[k];
        const len = s === null || s === undefined ? 0 : Buffer.byteLength(s, 'utf8');
        lengths[start + k] = len;
        total += len;
      }
      const buf = Buffer.allocUnsafe(total);
      let pos = 0;
      for (let k = 0; k < n; k++) {
        const s = strings[k];
        if (s) pos += buf.write(s, pos, 'utf8');
      }
      block = new Uint8Array(buf.buffer, buf.byteOffset, total);
    }
    // Bounds. JavaScript's string order (UTF-16 units) is the code point order for ASCII.
    let min = this.minValue as string | null;
    let max = this.maxValue as string | null;
    let minAscii = this.minAscii;
    let maxAscii = this.maxAscii;
    for (let k = 0; k < n; k++) {
      const given = strings[k];
      if (given === null || given === undefined) continue;
      // Bounds are those of the bytes written: a lone surrogate counts as the U+FFFD it becomes.
      const s = ascii ? given : wellFormed(given);
      if (min === null) {
        min = max = s;
        minAscii = maxAscii = ascii;
      } else if (ascii && minAscii ? s < min : compareStrings(s, min) < 0) {
        min = s;
        minAscii = ascii;
      } else if (ascii && maxAscii ? s > max! : compareStrings(s, max!) > 0) {
        max = s;
        maxAscii = ascii;
      }
    }
    this.minValue = min;
    this.maxValue = max;
    this.minAscii = minAscii;
    this.maxAscii = maxAscii;
    strings.length = 0;
    return block;
  }

  /**
   * Bounds of every non-null value from the encoded bytes (once appending has ended): what
   * {@link range} gives when raw spans were appended. Byte order of UTF-8 is code point order,
   * the order Iceberg bounds use.
   */
  private scanBounds(): void {
    const lengths = this.lengths!;
    let min: Uint8Array | undefined;
    let minFrom = 0;
    let minTo = 0;
    let max: Uint8Array | undefined;
    let maxFrom = 0;
    let maxTo = 0;
    let row = 0;
    for (const block of this.blocks) {
      const end = Math.min(this.length, row + SCAN_CHUNK_ROWS);
      let from = 0;
      for (; row < end; row++) {
        const to = from + lengths[row]!;
        if (!this.isNull(row)) {
          if (max === undefined) {
            min = max = block;
            minFrom = maxFrom = from;
            minTo = maxTo = to;
          } else if (compareSpans(block, from, to, max, maxFrom, maxTo) > 0) {
            max = block;
            maxFrom = from;
            maxTo = to;
          } else if (compareSpans(block, from, to, min!, minFrom, minTo) < 0) {
            min = block;
            minFrom = from;
            minTo = to;
          }
        }
        from = to;
      }
    }
    const text = (b: Uint8Array, from: number, to: number) => Buffer.from(b.buffer, b.byteOffset + from, to - from).toString('utf8');
    this.minValue = min === undefined ? null : text(min, minFrom, minTo);
    this.maxValue = max === undefined ? null : text(max!, maxFrom, maxTo);
    this.spans = false;
  }

  /**
   * True when the column's bounds are not known until asked for: raw UTF-8 spans were appended.
   * The writer then reads them from the written file's statistics rather than calling
   * {@link range}, which would compare every value.
   */
  get boundsDeferred(): boolean {
    return this.spans;
  }

  private checkLive(): void {
    if (this.released) throw new ValidationError(`column-batch: ${this.name}: column was released (its buffers were recycled)`);
  }

  /** Ends appending: encodes the last chunk. Called when the batch is built; idempotent. */
  seal(): void {
    if (this.sealed) return;
    if (this.lengths) this.endChunk();
    this.sealed = true;
  }

  /** Whether value `i` is null. */
  isNull(i: number): boolean {
    return this.validity !== undefined && (this.validity[i >>> 3]! & (1 << (i & 7))) === 0;
  }

  /** Value `i`, decoded (strings: their UTF-8 round trip). Seals the column. */
  get(i: number): IcebergValue {
    this.checkLive();
    if (!(i >= 0 && i < this.length) || this.isNull(i)) return null;
    switch (this.kind) {
      case 'string':
      case 'binary': {
        this.seal();
        const block = this.blocks[Math.floor(i / SCAN_CHUNK_ROWS)]!;
        let from = 0;
        for (let r = i - (i % SCAN_CHUNK_ROWS); r < i; r++) from += this.lengths![r]!;
        const bytes = block.subarray(from, from + this.lengths![i]!);
        return this.kind === 'string' ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8') : new Uint8Array(bytes);
      }
      case 'boolean':
        return this.u8![i] === 1;
      case 'int32':
        return this.i32![i]!;
      case 'float':
        return this.f32![i]!;
      case 'double':
        return this.f64![i]!;
      default:
        return this.i64![i]!;
    }
  }

  /**
   * The values in order, decoded (as {@link get} gives them, one pass: `Array.from(column)` is
   * the column as an array of JavaScript values). Seals the column.
   */
  *[Symbol.iterator](): IterableIterator<IcebergValue> {
    this.checkLive();
    const lengths = this.lengths;
    if (lengths === undefined) {
      for (let i = 0; i < this.length; i++) yield this.get(i);
      return;
    }
    this.seal();
    let from = 0;
    for (let i = 0; i < this.length; i++) {
      if ((i & (SCAN_CHUNK_ROWS - 1)) === 0) from = 0;
      const to = from + lengths[i]!;
      if (this.isNull(i)) yield null;
      else {
        const block = this.blocks[Math.floor(i / SCAN_CHUNK_ROWS)]!;
        yield this.kind === 'string' ? Buffer.from(block.buffer, block.byteOffset + from, to - from).toString('utf8') : block.slice(from, to);
      }
      from = to;
    }
  }

  /** Position of the first null, or -1. */
  firstNull(): number {
    if (!this.validity || this.nulls === 0) return -1;
    for (let i = 0; i < this.length; i++) if (this.isNull(i)) return i;
    return -1;
  }

  /** The least and greatest non-null, non-NaN values (null when there are none). Seals the column. */
  range(): { min: IcebergValue; max: IcebergValue } {
    this.seal();
    switch (this.kind) {
      case 'boolean':
        return { min: this.sawFalse ? false : this.sawTrue ? true : null, max: this.sawTrue ? true : this.sawFalse ? false : null };
      case 'string':
      case 'binary':
        if (this.spans) {
          this.checkLive();
          this.scanBounds();
        }
        return { min: this.minValue, max: this.maxValue };
      case 'int64':
      case 'time': {
        const nMin = this.numMin === Infinity ? null : BigInt(this.numMin);
        const nMax = this.numMax === -Infinity ? null : BigInt(this.numMax);
        const bMin = this.bigMin;
        const bMax = this.bigMax;
        return {
          min: nMin === null ? bMin : bMin === null || nMin < bMin ? nMin : bMin,
          max: nMax === null ? bMax : bMax === null || nMax > bMax ? nMax : bMax,
        };
      }
      default:
        return this.numMin === Infinity && this.numMax === -Infinity
          ? { min: null, max: null }
          : { min: this.numMin, max: this.numMax };
    }
  }

  /** The values in DuckDB's vector layout (views of this column's memory). Seals the column. */
  prepared(): PreparedColumn {
    this.checkLive();
    this.seal();
    const validity = this.nulls > 0 ? this.validity : undefined;
    if (this.lengths) return { layout: 'bytes', blocks: this.blocks, lengths: this.lengths.subarray(0, this.length), validity };
    const f = (this.u8 ?? this.i32 ?? this.i64 ?? this.f32 ?? this.f64)!;
    return {
      layout: 'fixed',
      data: new Uint8Array(f.buffer, f.byteOffset, this.length * f.BYTES_PER_ELEMENT),
      width: f.BYTES_PER_ELEMENT,
      validity,
    };
  }
}
