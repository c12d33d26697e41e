/**
 * The Puffin blob type `deletion-vector-v1` (Iceberg v3): the positions of a data file's deleted
 * rows as a 64-bit portable Roaring bitmap, framed as
 *
 *     u32 BE length of (magic + bitmap) | magic D1 D3 39 64 | bitmap | u32 BE CRC-32(magic + bitmap)
 *
 * The big-endian framing comes from Delta Lake's deletion vectors, which Iceberg kept compatible.
 */
import { ValidationError } from '../errors.js';
import { crc32 } from './crc32.js';
import { readPortableRoaring64, readPortableRoaring64Mask, writePortableRoaring64, writePortableRoaring64Bits } from './roaring-bitmap.js';

/** The Puffin blob type of a deletion vector. */
export const DELETION_VECTOR_BLOB_TYPE = 'deletion-vector-v1';

const MAGIC = Uint8Array.of(0xd1, 0xd3, 0x39, 0x64);
const SUBJECT = 'deletion vector';
/** Length prefix + magic + empty bitmap (bucket count only) + CRC. */
const MIN_BLOB_BYTES = 4 + 4 + 8 + 4;

function hex32(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/**
 * Decodes a `deletion-vector-v1` blob (the exact blob bytes, as sliced from the Puffin file at
 * the offset and length its manifest entry gives).
 * @param blob the blob
 * @param what names the blob in error messages, e.g. `s3://…/x.puffin@4+50`
 * @returns the deleted positions, ascending and unique
 * @throws ValidationError (`deletion vector: <what>: …`) on a bad length, magic, checksum or bitmap
 */
export function decodeDeletionVector(blob: Uint8Array, what: string): Float64Array {
  return readPortableRoaring64(unframe(blob, what), what, SUBJECT);
}

/**
 * {@link decodeDeletionVector} into a mask of `rows` bits (most significant bit first, as DuckDB's
 * BIT strings): the same checks, every position below `rows`, no list of positions.
 */
export function decodeDeletionVectorMask(blob: Uint8Array, rows: number, what: string): { bits: Uint8Array; cardinality: number } {
  return readPortableRoaring64Mask(unframe(blob, what), rows, what, SUBJECT);
}

/** The bitmap of a `deletion-vector-v1` blob, its length prefix, magic and CRC checked. */
function unframe(blob: Uint8Array, what: string): Uint8Array {
  const fail = (message: string): never => {
    throw new ValidationError(`${SUBJECT}: ${what}: ${message}`);
  };
  if (blob.length < MIN_BLOB_BYTES) fail(`blob is ${blob.length} bytes, shorter than the smallest (${MIN_BLOB_BYTES})`);
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const length = view.getUint32(0, false);
  if (length !== blob.length - 8) {
    fail(`length prefix says ${length} bytes of magic and bitmap, the blob holds ${blob.length - 8}`);
  }
  for (let i = 0; i < 4; i++) {
    if (blob[4 + i] !== MAGIC[i]) fail(`bad magic ${hex32(view.getUint32(4, false))} (expected d1d33964)`);
  }
  const expected = view.getUint32(4 + length, false);
  const actual = crc32(blob.subarray(4, 4 + length));
  if (expected !== actual) fail(`CRC-32 mismatch (stored ${hex32(expected)}, computed ${hex32(actual)})`);
  return blob.subarray(8, 4 + length);
}

/**
 * Encodes positions as a `deletion-vector-v1` blob, byte for byte as Iceberg Java writes the
 * same set (see `roaring-bitmap.ts` for where container choices can differ).
 * @param positions non-negative safe integers, ascending and unique
 * @throws ValidationError (`deletion vector: …`) when the positions are not
 */
export function encodeDeletionVector(positions: ArrayLike<number>): Uint8Array {
  return frame(writePortableRoaring64(positions, SUBJECT));
}

/**
 * {@link encodeDeletionVector} of the positions set in `bits` (bit `p % 32` of word `p / 32`),
 * the same bytes, without a list of them.
 */
export function encodeDeletionVectorBits(bits: Uint32Array): Uint8Array {
  return frame(writePortableRoaring64Bits(bits));
}

/** The blob around a bitmap: length, magic, bitmap, CRC-32 of magic and bitmap. */
function frame(bitmap: Uint8Array): Uint8Array {
  const length = 4 + bitmap.length;
  const out = new Uint8Array(length + 8);
  const view = new DataView(out.buffer);
  view.setUint32(0, length, false);
  out.set(MAGIC, 4);
  out.set(bitmap, 8);
  view.setUint32(4 + length, crc32(out.subarray(4, 4 + length)), false);
  return out;
}
