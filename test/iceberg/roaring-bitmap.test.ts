/**
 * The portable Roaring format: Java's container choice (array / bitset / run, offset header),
 * the RoaringBitmap 64-bit test files (vectors.md §7), seeded round trips, and malformed input.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { UnsupportedError, ValidationError } from '../../src/errors.js';
import {
  MAX_DECODED_VALUES,
  readPortableRoaring64,
  readRoaringBitmap32,
  writePortableRoaring64,
  writeRoaringBitmap32,
} from '../../src/iceberg/roaring-bitmap.js';
import { rng } from '../helpers/rng.js';
import { fixturePath, SKIP_NO_SHARED } from '../helpers/shared.js';

const deletes = (name: string): Uint8Array => new Uint8Array(readFileSync(fixturePath('vectors', 'deletes', name)));

/** Container kinds of a serialized 32-bit bitmap, read independently of the code under test. */
function containerKinds(bytes: Uint8Array): string[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const cookie = view.getUint32(0, true);
  const withRuns = (cookie & 0xffff) === 12347;
  const size = withRuns ? (cookie >>> 16) + 1 : view.getUint32(4, true);
  const headers = withRuns ? 4 + ((size + 7) >> 3) : 8;
  const kinds: string[] = [];
  for (let i = 0; i < size; i++) {
    const card = view.getUint16(headers + i * 4 + 2, true) + 1;
    const run = withRuns && ((bytes[4 + (i >> 3)] as number) >> (i & 7)) & 1;
    kinds.push(run ? 'run' : card <= 4096 ? 'array' : 'bitset');
  }
  return kinds;
}

function range(from: number, to: number, step = 1): number[] {
  const out: number[] = [];
  for (let v = from; v < to; v += step) out.push(v);
  return out;
}

function roundTrip32(values: number[]): Uint8Array {
  const bytes = writeRoaringBitmap32(values);
  const { values: back, end } = readRoaringBitmap32(bytes, 0, 'rt');
  assert.equal(end, bytes.length);
  assert.deepEqual([...back], values);
  return bytes;
}

test('sparse values: one array container, cookie 12346 with offsets', () => {
  const bytes = roundTrip32(range(0, 200, 2));
  assert.deepEqual(containerKinds(bytes), ['array']);
  assert.equal(bytes.length, 8 + 4 + 4 + 200);
  assert.equal(new DataView(bytes.buffer).getUint32(12, true), 16, 'offset of the first container');
});

test('more than 4096 scattered values: a bitset', () => {
  const bytes = roundTrip32(range(0, 10000, 2));
  assert.deepEqual(containerKinds(bytes), ['bitset']);
  assert.equal(bytes.length, 16 + 8192);
});

test('a long run: a run container, cookie 12347, no offsets below 4 containers', () => {
  const bytes = roundTrip32(range(0, 10000));
  assert.deepEqual(containerKinds(bytes), ['run']);
  assert.deepEqual([...bytes], [0x3b, 0x30, 0, 0, 1, 0, 0, 0x0f, 0x27, 1, 0, 0, 0, 0x0f, 0x27]);
});

test('runs only when strictly smaller, as Java runOptimize decides', () => {
  // 3 consecutive values: array 6 bytes, run 6 bytes: Java keeps the array.
  assert.deepEqual(containerKinds(roundTrip32([5, 6, 7])), ['array']);
  assert.deepEqual(containerKinds(roundTrip32([5, 6, 7, 8])), ['run']);
  // 4097 values in 2048 runs: 8194 bytes as runs, not smaller than a bitset.
  const pairs = range(0, 2047).flatMap((r) => [r * 4, r * 4 + 1]);
  pairs.push(9000, 9001, 9002);
  assert.equal(pairs.length, 4097);
  assert.deepEqual(containerKinds(roundTrip32(pairs)), ['bitset']);
  // 4097 values in 2047 runs: 8190 bytes, smaller than a bitset.
  const fewer = range(0, 2046).flatMap((r) => [r * 4, r * 4 + 1]);
  fewer.push(9000, 9001, 9002, 9003, 9004);
  assert.equal(fewer.length, 4097);
  assert.deepEqual(containerKinds(roundTrip32(fewer)), ['run']);
});

test('with run containers, 4 or more containers carry an offset header', () => {
  const values = [...range(0, 100), ...range(65536, 65636), ...range(131072, 131172), ...range(196608, 196708, 3)];
  const bytes = roundTrip32(values);
  assert.deepEqual(containerKinds(bytes), ['run', 'run', 'run', 'array']);
  // cookie 4 + run flags 1 + headers 16 + offsets 16, then the first container.
  assert.equal(new DataView(bytes.buffer).getUint32(4 + 1 + 16, true), 37);
  const three = writeRoaringBitmap32(values.slice(0, 300));
  assert.equal(three.length, 4 + 1 + 12 + 3 * 6, 'no offsets with 3 containers');
});

test('values up to 2^32 − 1 and empty bitmaps', () => {
  roundTrip32([0, 65535, 65536, 0xffff0000, 0xfffffffe, 0xffffffff]);
  assert.deepEqual([...roundTrip32([])], [0x3a, 0x30, 0, 0, 0, 0, 0, 0]);
  assert.throws(() => writeRoaringBitmap32([2 ** 32]), ValidationError);
});

test('RoaringBitmap 64-bit test files decode (they are not run-optimized, so our bytes differ)', { skip: SKIP_NO_SHARED }, () => {
  const vals32 = readPortableRoaring64(deletes('64map32bitvals.bin'), '64map32bitvals.bin');
  assert.deepEqual([...vals32], range(0, 10));
  assert.deepEqual([...readPortableRoaring64(deletes('64mapempty.bin'), 'e')], []);
  const spread = readPortableRoaring64(deletes('64mapspreadvals.bin'), 's');
  assert.equal(spread.length, 100);
  const expected = range(0, 10).flatMap((k) => range(0, 10).map((v) => k * 2 ** 32 + v));
  assert.deepEqual([...spread], expected);
  assert.equal(spread[99], 38654705673);
  // Java's DV writer run-optimizes: 0..9 becomes one run, so the file's array container is not reproduced.
  assert.deepEqual(containerKinds(deletes('64map32bitvals.bin').subarray(12)), ['array']);
  const ours = writePortableRoaring64(vals32);
  assert.deepEqual(containerKinds(ours.subarray(12)), ['run']);
  assert.deepEqual([...readPortableRoaring64(ours, 'ours')], range(0, 10));
});

test('64maphighvals.bin is refused as Java refuses it (invalid unsigned key)', { skip: SKIP_NO_SHARED }, () => {
  assert.throws(
    () => readPortableRoaring64(deletes('64maphighvals.bin'), '64maphighvals.bin'),
    (e: unknown) => e instanceof ValidationError && /64maphighvals\.bin: invalid unsigned key -272777233/.test(e.message),
  );
});

test('seeded random position sets round-trip: sparse, dense, runs, several buckets', () => {
  for (let seed = 1; seed <= 12; seed++) {
    const next = rng(seed);
    const set = new Set<number>();
    const buckets = 1 + Math.floor(next() * 4);
    for (let b = 0; b < buckets; b++) {
      const key = b === 0 ? 0 : Math.floor(next() * 40);
      const base = key * 2 ** 32;
      const shape = (seed + b) % 3;
      const container = Math.floor(next() * 65536);
      const start = base + container * 65536;
      if (shape === 0) {
        for (let i = 0; i < 300; i++) set.add(base + Math.floor(next() * 2 ** 32));
      } else if (shape === 1) {
        for (let i = 0; i < 30000; i++) set.add(start + Math.floor(next() * 65536));
      } else {
        let at = start + Math.floor(next() * 1000);
        for (let r = 0; r < 50; r++) {
          const len = 1 + Math.floor(next() * 3000);
          for (let i = 0; i < len; i++) set.add(at + i);
          at += len + 1 + Math.floor(next() * 200);
        }
      }
    }
    const positions = [...set].sort((a, b) => a - b);
    const bytes = writePortableRoaring64(positions);
    const back = readPortableRoaring64(bytes, `seed ${seed}`);
    assert.equal(back.length, positions.length, `seed ${seed}`);
    assert.deepEqual([...back], positions, `seed ${seed}`);
  }
});

test('the random shapes do produce every container kind', () => {
  const bitmapOf = (values: number[]) => containerKinds(writeRoaringBitmap32(values));
  const next = rng(99);
  const dense = [...new Set(range(0, 30000).map(() => Math.floor(next() * 65536)))].sort((a, b) => a - b);
  assert.deepEqual(bitmapOf(dense), ['bitset']);
  const sparse = [...new Set(range(0, 300).map(() => Math.floor(next() * 65536)))].sort((a, b) => a - b);
  assert.deepEqual(bitmapOf(sparse), ['array']);
  assert.deepEqual(bitmapOf(range(100, 3100)), ['run']);
});

test('malformed 32-bit bitmaps are refused with the subject and source named', () => {
  const fails = (bytes: Uint8Array | number[], pattern: RegExp) =>
    assert.throws(
      () => readRoaringBitmap32(Uint8Array.from(bytes), 0, 'src', 'thing'),
      (e: unknown) => e instanceof ValidationError && e.message.startsWith('thing: src: ') && pattern.test(e.message),
    );
  fails([1, 2, 3, 4], /unknown cookie/);
  fails([0x3a, 0x30], /truncated cookie/);
  const array = writeRoaringBitmap32([1, 2, 4]);
  fails(array.subarray(0, array.length - 1), /truncated array container 0/);
  const unsorted = array.slice();
  unsorted.set([4, 0, 2, 0], 16 + 2);
  fails(unsorted, /values not ascending/);
  const badOffset = array.slice();
  badOffset[12] = 17;
  fails(badOffset, /offset 17 does not match its position 16/);
  const twoKeys = writeRoaringBitmap32([1, 65537]);
  const swapped = twoKeys.slice();
  swapped[8] = 2;
  swapped[12] = 1;
  fails(swapped, /container keys not ascending/);
  const run = writeRoaringBitmap32(range(10, 20));
  const longRun = run.slice();
  longRun[11] = 0xff; // start 65535, length 10: passes 65535
  longRun[12] = 0xff;
  fails(longRun, /passes 65535/);
  const wrongCount = run.slice();
  wrongCount[7] = 20; // header says 21 values, runs hold 10
  fails(wrongCount, /holds 10\+ values, its header says 21/);
  const bitset = writeRoaringBitmap32(range(0, 10000, 2));
  const extraBit = bitset.slice();
  extraBit[16 + 8191] = 0x80;
  fails(extraBit, /bitset container 0 holds 5001 values, its header says 5000/);
});

test('a bitmap claiming more values than the decoding limit is refused before allocating', () => {
  // 65536 full run containers: 2^32 values claimed by a 270 KB header.
  const size = 65536;
  const bytes = new Uint8Array(4 + size / 8 + size * 4);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 12347 | ((size - 1) << 16), true);
  bytes.fill(0xff, 4, 4 + size / 8);
  for (let i = 0; i < size; i++) {
    view.setUint16(4 + size / 8 + i * 4, i, true);
    view.setUint16(4 + size / 8 + i * 4 + 2, 0xffff, true);
  }
  assert.throws(
    () => readRoaringBitmap32(bytes, 0, 'huge', 'deletion vector'),
    (e: unknown) => e instanceof UnsupportedError && e.message === `deletion vector: huge: ${2 ** 32} values exceed the ${MAX_DECODED_VALUES} this reader accepts`,
  );
});
