/**
 * vectors.md §7: Java-authored `deletion-vector-v1` blobs decode to exactly the listed positions,
 * our encoder reproduces their bytes, and every kind of corruption is refused naming the blob.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ValidationError } from '../../src/errors.js';
import { decodeDeletionVector, DELETION_VECTOR_BLOB_TYPE, encodeDeletionVector } from '../../src/iceberg/deletion-vector.js';
import { writeRoaringBitmap32 } from '../../src/iceberg/roaring-bitmap.js';
import { fixturePath, SKIP_NO_SHARED } from '../helpers/shared.js';

const deletes = (name: string): Uint8Array => new Uint8Array(readFileSync(fixturePath('vectors', 'deletes', name)));

/** Bit-at-a-time CRC-32 (IEEE): an oracle independent of the table-driven one under test. */
function slowCrc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** Frames a (possibly invalid) bitmap as a DV blob with a correct length and CRC. */
function frame(bitmap: Uint8Array): Uint8Array {
  const out = new Uint8Array(bitmap.length + 12);
  const view = new DataView(out.buffer);
  view.setUint32(0, bitmap.length + 4, false);
  out.set([0xd1, 0xd3, 0x39, 0x64], 4);
  out.set(bitmap, 8);
  view.setUint32(out.length - 4, slowCrc32(out.subarray(4, out.length - 4)), false);
  return out;
}

function storedCrc(blob: Uint8Array): string {
  return Buffer.from(blob.subarray(blob.length - 4)).toString('hex');
}

const SMALL_VECTORS: [string, number[], string | undefined][] = [
  ['empty-position-index.bin', [], 'bf18480c'],
  ['small-alternating-values-position-index.bin', [1, 3, 5, 7, 9], 'b3fb20be'],
  ['small-and-large-values-position-index.bin', [100, 101, 2147483747, 2147483748], undefined],
];

test('the oracle CRC-32 is the IEEE one (check value of "123456789")', () => {
  assert.equal(slowCrc32(new TextEncoder().encode('123456789')), 0xcbf43926);
});

test('blob type name', () => {
  assert.equal(DELETION_VECTOR_BLOB_TYPE, 'deletion-vector-v1');
});

for (const [name, positions, crc] of SMALL_VECTORS) {
  test(`${name} decodes to [${positions.join(', ')}] and re-encodes to Java's bytes`, { skip: SKIP_NO_SHARED }, () => {
    const blob = deletes(name);
    assert.deepEqual([...decodeDeletionVector(blob, name)], positions);
    if (crc !== undefined) assert.equal(storedCrc(blob), crc);
    assert.equal(storedCrc(blob), slowCrc32(blob.subarray(4, blob.length - 4)).toString(16).padStart(8, '0'));
    assert.deepEqual(Buffer.from(encodeDeletionVector(positions)), Buffer.from(blob));
  });
}

test('all-container-types: 132561 positions, first 5, 7, 65537, last 4295163902; Java bytes reproduced', { skip: SKIP_NO_SHARED }, () => {
  const name = 'all-container-types-position-index.bin';
  const blob = deletes(name);
  assert.equal(blob.length, 94);
  const positions = decodeDeletionVector(blob, name);
  assert.equal(positions.length, 132561);
  assert.deepEqual([...positions.subarray(0, 3)], [5, 7, 65537]);
  assert.equal(positions[positions.length - 1], 4295163902);
  for (let i = 1; i < positions.length; i++) {
    if (!((positions[i] as number) > (positions[i - 1] as number))) assert.fail(`not ascending at ${i}`);
  }
  assert.ok(positions.some((p) => p >= 2 ** 32), 'spans two keys');
  // Java built this by adding positions and run-optimizing, so its container choice is ours.
  assert.deepEqual(Buffer.from(encodeDeletionVector(positions)), Buffer.from(blob));
});

test('the encoder lays out Java framing: BE length, magic, bitmap, BE CRC', () => {
  const blob = encodeDeletionVector([1, 3, 5, 7, 9]);
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  assert.equal(view.getUint32(0, false), blob.length - 8);
  assert.equal(Buffer.from(blob.subarray(4, 8)).toString('hex'), 'd1d33964');
  assert.equal(view.getUint32(blob.length - 4, false), slowCrc32(blob.subarray(4, blob.length - 4)));
});

test('a flipped byte anywhere in magic or bitmap is a CRC error naming the blob', { skip: SKIP_NO_SHARED }, () => {
  const blob = deletes('all-container-types-position-index.bin');
  for (let i = 8; i < blob.length - 4; i++) {
    const bad = blob.slice();
    bad[i] = (bad[i] as number) ^ 0x10;
    assert.throws(
      () => decodeDeletionVector(bad, 'x.puffin@4+94'),
      (e: unknown) =>
        e instanceof ValidationError && /^deletion vector: x\.puffin@4\+94: CRC-32 mismatch/.test(e.message),
      `byte ${i}`,
    );
  }
  const badCrc = blob.slice();
  badCrc[blob.length - 1] = (badCrc[blob.length - 1] as number) ^ 1;
  assert.throws(() => decodeDeletionVector(badCrc, 'x.puffin'), /^ValidationError: deletion vector: x\.puffin: CRC-32 mismatch/);
});

test('truncated, extended, short and wrongly-prefixed blobs are refused', () => {
  const blob = encodeDeletionVector([1, 3, 5, 7, 9]);
  const what = 'f.puffin@4+50';
  const expectError = (bytes: Uint8Array, pattern: RegExp) =>
    assert.throws(
      () => decodeDeletionVector(bytes, what),
      (e: unknown) => e instanceof ValidationError && e.message.startsWith(`deletion vector: ${what}: `) && pattern.test(e.message),
    );
  expectError(blob.subarray(0, blob.length - 1), /length prefix says 42 bytes/);
  expectError(Uint8Array.of(...blob, 0), /length prefix/);
  expectError(blob.subarray(0, 12), /shorter than the smallest/);
  expectError(new Uint8Array(0), /shorter than the smallest/);
  const badMagic = blob.slice();
  badMagic[4] = 0xd2;
  expectError(badMagic, /bad magic d2d33964/);
});

test('bitmaps Java refuses are refused even with a valid CRC', { skip: SKIP_NO_SHARED }, () => {
  assert.throws(
    () => decodeDeletionVector(frame(deletes('64maphighvals.bin')), 'high.puffin'),
    /^ValidationError: deletion vector: high\.puffin: invalid unsigned key/,
  );
});

/** A 64-bit portable bitmap from explicit buckets. */
function portable(buckets: [number, Uint8Array][], count = buckets.length): Uint8Array {
  const parts = buckets.map(([key, bitmap]) => {
    const b = new Uint8Array(4 + bitmap.length);
    new DataView(b.buffer).setUint32(0, key, true);
    b.set(bitmap, 4);
    return b;
  });
  const head = new Uint8Array(8);
  new DataView(head.buffer).setUint32(0, count, true);
  return Buffer.concat([head, ...parts]);
}

test('keys out of order, too large, or positions past 2^53 are refused; sparse keys accepted', () => {
  const one = writeRoaringBitmap32([7]);
  const decode = (bitmap: Uint8Array) => decodeDeletionVector(frame(bitmap), 'k');
  assert.throws(() => decode(portable([[1, one], [0, one]])), /^ValidationError: deletion vector: k: keys must be sorted in ascending order/);
  assert.throws(() => decode(portable([[1, one], [1, one]])), /keys must be sorted/);
  assert.throws(() => decode(portable([[0x7fffffff, one]])), /key is too large/);
  assert.throws(() => decode(portable([[0x80000000, one]])), /invalid unsigned key -2147483648/);
  assert.throws(() => decode(portable([[0x200000, one]])), /above Number\.MAX_SAFE_INTEGER/);
  // The largest safe key still decodes exactly.
  assert.deepEqual([...decode(portable([[0x1fffff, writeRoaringBitmap32([0xffffffff])]]))], [Number.MAX_SAFE_INTEGER]);
  // Writers may skip empty buckets (Java writes them); both read the same.
  assert.deepEqual([...decode(portable([[0, one], [5, one]]))], [7, 5 * 2 ** 32 + 7]);
  assert.deepEqual([...decode(portable([[0x300000, writeRoaringBitmap32([])]]))], []);
  assert.throws(() => decode(portable([[0, one]], 2)), /bitmap count 2 does not fit/);
  assert.throws(() => decode(Uint8Array.of(...portable([[0, one]]), 0)), /1 bytes follow the bitmap/);
});

test('the encoder refuses unsorted, duplicate, negative, fractional and unsafe positions', () => {
  const bad: [number[], RegExp][] = [
    [[3, 1], /ascending and unique \(1 at index 1 after 3\)/],
    [[1, 1], /ascending and unique/],
    [[-1], /not an integer in \[0, 9007199254740991\]/],
    [[1.5], /not an integer/],
    [[Number.NaN], /not an integer/],
    [[2 ** 53], /not an integer/],
  ];
  for (const [positions, pattern] of bad) {
    assert.throws(
      () => encodeDeletionVector(positions),
      (e: unknown) => e instanceof ValidationError && e.message.startsWith('deletion vector: ') && pattern.test(e.message),
      JSON.stringify(positions),
    );
  }
});

test('Java writes every bucket up to the highest key, empty ones included', () => {
  const blob = encodeDeletionVector([3, 2 * 2 ** 32 + 1]);
  const view = new DataView(blob.buffer, blob.byteOffset);
  assert.equal(view.getUint32(8, true), 3, 'three buckets: 0, 1 (empty) and 2');
  assert.deepEqual([...decodeDeletionVector(blob, 'gap')], [3, 2 * 2 ** 32 + 1]);
  assert.deepEqual([...decodeDeletionVector(encodeDeletionVector(new Float64Array(0)), 'empty')], []);
});
