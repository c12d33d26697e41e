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
 * lone surrogate becomes U+FFFD, as it does in the written file anyway.
 */
import { ValidationError } from '../errors.js';
import { compareBytes, compareStrings } from '../iceberg/conversions.js';
import { fixedLength, primitiveKind } from '../iceberg/schema.js';
import type { IcebergType, IcebergValue, PrimitiveType } from '../iceberg/types.js';
import { allValid, type PreparedColumn } from './column-scan.js';

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
/** Strings up to this many UTF-16 units are copied by a JavaScript loop (faster than a native call). */
const SHORT_STRING = 48;

type Fixed = Uint8Array | Int32Array | BigInt64Array | Float32Array | Float64Array;

function describe(v: IcebergValue): string {
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  const s = typeof v === 'bigint' ? `${v}n` : JSON.stringify(v);
  return `${typeof v} ${s !== undefined && s.length > 60 ? s.slice(0, 57) + '...' : s}`;
}

/** Values of one primitive top-level field, encoded on arrival. */
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
  private validity: Uint8Array | undefined;
  private fixed: Fixed | undefined;
  private heap: Buffer | undefined;
  private offsets: Int32Array | undefined;
  private used = 0;
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
   */
  constructor(
    readonly type: PrimitiveType,
    private readonly name: string,
    initialCapacity = 1024,
  ) {
    const kind = encodedKindOf(type);
    if (!kind) throw new ValidationError(`column-batch: ${name}: type ${type} has no encoded layout`);
    this.kind = kind;
    this.fixedLen = fixedLength(type);
    this.capacity = Math.max(16, initialCapacity);
    this.allocate(this.capacity);
  }

  private allocate(n: number): void {
    switch (this.kind) {
      case 'boolean':
        this.fixed = this.copyInto(new Uint8Array(n));
        break;
      case 'int32':
        this.fixed = this.copyInto(new Int32Array(n));
        break;
      case 'int64':
      case 'time':
        this.fixed = this.copyInto(new BigInt64Array(n));
        break;
      case 'float':
        this.fixed = this.copyInto(new Float32Array(n));
        break;
      case 'double':
        this.fixed = this.copyInto(new Float64Array(n));
        break;
      default: {
        const offsets = new Int32Array(n + 1);
        if (this.offsets) offsets.set(this.offsets.subarray(0, this.length + 1));
        this.offsets = offsets;
        this.heap ??= Buffer.allocUnsafe(Math.max(1024, n * 16));
      }
    }
    if (this.validity) {
      const v = allValid(n);
      v.set(this.validity.subarray(0, Math.min(this.validity.length, v.length)));
      this.validity = v;
    }
  }

  private copyInto<T extends Fixed>(fresh: T): T {
    if (this.fixed) (fresh as unknown as { set(a: ArrayLike<unknown>): void }).set(this.fixed.subarray(0, this.length) as ArrayLike<unknown>);
    return fresh;
  }

  private ensureHeap(extra: number): Buffer {
    const heap = this.heap!;
    if (this.used + extra <= heap.length) return heap;
    const bigger = Buffer.allocUnsafe(Math.max(this.used + extra, heap.length * 2));
    heap.copy(bigger, 0, 0, this.used);
    this.heap = bigger;
    return bigger;
  }

  private bad(v: IcebergValue, expected: string): never {
    throw new ValidationError(`column-batch: ${this.name}: row ${this.length}: expected ${expected}, got ${describe(v)}`);
  }

  /** Appends one value (null for null), checking it against the type. */
  append(v: IcebergValue | undefined): void {
    const i = this.length;
    if (i === this.capacity) {
      this.capacity *= 2;
      this.allocate(this.capacity);
    }
    if (v === null || v === undefined) {
      this.validity ??= allValid(this.capacity);
      this.validity[i >>> 3]! &= ~(1 << (i & 7));
      this.nulls++;
      if (this.offsets) this.offsets[i + 1] = this.used;
      this.length = i + 1;
      return;
    }
    switch (this.kind) {
      case 'string':
        if (typeof v !== 'string') this.bad(v, `a string (${this.type})`);
        this.appendString(v);
        break;
      case 'int64':
      case 'time': {
        if (typeof v !== 'bigint') this.bad(v, `a bigint (${this.type})`);
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
        (this.fixed as BigInt64Array)[i] = v;
        break;
      }
      case 'int32':
        if (typeof v !== 'number' || (v | 0) !== v) this.bad(v, `a 32-bit integer (${this.type})`);
        (this.fixed as Int32Array)[i] = v;
        if (v < this.numMin) this.numMin = v;
        if (v > this.numMax) this.numMax = v;
        break;
      case 'float':
      case 'double': {
        if (typeof v !== 'number') this.bad(v, `a number (${this.type})`);
        (this.fixed as Float32Array | Float64Array)[i] = v;
        if (v !== v) {
          this.nans++;
          break;
        }
        // Bounds of the value as stored; -0.0 sorts before 0.0 (Java's compare).
        const x = this.kind === 'float' ? Math.fround(v) : v;
        if (x < this.numMin || (x === 0 && this.numMin === 0 && Object.is(x, -0))) this.numMin = x;
        if (x > this.numMax || (x === 0 && this.numMax === 0 && Object.is(this.numMax, -0))) this.numMax = x;
        break;
      }
      case 'boolean':
        if (typeof v !== 'boolean') this.bad(v, 'a boolean');
        (this.fixed as Uint8Array)[i] = v ? 1 : 0;
        if (v) this.sawTrue = true;
        else this.sawFalse = true;
        break;
      case 'binary':
        if (!(v instanceof Uint8Array)) this.bad(v, `a Uint8Array (${this.type})`);
        if (this.fixedLen !== undefined && v.length !== this.fixedLen) this.bad(v, `exactly ${this.fixedLen} bytes (${this.type})`);
        this.ensureHeap(v.length).set(v, this.used);
        this.used += v.length;
        this.offsets![i + 1] = this.used;
        if (this.minValue === null || compareBytes(v, this.minValue as Uint8Array) < 0) this.minValue = v.slice();
        if (this.maxValue === null || compareBytes(v, this.maxValue as Uint8Array) > 0) this.maxValue = v.slice();
        break;
    }
    this.length = i + 1;
  }

  private appendString(s: string): void {
    const n = s.length;
    const heap = this.ensureHeap(n * 3);
    let pos = this.used;
    let ascii = true;
    if (n <= SHORT_STRING) {
      for (let k = 0; k < n; k++) {
        const c = s.charCodeAt(k);
        if (c > 0x7f) {
          ascii = false;
          break;
        }
        heap[pos + k] = c;
      }
      if (ascii) pos += n;
    }
    if (!ascii || n > SHORT_STRING) {
      // Lone surrogates become U+FFFD, as in every UTF-8 encoder. As many bytes as UTF-16
      // units means every unit was ASCII.
      const written = heap.write(s, pos, 'utf8');
      ascii = written === n;
      pos += written;
    }
    this.used = pos;
    this.offsets![this.length + 1] = pos;
    // JavaScript's string order (UTF-16 units) is the code point order when both are ASCII.
    const min = this.minValue as string | null;
    if (min === null) {
      this.minValue = this.maxValue = s;
      this.minAscii = this.maxAscii = ascii;
      return;
    }
    if (ascii && this.minAscii ? s < min : compareStrings(s, min) < 0) {
      this.minValue = s;
      this.minAscii = ascii;
    } else {
      const max = this.maxValue as string;
      if (ascii && this.maxAscii ? s > max : compareStrings(s, max) > 0) {
        this.maxValue = s;
        this.maxAscii = ascii;
      }
    }
  }

  /** Whether value `i` is null. */
  isNull(i: number): boolean {
    return this.validity !== undefined && (this.validity[i >>> 3]! & (1 << (i & 7))) === 0;
  }

  /** Value `i`, decoded (strings: their UTF-8 round trip). */
  get(i: number): IcebergValue {
    if (!(i >= 0 && i < this.length) || this.isNull(i)) return null;
    switch (this.kind) {
      case 'string':
        return this.heap!.toString('utf8', this.offsets![i]!, this.offsets![i + 1]!);
      case 'binary':
        return new Uint8Array(this.heap!.subarray(this.offsets![i]!, this.offsets![i + 1]!));
      case 'boolean':
        return this.fixed![i] === 1;
      default:
        return this.fixed![i]!;
    }
  }

  /** Position of the first null, or -1. */
  firstNull(): number {
    if (!this.validity || this.nulls === 0) return -1;
    for (let i = 0; i < this.length; i++) if (this.isNull(i)) return i;
    return -1;
  }

  /** The least and greatest non-null, non-NaN values (null when there are none). */
  range(): { min: IcebergValue; max: IcebergValue } {
    switch (this.kind) {
      case 'boolean':
        return { min: this.sawFalse ? false : this.sawTrue ? true : null, max: this.sawTrue ? true : this.sawFalse ? false : null };
      case 'string':
      case 'binary':
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

  /** The values in DuckDB's vector layout (views, valid until the next append). */
  prepared(): PreparedColumn {
    const validity = this.nulls > 0 ? this.validity : undefined;
    if (this.offsets) {
      const heap = this.heap!;
      return {
        layout: 'bytes',
        heap: new Uint8Array(heap.buffer, heap.byteOffset, this.used),
        offsets: this.offsets.subarray(0, this.length + 1),
        validity,
      };
    }
    const f = this.fixed!;
    return {
      layout: 'fixed',
      data: new Uint8Array(f.buffer, f.byteOffset, this.length * f.BYTES_PER_ELEMENT),
      width: f.BYTES_PER_ELEMENT,
      validity,
    };
  }
}

const ENCODED = Symbol('floe.encodedColumn');

const arrayLikeHandler: ProxyHandler<EncodedColumn> = {
  get(target, prop) {
    if (typeof prop === 'string') {
      const c = prop.charCodeAt(0);
      if (c >= 48 && c <= 57) return target.get(Number(prop));
      if (prop === 'length') return target.length;
    } else if (prop === ENCODED) {
      return target;
    }
    return undefined;
  },
  has(target, prop) {
    if (typeof prop === 'string') {
      const i = Number(prop);
      return prop === 'length' || (Number.isInteger(i) && i >= 0 && i < target.length);
    }
    return prop === ENCODED;
  },
};

/** The column as an `ArrayLike` of decoded values (what `ColumnBatch` columns are). */
export function asArrayLike(column: EncodedColumn): ArrayLike<IcebergValue> {
  return new Proxy(column, arrayLikeHandler) as unknown as ArrayLike<IcebergValue>;
}

/** The encoded column behind a batch column made by {@link asArrayLike}, if it is one. */
export function encodedColumnOf(values: ArrayLike<IcebergValue> | undefined): EncodedColumn | undefined {
  if (values === undefined || Array.isArray(values)) return undefined;
  return (values as unknown as Record<symbol, EncodedColumn | undefined>)[ENCODED];
}
