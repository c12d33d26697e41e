/**
 * The bitset writer of portable 64-bit Roaring bitmaps (`writePortableRoaring64Bits`, what an
 * upsert writer's deletion vectors use) writes the same bytes as the list writer for the same set,
 * whatever the containers: empty, sparse (array), dense (bitset), long runs (run), a partial last
 * container, and positions at container and word edges.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readPortableRoaring64, readPortableRoaring64Mask, writePortableRoaring64, writePortableRoaring64Bits } from '../../src/iceberg/roaring-bitmap.js';
import { rng } from '../helpers/rng.js';

function positionsOf(bits: Uint32Array): number[] {
  const out: number[] = [];
  for (let p = 0; p < bits.length * 32; p++) if ((bits[p >>> 5]! >>> (p & 31)) & 1) out.push(p);
  return out;
}

function check(bits: Uint32Array, label: string): void {
  const positions = positionsOf(bits);
  const bytes = writePortableRoaring64Bits(bits);
  assert.deepEqual(Buffer.from(bytes).toString('hex'), Buffer.from(writePortableRoaring64(positions)).toString('hex'), label);
  assert.deepEqual(Array.from(readPortableRoaring64(bytes, label)), positions, label);
}

test('roaring bits: the same bytes as the list writer, container by container', () => {
  check(new Uint32Array(0), 'no words');
  check(new Uint32Array(5000), 'all clear');
  const edges = new Uint32Array(4 * 2048 + 7);
  for (const p of [0, 31, 32, 65535, 65536, 65567, 131071, 3 * 65536 + 5, edges.length * 32 - 1]) edges[p >>> 5]! |= 1 << (p & 31);
  check(edges, 'edges');
  const full = new Uint32Array(2 * 2048 + 100).fill(0xffffffff);
  check(full, 'full: run containers');
  const runs = new Uint32Array(3 * 2048);
  for (let p = 1000; p < 70000; p++) runs[p >>> 5]! |= 1 << (p & 31);
  for (let p = 140000; p < 140003; p++) runs[p >>> 5]! |= 1 << (p & 31);
  check(runs, 'runs across a container edge');
  const alternate = new Uint32Array(2048).fill(0x55555555);
  check(alternate, 'every other bit: a bitset, runs bigger');
  const random = rng(7);
  for (const density of [0.0005, 0.01, 0.06, 0.3, 0.9, 0.999]) {
    const bits = new Uint32Array(3 * 2048 + 513);
    for (let p = 0; p < bits.length * 32; p++) if (random() < density) bits[p >>> 5]! |= 1 << (p & 31);
    check(bits, `density ${density}`);
  }
});

test('roaring mask: the reader into a mask sets exactly the listed positions, and refuses one past the rows', () => {
  const random = rng(11);
  for (const density of [0, 0.001, 0.05, 0.5, 0.97]) {
    const rows = 3 * 65536 + 1234;
    const bits = new Uint32Array(Math.ceil(rows / 32));
    for (let p = 0; p < rows; p++) if (random() < density) bits[p >>> 5]! |= 1 << (p & 31);
    // Long runs too (run containers).
    if (density > 0.4) for (let p = 70000; p < 140000; p++) bits[p >>> 5]! |= 1 << (p & 31);
    const bytes = writePortableRoaring64Bits(bits);
    const positions = readPortableRoaring64(bytes, 'test');
    const expected = new Uint8Array(Math.ceil(rows / 8));
    for (const p of positions) expected[p >>> 3]! |= 0x80 >>> (p & 7);
    const mask = readPortableRoaring64Mask(bytes, rows, 'test');
    assert.equal(mask.cardinality, positions.length, `density ${density}`);
    assert.deepEqual(Buffer.from(mask.bits).toString('hex'), Buffer.from(expected).toString('hex'), `density ${density}`);
    if (positions.length > 0) {
      const last = positions[positions.length - 1]!;
      assert.throws(() => readPortableRoaring64Mask(bytes, last, 'test'), new RegExp(`deletes position ${last}, beyond the data file's ${last} rows`));
    }
  }
  // A position in a bitset container past the rows (the bitset's top byte).
  const bits = new Uint32Array(2048).fill(0xffffffff);
  assert.throws(() => readPortableRoaring64Mask(writePortableRoaring64Bits(bits), 65535, 'test'), /deletes position 65535, beyond the data file's 65535 rows/);
});
