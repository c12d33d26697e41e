/**
 * The portable Roaring bitmap serialization (RoaringFormatSpec, as written by Java's
 * RoaringBitmap and CRoaring), and its 64-bit "portable" extension that Iceberg deletion
 * vectors store: a u64 LE bucket count, then per bucket a u32 LE key (the high 32 bits of
 * each value) and a 32-bit bitmap of the low 32 bits, keys ascending.
 *
 * A 32-bit bitmap is a list of containers, one per distinct high 16 bits ("key"), each holding
 * the low 16 bits as an array (sorted u16s), a bitset (65536 bits) or runs (start, length − 1).
 * The writer picks containers as Java does for a bitmap built by adding values and then
 * `runOptimize()`d (what Iceberg's `BitmapPositionDeleteIndex.serialize` does), so that our
 * bytes equal Java's for the same set.
 *
 * Readers validate everything a corrupt or hostile file could get wrong, because the values
 * become row positions that decide which rows a query hides.
 */
import { UnsupportedError, ValidationError } from '../errors.js';

/** Cookie of a bitmap without run containers; the container count follows as a u32. */
const SERIAL_COOKIE_NO_RUNCONTAINER = 12346;
/** Cookie of a bitmap with run containers; the high 16 bits of the same u32 hold count − 1. */
const SERIAL_COOKIE = 12347;
/** With run containers, the offset header is only written from this many containers on. */
const NO_OFFSET_THRESHOLD = 4;
/** Containers above this cardinality are bitsets (unless runs are smaller). */
const ARRAY_MAX_CARDINALITY = 4096;
const BITSET_BYTES = 8192;
const TWO_POW_32 = 2 ** 32;
/** Java reads bucket keys as signed ints and refuses the largest one (its MAX_POSITION bound). */
const MAX_JAVA_KEY = 0x7ffffffe;
/** The largest key whose positions all stay within Number.MAX_SAFE_INTEGER (2^53 − 1). */
const MAX_SAFE_KEY = 0x1fffff;
/**
 * Decoding materializes every position as a double; past this many a hostile run-container
 * bitmap (6 bytes → 65536 positions) could exhaust memory before anything is validated.
 */
export const MAX_DECODED_VALUES = 2 ** 28;

/** The kinds of container of the Roaring format. */
export type RoaringContainerKind = 'array' | 'bitset' | 'run';

type Fail = (message: string) => never;

function failer(subject: string, what: string): Fail {
  return (message: string): never => {
    throw new ValidationError(`${subject}: ${what}: ${message}`);
  };
}

/** How many bits of the 32-bit word `x` are set. */
export function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

interface ContainerHeader {
  key: number;
  cardinality: number;
  kind: RoaringContainerKind;
}

/**
 * Reads one 32-bit Roaring bitmap starting at `start`.
 * @param bytes the buffer holding it (it may continue past the bitmap)
 * @param start where the cookie is
 * @param what names the source in error messages (e.g. a file path and offset)
 * @param subject starts error messages (the format the bitmap is part of)
 * @param budget the most values the caller accepts
 * @returns the values ascending, and the offset just past the bitmap
 */
export function readRoaringBitmap32(
  bytes: Uint8Array,
  start: number,
  what: string,
  subject = 'roaring bitmap',
  budget = MAX_DECODED_VALUES,
  mask?: PositionMask,
): { values: Uint32Array; end: number } {
  const fail: Fail = failer(subject, what);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (at: number, n: number, part: string): void => {
    if (at + n > bytes.length) fail(`truncated ${part} at byte ${at} (needs ${n}, ${bytes.length - at} left)`);
  };
  need(start, 4, 'cookie');
  const cookie = view.getUint32(start, true);
  let pos = start + 4;
  let size: number;
  let runFlags: number | undefined;
  if (cookie === SERIAL_COOKIE_NO_RUNCONTAINER) {
    need(pos, 4, 'container count');
    size = view.getUint32(pos, true);
    pos += 4;
    if (size > 65536) fail(`container count ${size} exceeds 65536`);
  } else if ((cookie & 0xffff) === SERIAL_COOKIE) {
    size = (cookie >>> 16) + 1;
    runFlags = pos;
    pos += (size + 7) >>> 3;
  } else {
    return fail(`unknown cookie ${cookie} (expected ${SERIAL_COOKIE_NO_RUNCONTAINER} or ${SERIAL_COOKIE})`);
  }

  need(pos, size * 4, 'container headers');
  const headers: ContainerHeader[] = [];
  let total = 0;
  for (let i = 0; i < size; i++) {
    const key = view.getUint16(pos + i * 4, true);
    const cardinality = view.getUint16(pos + i * 4 + 2, true) + 1;
    const previous = headers[i - 1];
    if (previous && key <= previous.key) fail(`container keys not ascending (${key} after ${previous.key})`);
    const isRun = runFlags !== undefined && ((bytes[runFlags + (i >>> 3)] as number) & (1 << (i & 7))) !== 0;
    const kind: RoaringContainerKind = isRun ? 'run' : cardinality <= ARRAY_MAX_CARDINALITY ? 'array' : 'bitset';
    headers.push({ key, cardinality, kind });
    total += cardinality;
  }
  pos += size * 4;
  if (total > budget) {
    throw new UnsupportedError(`${subject}: ${what}: ${total} values exceed the ${budget} this reader accepts`);
  }

  // Offsets are redundant with the container sizes; a mismatch means the writer or the bytes are broken.
  let offsets: number | undefined;
  if (runFlags === undefined || size >= NO_OFFSET_THRESHOLD) {
    need(pos, size * 4, 'offset header');
    offsets = pos;
    pos += size * 4;
  }

  // Into a mask: no list of values (an empty one is returned), each value a bit.
  const values = new Uint32Array(mask ? 0 : total);
  let n = 0;
  const put = (v: number): void => {
    if (!mask) {
      values[n++] = v;
      return;
    }
    if (v >= mask.limit) fail(`deletes position ${v}, beyond the data file's ${mask.limit} rows`);
    mask.bits[v >>> 3] = (mask.bits[v >>> 3] as number) | (0x80 >>> (v & 7));
  };
  for (let i = 0; i < size; i++) {
    const { key, cardinality, kind } = headers[i] as ContainerHeader;
    if (offsets !== undefined) {
      const declared = view.getUint32(offsets + i * 4, true);
      if (declared !== pos - start) {
        fail(`container ${i} offset ${declared} does not match its position ${pos - start}`);
      }
    }
    const high = key * 65536;
    if (kind === 'array') {
      need(pos, cardinality * 2, `array container ${i}`);
      let last = -1;
      for (let j = 0; j < cardinality; j++) {
        const low = view.getUint16(pos + j * 2, true);
        if (low <= last) fail(`array container ${i} values not ascending (${low} after ${last})`);
        last = low;
        put(high + low);
      }
      pos += cardinality * 2;
    } else if (kind === 'bitset') {
      need(pos, BITSET_BYTES, `bitset container ${i}`);
      let count = 0;
      for (let w = 0; w < BITSET_BYTES / 4; w++) count += popcount32(view.getUint32(pos + w * 4, true));
      if (count !== cardinality) fail(`bitset container ${i} holds ${count} values, its header says ${cardinality}`);
      for (let b = 0; b < BITSET_BYTES; b++) {
        const byte = bytes[pos + b] as number;
        if (byte === 0) continue;
        if (mask) {
          // Roaring numbers a byte's bits from the least significant, a mask from the most.
          const at = high / 8 + b;
          if (high + b * 8 + (31 - Math.clz32(byte)) >= mask.limit) fail(`deletes position ${high + b * 8 + (31 - Math.clz32(byte))}, beyond the data file's ${mask.limit} rows`);
          mask.bits[at] = (mask.bits[at] as number) | (REVERSED_BITS[byte] as number);
          continue;
        }
        for (let bit = 0; bit < 8; bit++) if (byte & (1 << bit)) values[n++] = high + b * 8 + bit;
      }
      pos += BITSET_BYTES;
    } else {
      need(pos, 2, `run container ${i}`);
      const runs = view.getUint16(pos, true);
      pos += 2;
      need(pos, runs * 4, `run container ${i}`);
      let count = 0;
      let lastEnd = -1;
      for (let r = 0; r < runs; r++) {
        const first = view.getUint16(pos + r * 4, true);
        const last = first + view.getUint16(pos + r * 4 + 2, true);
        if (first <= lastEnd) fail(`run container ${i} runs overlap or are not ascending`);
        if (last > 0xffff) fail(`run container ${i} run ${first}+${last - first} passes 65535`);
        count += last - first + 1;
        if (count > cardinality) break;
        for (let v = first; v <= last; v++) put(high + v);
        lastEnd = last;
      }
      if (count !== cardinality) fail(`run container ${i} holds ${count}+ values, its header says ${cardinality}`);
      pos += runs * 4;
    }
  }
  return { values, end: pos };
}

/** Where {@link readPortableRoaring64Mask} puts values: a bit each, most significant first. */
export interface PositionMask {
  bits: Uint8Array;
  /** Values must be below this (the mask's rows). */
  limit: number;
}

/** Each byte with its bits in reverse order. */
const REVERSED_BITS = Uint8Array.from({ length: 256 }, (_, b) => {
  let r = 0;
  for (let i = 0; i < 8; i++) if (b & (1 << i)) r |= 0x80 >>> i;
  return r;
});

/**
 * {@link readPortableRoaring64} into a mask of `rows` bits (bit `p` is bit `7 - p % 8` of byte
 * `p / 8`, the order of DuckDB's BIT strings) instead of a list: the same checks, and every value
 * must be below `rows`. A reader filtering rows by bit skips a list of millions of positions;
 * bitset containers become mask bytes whole.
 * @returns the mask and how many values it holds
 */
export function readPortableRoaring64Mask(bytes: Uint8Array, rows: number, what: string, subject = 'roaring bitmap'): { bits: Uint8Array; cardinality: number } {
  const bits = new Uint8Array(Math.ceil(rows / 8));
  const cardinality = readBuckets(bytes, what, subject, { bits, limit: rows }).total;
  return { bits, cardinality };
}

/**
 * Reads a 64-bit portable Roaring bitmap that fills `bytes` exactly, refusing what Java's
 * `RoaringPositionBitmap.deserialize` refuses (negative or too-large keys, keys not ascending)
 * and positions above Number.MAX_SAFE_INTEGER.
 * @param what names the source in error messages
 * @param subject starts error messages
 * @returns the positions, ascending and unique
 */
export function readPortableRoaring64(bytes: Uint8Array, what: string, subject = 'roaring bitmap'): Float64Array {
  const { buckets, total } = readBuckets(bytes, what, subject, undefined);
  const positions = new Float64Array(total);
  let n = 0;
  for (const { key, values } of buckets) {
    const base = key * TWO_POW_32;
    for (let j = 0; j < values.length; j++) positions[n++] = base + (values[j] as number);
  }
  return positions;
}

/** The buckets of a 64-bit portable bitmap (values in lists, or set in `mask`), and the value count. */
function readBuckets(bytes: Uint8Array, what: string, subject: string, mask: PositionMask | undefined): { buckets: { key: number; values: Uint32Array }[]; total: number } {
  const fail: Fail = failer(subject, what);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 8) fail(`truncated bucket count (${bytes.length} bytes)`);
  const countLow = view.getUint32(0, true);
  const countHigh = view.getUint32(4, true);
  if (countHigh !== 0 || countLow > 0x7fffffff) fail(`invalid bitmap count ${countHigh * TWO_POW_32 + countLow}`);
  // Each bucket takes at least a key and an empty bitmap (12 bytes): refuse impossible counts early.
  if (countLow * 12 > bytes.length - 8) fail(`bitmap count ${countLow} does not fit in ${bytes.length} bytes`);
  let pos = 8;
  let lastKey = -1;
  let total = 0;
  const buckets: { key: number; values: Uint32Array }[] = [];
  for (let i = 0; i < countLow; i++) {
    if (pos + 4 > bytes.length) fail(`truncated key of bucket ${i}`);
    const key = view.getUint32(pos, true);
    if (key > 0x7fffffff) {
      fail(`invalid unsigned key ${key | 0} (0x${key.toString(16)}): keys are non-negative signed 32-bit`);
    }
    if (key > MAX_JAVA_KEY) fail(`key is too large: ${key}`);
    if (key <= lastKey) fail(`keys must be sorted in ascending order (${key} after ${lastKey})`);
    const budget = MAX_DECODED_VALUES - total;
    // A mask holds positions below 2^32 only: bucket 0 (another is empty or beyond the rows).
    const into = mask && key === 0 ? mask : undefined;
    const before = total;
    const { values, end } = readRoaringBitmap32(bytes, pos + 4, `${what}: bucket ${key}`, subject, budget, into);
    if (mask && !into && values.length > 0) fail(`deletes position ${key * TWO_POW_32 + (values[0] as number)}, beyond the data file's ${mask.limit} rows`);
    const count = into ? containerTotal(bytes, pos + 4) : values.length;
    if (count > 0 && key > MAX_SAFE_KEY) fail(`bucket ${key} holds positions above Number.MAX_SAFE_INTEGER`);
    total = before + count;
    buckets.push({ key, values });
    lastKey = key;
    pos = end;
  }
  if (pos !== bytes.length) fail(`${bytes.length - pos} bytes follow the bitmap`);
  return { buckets, total };
}

/** The value count of the (already validated) 32-bit bitmap at `start`: its headers' cardinalities. */
function containerTotal(bytes: Uint8Array, start: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const cookie = view.getUint32(start, true);
  let pos = start + 4;
  let size: number;
  if (cookie === SERIAL_COOKIE_NO_RUNCONTAINER) {
    size = view.getUint32(pos, true);
    pos += 4;
  } else {
    size = (cookie >>> 16) + 1;
    pos += (size + 7) >>> 3;
  }
  let total = 0;
  for (let i = 0; i < size; i++) total += view.getUint16(pos + i * 4 + 2, true) + 1;
  return total;
}

interface ContainerPlan {
  key: number;
  kind: RoaringContainerKind;
  /** Index range of the container's values in the input. */
  from: number;
  to: number;
  runs: number;
  bytes: number;
}

/**
 * Chooses each container's kind the way Java's add-then-runOptimize does. Java's choice also
 * depends on history where ours cannot: a container that was already a run container when more
 * positions were added (a DV merged and rewritten) stays a run on a size tie with an array
 * (2 × cardinality = 2 + 4 × runs), where a fresh one becomes an array. Such bytes still decode
 * to the same positions.
 */
function planContainers(values: ArrayLike<number>, from: number, to: number, base: number): ContainerPlan[] {
  const plans: ContainerPlan[] = [];
  let i = from;
  while (i < to) {
    const key = ((values[i] as number) - base) >>> 16;
    let j = i;
    let runs = 0;
    let previous = -2;
    while (j < to) {
      const low32 = (values[j] as number) - base;
      if (low32 >>> 16 !== key) break;
      const low = low32 & 0xffff;
      if (low !== previous + 1) runs++;
      previous = low;
      j++;
    }
    const cardinality = j - i;
    const [kind, bytes] = containerKind(cardinality, runs);
    plans.push({ key, kind, from: i, to: j, runs, bytes });
    i = j;
  }
  return plans;
}

/**
 * A container's kind and serialized size from its cardinality and run count. Java's
 * ArrayContainer/BitmapContainer.runOptimize convert only when runs are strictly smaller.
 */
function containerKind(cardinality: number, runs: number): [RoaringContainerKind, number] {
  const runBytes = 2 + 4 * runs;
  if (cardinality <= ARRAY_MAX_CARDINALITY) return 2 * cardinality > runBytes ? ['run', runBytes] : ['array', 2 * cardinality];
  return BITSET_BYTES > runBytes ? ['run', runBytes] : ['bitset', BITSET_BYTES];
}

function headerBytes(plans: ContainerPlan[]): number {
  const size = plans.length;
  const hasRuns = plans.some((p) => p.kind === 'run');
  if (!hasRuns) return 8 + 8 * size;
  return 4 + ((size + 7) >>> 3) + 4 * size + (size >= NO_OFFSET_THRESHOLD ? 4 * size : 0);
}

function bitmapBytes(plans: ContainerPlan[]): number {
  let n = headerBytes(plans);
  for (const p of plans) n += p.bytes;
  return n;
}

/** Writes a 32-bit bitmap's cookie and container headers; returns where the containers start. */
function writeHeader(out: Uint8Array, at: number, plans: ContainerPlan[]): number {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const size = plans.length;
  const hasRuns = plans.some((p) => p.kind === 'run');
  const start = at;
  if (hasRuns) {
    view.setUint32(at, SERIAL_COOKIE | ((size - 1) << 16), true);
    at += 4;
    plans.forEach((p, i) => {
      if (p.kind === 'run') out[at + (i >>> 3)] = (out[at + (i >>> 3)] as number) | (1 << (i & 7));
    });
    at += (size + 7) >>> 3;
  } else {
    view.setUint32(at, SERIAL_COOKIE_NO_RUNCONTAINER, true);
    view.setUint32(at + 4, size, true);
    at += 8;
  }
  for (const p of plans) {
    view.setUint16(at, p.key, true);
    view.setUint16(at + 2, p.to - p.from - 1, true);
    at += 4;
  }
  if (!hasRuns || size >= NO_OFFSET_THRESHOLD) {
    let offset = at + 4 * size - start;
    for (const p of plans) {
      view.setUint32(at, offset, true);
      offset += p.bytes;
      at += 4;
    }
  }
  return at;
}

function writePlanned(
  out: Uint8Array,
  at: number,
  plans: ContainerPlan[],
  values: ArrayLike<number>,
  base: number,
): number {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  at = writeHeader(out, at, plans);
  for (const p of plans) {
    if (p.kind === 'array') {
      for (let j = p.from; j < p.to; j++) {
        view.setUint16(at, ((values[j] as number) - base) & 0xffff, true);
        at += 2;
      }
    } else if (p.kind === 'bitset') {
      for (let j = p.from; j < p.to; j++) {
        const low = ((values[j] as number) - base) & 0xffff;
        out[at + (low >>> 3)] = (out[at + (low >>> 3)] as number) | (1 << (low & 7));
      }
      at += BITSET_BYTES;
    } else {
      view.setUint16(at, p.runs, true);
      at += 2;
      let j = p.from;
      while (j < p.to) {
        const first = ((values[j] as number) - base) & 0xffff;
        let last = first;
        while (j + 1 < p.to && (((values[j + 1] as number) - base) & 0xffff) === last + 1) {
          last++;
          j++;
        }
        j++;
        view.setUint16(at, first, true);
        view.setUint16(at + 2, last - first, true);
        at += 4;
      }
    }
  }
  return at;
}

function checkAscending(values: ArrayLike<number>, max: number, fail: Fail): void {
  let previous = -1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
      fail(`value ${String(v)} at index ${i} is not an integer in [0, ${max}]`);
    }
    if (v <= previous) fail(`values must be ascending and unique (${v} at index ${i} after ${previous})`);
    previous = v;
  }
}

/**
 * Serializes a 32-bit Roaring bitmap.
 * @param values unsigned 32-bit integers, ascending and unique (checked)
 */
export function writeRoaringBitmap32(values: ArrayLike<number>): Uint8Array {
  checkAscending(values, TWO_POW_32 - 1, failer('roaring bitmap', 'write'));
  const plans = planContainers(values, 0, values.length, 0);
  const out = new Uint8Array(bitmapBytes(plans));
  writePlanned(out, 0, plans, values, 0);
  return out;
}

/**
 * Serializes positions as a 64-bit portable Roaring bitmap, as Java's `RoaringPositionBitmap`
 * does: one bucket for every key from 0 to the highest used (empty ones included), so the bytes
 * match Java's.
 * @param positions non-negative safe integers, ascending and unique (checked)
 * @param subject starts error messages
 */
export function writePortableRoaring64(positions: ArrayLike<number>, subject = 'roaring bitmap'): Uint8Array {
  checkAscending(positions, Number.MAX_SAFE_INTEGER, failer(subject, 'write'));
  const n = positions.length;
  const keyCount = n === 0 ? 0 : Math.floor((positions[n - 1] as number) / TWO_POW_32) + 1;
  const buckets: { key: number; base: number; plans: ContainerPlan[] }[] = [];
  let size = 8;
  let i = 0;
  for (let key = 0; key < keyCount; key++) {
    const base = key * TWO_POW_32;
    let j = i;
    while (j < n && (positions[j] as number) < base + TWO_POW_32) j++;
    const plans = planContainers(positions, i, j, base);
    buckets.push({ key, base, plans });
    size += 4 + bitmapBytes(plans);
    i = j;
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, keyCount, true);
  let at = 8;
  for (const { key, base, plans } of buckets) {
    view.setUint32(at, key, true);
    at = writePlanned(out, at + 4, plans, positions, base);
  }
  return out;
}

/** Bit words (32 bits each) per container: 65536 values. */
const CONTAINER_WORDS = 2048;

/**
 * {@link writePortableRoaring64} of the positions whose bits are set in `bits` (bit `p % 32` of
 * word `p / 32` is position `p`), with the same bytes, straight from the words: an upsert
 * writer's deletion vectors hold millions of positions rewritten at every commit, and a list of
 * them made each commit cost a pass per position. Containers are chosen by the same rule, from
 * their cardinality and run count (both counted by word).
 */
export function writePortableRoaring64Bits(bits: Uint32Array): Uint8Array {
  const plans: (ContainerPlan & { word: number })[] = [];
  for (let word = 0; word < bits.length; word += CONTAINER_WORDS) {
    const end = Math.min(word + CONTAINER_WORDS, bits.length);
    let cardinality = 0;
    let runs = 0;
    let carry = 0;
    for (let w = word; w < end; w++) {
      const x = bits[w]!;
      if (x === 0) {
        carry = 0;
        continue;
      }
      cardinality += popcount32(x);
      // A run starts at every set bit whose lower neighbour is clear.
      runs += popcount32((x & ~((x << 1) | carry)) >>> 0);
      carry = x >>> 31;
    }
    if (cardinality === 0) continue;
    const [kind, bytes] = containerKind(cardinality, runs);
    plans.push({ key: word / CONTAINER_WORDS, kind, from: 0, to: cardinality, runs, bytes, word });
  }
  if (plans.length === 0) return new Uint8Array(8);
  const out = new Uint8Array(8 + 4 + bitmapBytes(plans));
  const view = new DataView(out.buffer);
  view.setUint32(0, 1, true); // one bucket, key 0: positions below 2^32
  let at = writeHeader(out, 12, plans);
  for (const p of plans) {
    const end = Math.min(p.word + CONTAINER_WORDS, bits.length);
    if (p.kind === 'bitset') {
      for (let w = p.word; w < end; w++) view.setUint32(at + (w - p.word) * 4, bits[w]!, true);
      at += BITSET_BYTES;
      continue;
    }
    if (p.kind === 'run') {
      view.setUint16(at, p.runs, true);
      at += 2;
    }
    let runStart = -1;
    for (let w = p.word; w <= end; w++) {
      let x = w < end ? bits[w]! : 0;
      const base = (w - p.word) * 32;
      if (p.kind === 'array') {
        while (x !== 0) {
          const low = x & -x;
          view.setUint16(at, base + 31 - Math.clz32(low), true);
          at += 2;
          x ^= low;
        }
        continue;
      }
      // Runs: walk the bits' transitions.
      for (let b = 0; b < 32; b++) {
        const set = w < end && ((x >>> b) & 1) === 1;
        if (set && runStart < 0) runStart = base + b;
        else if (!set && runStart >= 0) {
          view.setUint16(at, runStart, true);
          view.setUint16(at + 2, base + b - 1 - runStart, true);
          at += 4;
          runStart = -1;
        }
        if (w === end) break;
        if (!set && x >>> b === 0) break; // no set bit left in this word
      }
    }
  }
  return out;
}
