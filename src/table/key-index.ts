/**
 * A compact map from a 64-bit integer key to where its live row is: (data file ordinal, row
 * position). The upsert writer keeps one entry per live key of the table, so for a table of ten
 * million rows the per-entry cost decides whether it fits: a `Map<bigint, ...>` costs well over
 * 100 bytes an entry, this costs 16 bytes a slot (about 23 an entry at the 0.7 load factor).
 *
 * Layout: open addressing with linear probing over three parallel typed arrays. A key is held as
 * two int32 halves so the hot path never allocates a BigInt; file ordinal 0 marks an empty slot,
 * which is why ordinals start at 1. Deletion shifts the following entries back instead of leaving
 * tombstones, so lookups never slow down after many deletes and the table never needs a cleanup.
 */

/** Grow past this fraction of slots in use: linear probing degrades quickly above ~0.7. */
const MAX_LOAD = 0.7;
/** The smallest table: a power of two, so that `hash & mask` replaces a modulo. */
const MIN_CAPACITY = 1024;

/**
 * The home slot hash of (lo, hi): mixes the halves (the golden-ratio multiply keeps hi from
 * cancelling lo), then murmur3's fmix32 finalizer, so sequential ids spread over the whole table.
 */
function hash(lo: number, hi: number): number {
  let h = lo ^ Math.imul(hi, 0x9e3779b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/** The power-of-two capacity that holds `keys` entries under the max load factor. */
function capacityFor(keys: number): number {
  let capacity = MIN_CAPACITY;
  while (keys > capacity * MAX_LOAD) capacity *= 2;
  return capacity;
}

/** True when n is an integer in [0, 2^32 - 1] (`>>> 0` changes every other number, NaN included). */
function isUint32(n: number): boolean {
  return n >>> 0 === n;
}

/**
 * An open-addressing hash map from a 64-bit key, given as int32 halves (lo, hi), to
 * (file ordinal >= 1, row position uint32). Not safe to mutate while iterating.
 */
export class KeyIndex {
  /**
   * Slot s at [4s, 4s + 4): lo, hi, file ordinal (0: empty), row position (uint32 bits). One array,
   * so a probe touches one cache line: with 10 million keys the table is far larger than the
   * caches, and three arrays made every lookup three misses.
   */
  private slots: Int32Array;
  /** capacity - 1, for masking hashes and wrapping probes. */
  private mask: number;
  /** The size at which the next new key grows the table. */
  private maxSize: number;
  private count = 0;

  /**
   * @param expectedKeys pre-sizes the table so this many keys fit without growing (avoids
   *   rehashing a large table several times while it is loaded)
   * @throws RangeError when expectedKeys is negative or not finite
   */
  constructor(expectedKeys = 0) {
    if (!(expectedKeys >= 0 && Number.isFinite(expectedKeys))) {
      throw new RangeError(`expectedKeys must be a non-negative number, got ${expectedKeys}`);
    }
    const capacity = capacityFor(expectedKeys);
    this.slots = new Int32Array(4 * capacity);
    this.mask = capacity - 1;
    this.maxSize = Math.floor(capacity * MAX_LOAD);
  }

  /** The number of live entries. */
  get size(): number {
    return this.count;
  }

  /** Bytes held by the backing typed array, for reporting the writer's memory use. */
  get capacityBytes(): number {
    return this.slots.byteLength;
  }

  /**
   * The slot of key (lo, hi), or -1 when absent. The slot stays valid until the next `set` of a
   * new key or `delete` (either can move entries).
   * @param lo the low 32 bits as int32 (`x | 0`)
   * @param hi the high 32 bits as int32
   */
  find(lo: number, hi: number): number {
    lo |= 0; // accept the uint32 form of the same bits too
    hi |= 0;
    const { slots, mask } = this;
    for (let s = hash(lo, hi) & mask; ; s = (s + 1) & mask) {
      const at = 4 * s;
      if (slots[at + 2] === 0) return -1;
      if (slots[at] === lo && slots[at + 1] === hi) return s;
    }
  }

  /** The file ordinal (>= 1) at a slot returned by `find`. */
  fileAt(slot: number): number {
    return this.slots[4 * slot + 2]! >>> 0;
  }

  /** The row position (uint32) at a slot returned by `find`. */
  positionAt(slot: number): number {
    return this.slots[4 * slot + 3]! >>> 0;
  }

  /**
   * Points the entry at `slot` (from {@link find}, with no insert or delete since) at another file
   * and position, keeping its key: no second lookup when many entries move (a compaction).
   */
  moveAt(slot: number, file: number, position: number): void {
    if (slot < 0 || slot > this.mask || this.slots[4 * slot + 2] === 0) throw new RangeError(`KeyIndex: slot ${slot} holds no entry`);
    if (file === 0 || !isUint32(file)) throw new RangeError(`file ordinal must be an integer in [1, 2^32 - 1], got ${file}`);
    if (!isUint32(position)) throw new RangeError(`row position must be an integer in [0, 2^32 - 1], got ${position}`);
    this.slots[4 * slot + 2] = file;
    this.slots[4 * slot + 3] = position;
  }

  /**
   * Inserts key (lo, hi) or overwrites its entry.
   * @param file the data file's ordinal, 1 to 2^32 - 1 (0 is reserved for empty slots)
   * @param position the row position in that file, 0 to 2^32 - 1
   * @returns the previous file ordinal, or 0 when the key was absent
   * @throws RangeError when file or position is out of range
   */
  set(lo: number, hi: number, file: number, position: number): number {
    if (file === 0 || !isUint32(file)) throw new RangeError(`file ordinal must be an integer in [1, 2^32 - 1], got ${file}`);
    if (!isUint32(position)) throw new RangeError(`row position must be an integer in [0, 2^32 - 1], got ${position}`);
    lo |= 0;
    hi |= 0;
    let s = this.find(lo, hi);
    if (s >= 0) {
      const previous = this.slots[4 * s + 2]! >>> 0;
      this.slots[4 * s + 2] = file;
      this.slots[4 * s + 3] = position;
      return previous;
    }
    // Grow before inserting, so the probe below runs on the final table.
    if (this.count + 1 > this.maxSize) this.grow();
    const { slots, mask } = this;
    for (s = hash(lo, hi) & mask; slots[4 * s + 2] !== 0; s = (s + 1) & mask);
    const at = 4 * s;
    slots[at] = lo;
    slots[at + 1] = hi;
    slots[at + 2] = file;
    slots[at + 3] = position;
    this.count++;
    return 0;
  }

  /**
   * Removes key (lo, hi).
   * @returns true when the key was present
   */
  delete(lo: number, hi: number): boolean {
    let hole = this.find(lo, hi);
    if (hole < 0) return false;
    const { slots, mask } = this;
    // Backward shift: walk the rest of the cluster and move back every entry whose home is not
    // between the hole and its own slot (cyclically), so no probe sequence crosses an empty slot.
    // Distances are taken `& mask` so a cluster wrapping past the table's end works the same.
    for (let s = (hole + 1) & mask; slots[4 * s + 2] !== 0; s = (s + 1) & mask) {
      const home = hash(slots[4 * s]!, slots[4 * s + 1]!) & mask;
      if (((s - home) & mask) >= ((s - hole) & mask)) {
        slots.copyWithin(4 * hole, 4 * s, 4 * s + 4);
        hole = s;
      }
    }
    slots[4 * hole + 2] = 0;
    this.count--;
    return true;
  }

  /** Calls fn for every live entry, in slot order (unspecified to callers); fn must not mutate the index. */
  forEach(fn: (lo: number, hi: number, file: number, position: number) => void): void {
    const { slots } = this;
    for (let at = 0; at < slots.length; at += 4) {
      const file = slots[at + 2]!;
      if (file !== 0) fn(slots[at]!, slots[at + 1]!, file >>> 0, slots[at + 3]! >>> 0);
    }
  }

  /** Doubles the capacity and reinserts every entry (no key can already be present, so no compare). */
  private grow(): void {
    const old = this.slots;
    const capacity = (2 * old.length) / 4;
    const slots = new Int32Array(4 * capacity);
    const mask = capacity - 1;
    for (let o = 0; o < old.length; o += 4) {
      if (old[o + 2] === 0) continue;
      let s = hash(old[o]!, old[o + 1]!) & mask;
      while (slots[4 * s + 2] !== 0) s = (s + 1) & mask;
      slots.set(old.subarray(o, o + 4), 4 * s);
    }
    this.slots = slots;
    this.mask = mask;
    this.maxSize = Math.floor(capacity * MAX_LOAD);
  }
}

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/**
 * Splits a signed 64-bit key into its [lo, hi] int32 halves, the form `KeyIndex` takes; done once
 * per key at the edge, so the index itself never handles a BigInt.
 * @throws RangeError when key is outside the signed 64-bit range
 */
export function keyHalves(key: bigint): [number, number] {
  if (key < INT64_MIN || key > INT64_MAX) throw new RangeError(`key ${key} is outside the signed 64-bit range`);
  // Through the bytes: BigInt.asIntN and shifts cost a quarter of a microsecond a key.
  HALVES.setBigInt64(0, key, true);
  return [HALVES.getInt32(0, true), HALVES.getInt32(4, true)];
}

const HALVES = new DataView(new ArrayBuffer(8));

/** The inverse of `keyHalves`: the signed 64-bit bigint of (lo, hi). */
export function keyOf(lo: number, hi: number): bigint {
  // hi carries the sign; lo contributes its 32 bits unsigned (OR is exact: the low 32 bits of hi << 32 are zero).
  return (BigInt(hi | 0) << 32n) | BigInt(lo >>> 0);
}
