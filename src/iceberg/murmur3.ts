/**
 * Murmur3 x86 32-bit hash, seed 0: the hash behind Iceberg's `bucket[N]` transform
 * (`format/spec.md` Appendix B).
 *
 * Results are signed 32-bit integers, exactly as Java's Guava `murmur3_32_fixed().hashBytes()`
 * returns them, so they can be compared with values printed by the reference implementation.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

function mixK1(k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, C2);
}

function mixH1(h: number, k: number): number {
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function fmix(h: number, length: number): number {
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/**
 * Hashes bytes with murmur3_x86_32.
 * @param bytes the input
 * @param seed the seed (Iceberg always uses 0)
 * @returns the hash as a signed 32-bit integer
 */
export function murmur3Hash32(bytes: Uint8Array, seed = 0): number {
  let h = seed | 0;
  const n = bytes.length;
  const blocks = n & ~3;
  for (let i = 0; i < blocks; i += 4) {
    const k =
      (bytes[i] as number) |
      ((bytes[i + 1] as number) << 8) |
      ((bytes[i + 2] as number) << 16) |
      ((bytes[i + 3] as number) << 24);
    h = mixH1(h, mixK1(k));
  }
  const tail = n & 3;
  if (tail > 0) {
    let k = 0;
    if (tail === 3) k ^= (bytes[blocks + 2] as number) << 16;
    if (tail >= 2) k ^= (bytes[blocks + 1] as number) << 8;
    k ^= bytes[blocks] as number;
    h ^= mixK1(k);
  }
  return fmix(h, n);
}

/**
 * Iceberg's `hashInt`: the int is widened and hashed as a long (Appendix B note 1), so the value
 * hashes like the same `long`. Booleans hash as `hashInt(0|1)`.
 */
export function hashInt(v: number): number {
  return hashLong(BigInt(v));
}

/**
 * Hashes a 64-bit integer as its 8 little-endian bytes (Java `hashLong`). Iceberg hashes `int`,
 * `long`, `date`, `time` and timestamps this way, so promoting int to long never moves a bucket.
 */
export function hashLong(v: bigint | number): number {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigInt64(0, BigInt.asIntN(64, typeof v === 'bigint' ? v : BigInt(v)), true);
  return murmur3Hash32(b);
}

/**
 * Hashes a float or double as `hashLong(doubleToLongBits(v))` with NaN canonicalized to
 * 0x7ff8000000000000 and -0.0 to 0.0 (Appendix B note 5). Floats are hashed as the widened double
 * so float→double promotion keeps hashes. Not used by any transform today; provided for completeness.
 */
export function hashDouble(v: number): number {
  const b = new Uint8Array(8);
  const view = new DataView(b.buffer);
  if (Number.isNaN(v)) view.setBigUint64(0, 0x7ff8000000000000n, true);
  else view.setFloat64(0, v === 0 ? 0 : v, true);
  return murmur3Hash32(b);
}
