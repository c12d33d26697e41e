/**
 * Snappy block decompression, for reading Avro files written with `avro.codec = snappy`
 * (a `write.avro.compression-codec` choice some Iceberg writers make). Avro frames each block as
 * raw Snappy (no framing format) followed by the big-endian CRC-32 of the uncompressed bytes.
 *
 * Only decompression is needed: floe writes `null` or `deflate`.
 */
import { ValidationError } from '../../errors.js';
import { crc32 } from '../crc32.js';

/**
 * Decompresses one Avro snappy block (compressed bytes + 4-byte CRC-32) and verifies the checksum.
 * @param what names the file in error messages
 */
export function snappyAvroBlock(block: Uint8Array, what: string): Uint8Array {
  if (block.length < 4) throw new ValidationError(`avro: ${what}: snappy block shorter than its checksum`);
  const body = block.subarray(0, block.length - 4);
  const out = snappyDecompress(body, what);
  const view = new DataView(block.buffer, block.byteOffset + block.length - 4, 4);
  const expected = view.getUint32(0, false);
  const actual = crc32(out);
  if (expected !== actual) {
    throw new ValidationError(
      `avro: ${what}: snappy block checksum mismatch (expected ${expected.toString(16)}, got ${actual.toString(16)})`,
    );
  }
  return out;
}

/** Decompresses a raw Snappy block (the format in google/snappy `format_description.txt`). */
export function snappyDecompress(src: Uint8Array, what: string): Uint8Array {
  const fail = (msg: string): never => {
    throw new ValidationError(`avro: ${what}: corrupt snappy data: ${msg}`);
  };
  let pos = 0;
  // Preamble: uncompressed length as an unsigned little-endian base-128 varint (at most 32 bits).
  let length = 0;
  for (let shift = 0; ; shift += 7) {
    if (pos >= src.length || shift > 28) fail('bad length preamble');
    const b = src[pos++]!;
    length += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) break;
  }
  const out = new Uint8Array(length);
  let o = 0;
  while (pos < src.length) {
    const tag = src[pos++]!;
    const kind = tag & 3;
    if (kind === 0) {
      // Literal: the length is in the tag, or in the 1–4 little-endian bytes that follow.
      let len = tag >>> 2;
      if (len >= 60) {
        const n = len - 59;
        if (pos + n > src.length) fail('truncated literal length');
        len = 0;
        for (let i = 0; i < n; i++) len += src[pos + i]! * 2 ** (8 * i);
        pos += n;
      }
      len += 1;
      if (pos + len > src.length || o + len > length) fail('literal overruns its buffer');
      out.set(src.subarray(pos, pos + len), o);
      pos += len;
      o += len;
      continue;
    }
    let len: number;
    let offset: number;
    if (kind === 1) {
      if (pos >= src.length) fail('truncated copy');
      len = ((tag >>> 2) & 7) + 4;
      offset = ((tag >>> 5) << 8) | src[pos++]!;
    } else if (kind === 2) {
      if (pos + 2 > src.length) fail('truncated copy');
      len = (tag >>> 2) + 1;
      offset = src[pos]! | (src[pos + 1]! << 8);
      pos += 2;
    } else {
      if (pos + 4 > src.length) fail('truncated copy');
      len = (tag >>> 2) + 1;
      offset = (src[pos]! | (src[pos + 1]! << 8) | (src[pos + 2]! << 16) | (src[pos + 3]! << 24)) >>> 0;
      pos += 4;
    }
    if (offset === 0 || offset > o || o + len > length) fail('copy out of range');
    // Copies may overlap their own output (run-length style), so copy byte by byte.
    for (let i = 0; i < len; i++, o++) out[o] = out[o - offset]!;
  }
  if (o !== length) fail(`expected ${length} bytes, got ${o}`);
  return out;
}
