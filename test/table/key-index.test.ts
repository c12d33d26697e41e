/**
 * The upsert writer's key index (`table/key-index.ts`): the int64 <-> int32-halves split, the map
 * operations, and a randomized differential run against a plain `Map<bigint, ...>` that forces
 * collisions and deletes in clusters wrapping around the table's end, where backward-shift
 * deletion is easiest to get wrong.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyIndex, keyHalves, keyOf } from '../../src/table/key-index.js';

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
/** Bytes per slot: two int32 key halves, a uint32 file ordinal, a uint32 position. */
const SLOT_BYTES = 16;

/** A seeded PRNG (mulberry32), so a failure reproduces; returns a uint32. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
}

type Entry = [file: number, position: number];

/** Checks size, every find, a few misses and the forEach contents against the reference map. */
function assertSame(index: KeyIndex, ref: Map<bigint, Entry>, misses: bigint[], where: string): void {
  assert.equal(index.size, ref.size, `${where}: size`);
  for (const [key, [file, position]] of ref) {
    const slot = index.find(...keyHalves(key));
    assert.ok(slot >= 0, `${where}: ${key} missing`);
    assert.equal(index.fileAt(slot), file, `${where}: file of ${key}`);
    assert.equal(index.positionAt(slot), position, `${where}: position of ${key}`);
  }
  for (const key of misses) if (!ref.has(key)) assert.equal(index.find(...keyHalves(key)), -1, `${where}: ${key} found`);
  const seen = new Map<bigint, Entry>();
  index.forEach((lo, hi, file, position) => {
    const key = keyOf(lo, hi);
    assert.ok(!seen.has(key), `${where}: ${key} visited twice`);
    seen.set(key, [file, position]);
  });
  assert.equal(seen.size, ref.size, `${where}: forEach count`);
  for (const [key, [file, position]] of seen) {
    const want = ref.get(key);
    if (!want || want[0] !== file || want[1] !== position) assert.fail(`${where}: forEach gave ${key} -> ${file}, ${position}`);
  }
}

test('keyHalves and keyOf round trip across the int64 range', () => {
  const cases = [0n, -1n, 1n, 1n << 31n, -(1n << 31n), 1n << 32n, -(1n << 32n), (1n << 32n) - 1n, INT64_MIN, INT64_MAX];
  const next = rng(1);
  for (let i = 0; i < 2000; i++) cases.push(BigInt.asIntN(64, (BigInt(next()) << 32n) | BigInt(next())));
  for (const key of cases) {
    const [lo, hi] = keyHalves(key);
    assert.equal(lo, lo | 0, `lo of ${key} is an int32`);
    assert.equal(hi, hi | 0, `hi of ${key} is an int32`);
    assert.equal(keyOf(lo, hi), key);
  }
  assert.deepEqual(keyHalves(-1n), [-1, -1]);
  assert.deepEqual(keyHalves(1n << 31n), [-(2 ** 31), 0]);
  assert.deepEqual(keyHalves(1n << 32n), [0, 1]);
  assert.deepEqual(keyHalves(INT64_MIN), [0, -(2 ** 31)]);
  assert.deepEqual(keyHalves(INT64_MAX), [-1, 2 ** 31 - 1]);
  assert.throws(() => keyHalves(INT64_MAX + 1n), RangeError);
  assert.throws(() => keyHalves(INT64_MIN - 1n), RangeError);
  assert.throws(() => keyHalves(1n << 64n), RangeError);
});

test('set, find, overwrite and delete', () => {
  const index = new KeyIndex();
  assert.equal(index.size, 0);
  assert.equal(index.find(0, 0), -1);
  assert.equal(index.set(...keyHalves(42n), 1, 7), 0);
  assert.equal(index.set(...keyHalves(-42n), 3, 2 ** 32 - 1), 0);
  assert.equal(index.set(...keyHalves(INT64_MIN), 2 ** 32 - 1, 0), 0);
  assert.equal(index.size, 3);
  const slot = index.find(...keyHalves(42n));
  assert.equal(index.fileAt(slot), 1);
  assert.equal(index.positionAt(slot), 7);
  assert.equal(index.positionAt(index.find(...keyHalves(-42n))), 2 ** 32 - 1);
  assert.equal(index.fileAt(index.find(...keyHalves(INT64_MIN))), 2 ** 32 - 1);
  // The halves of 42 with hi flipped are a different key.
  assert.equal(index.find(42, 1), -1);

  assert.equal(index.set(...keyHalves(42n), 5, 9), 1, 'overwrite returns the previous file');
  assert.equal(index.size, 3);
  const again = index.find(...keyHalves(42n));
  assert.deepEqual([index.fileAt(again), index.positionAt(again)], [5, 9]);

  assert.equal(index.delete(...keyHalves(42n)), true);
  assert.equal(index.delete(...keyHalves(42n)), false);
  assert.equal(index.find(...keyHalves(42n)), -1);
  assert.equal(index.size, 2);
  assert.equal(index.set(...keyHalves(42n), 2, 0), 0, 'reinserted after delete');
  assert.equal(index.size, 3);
});

test('file ordinals and positions out of range are refused', () => {
  const index = new KeyIndex();
  for (const file of [0, -1, 2 ** 32, 1.5, NaN]) assert.throws(() => index.set(1, 0, file, 0), RangeError, `file ${file}`);
  for (const position of [-1, 2 ** 32, 0.5, NaN]) assert.throws(() => index.set(1, 0, 1, position), RangeError, `position ${position}`);
  assert.equal(index.size, 0);
  assert.throws(() => new KeyIndex(-1), RangeError);
});

test('capacity: a power of two of at least 1024 holding expectedKeys under a 0.7 load', () => {
  assert.equal(new KeyIndex().capacityBytes, 1024 * SLOT_BYTES);
  assert.equal(new KeyIndex(716).capacityBytes, 1024 * SLOT_BYTES);
  assert.equal(new KeyIndex(717).capacityBytes, 2048 * SLOT_BYTES);
  assert.equal(new KeyIndex(10_000_000).capacityBytes, 2 ** 24 * SLOT_BYTES);
});

test('growth from the minimum capacity to over 100k keys keeps every entry', () => {
  // Plain typed arrays as the reference (hi = i keeps keys distinct): BigInt would dominate the run time.
  const n = 105_000;
  const next = rng(2);
  const los = new Int32Array(n).map(() => next() | 0);
  const files = new Uint32Array(n).map(() => (next() % 1000) + 1);
  const positions = new Uint32Array(n).map(() => next());
  const index = new KeyIndex();
  const sizes = new Set<number>();
  for (let i = 0; i < n; i++) {
    assert.equal(index.set(los[i]!, i, files[i]!, positions[i]!), 0);
    sizes.add(index.capacityBytes);
  }
  assert.equal(sizes.size, 9, 'doubled from 2^10 to 2^18 slots');
  assert.equal(index.capacityBytes, 2 ** 18 * SLOT_BYTES, '105k keys need 2^18 slots at 0.7');
  assert.equal(index.size, n);
  for (let i = 0; i < n; i++) {
    const slot = index.find(los[i]!, i);
    if (slot < 0 || index.fileAt(slot) !== files[i] || index.positionAt(slot) !== positions[i]) assert.fail(`key ${i} lost`);
  }
  let visited = 0;
  index.forEach((lo, hi, file, position) => {
    visited++;
    if (lo !== los[hi] || file !== files[hi] || position !== positions[hi]) assert.fail(`forEach gave ${hi} wrong`);
  });
  assert.equal(visited, n);
});

test('randomized differential against a Map, with forced collisions and wrapping clusters', () => {
  const next = rng(3);
  const randomKey = (): bigint => BigInt.asIntN(64, (BigInt(next()) << 32n) | BigInt(next()));

  // The home slot of a key in a 1024-slot table, read through the public API: alone in an empty
  // table, a key sits at its home. Keys sharing a home are forced collisions.
  const probe = new KeyIndex();
  const homeOf = (key: bigint): number => {
    const halves = keyHalves(key);
    probe.set(...halves, 1, 0);
    const home = probe.find(...halves);
    probe.delete(...halves);
    return home;
  };
  // Homes at the table's end and start: their clusters wrap from slot 1023 to slot 0.
  const wanted = new Map<number, number>([[1021, 12], [1022, 12], [1023, 24], [0, 12], [2, 8]]);
  const colliding: bigint[] = [];
  while ([...wanted.values()].some((n) => n > 0)) {
    const key = randomKey();
    const left = wanted.get(homeOf(key));
    if (left) {
      wanted.set(homeOf(key), left - 1);
      colliding.push(key);
    }
  }
  // Edge keys whose halves look alike: equal lo with different hi and vice versa.
  const edges = [0n, -1n, 1n, 1n << 32n, (1n << 32n) + 1n, -(1n << 32n), INT64_MIN, INT64_MAX, 1n << 31n, -(1n << 31n)];

  let ops = 0;
  let wrapDeletes = 0;
  const pick = <T>(xs: T[]): T => xs[next() % xs.length]!;
  const apply = (index: KeyIndex, ref: Map<bigint, Entry>, key: bigint, del: boolean): void => {
    ops++;
    const [lo, hi] = keyHalves(key);
    if (del) {
      assert.equal(index.delete(lo, hi), ref.delete(key), `delete ${key}`);
    } else {
      const entry: Entry = [(next() % 0xffffffff) + 1, next()];
      assert.equal(index.set(lo, hi, ...entry), ref.get(key)?.[0] ?? 0, `set ${key}`);
      ref.set(key, entry);
    }
  };

  // Phase 1: the minimum table held just under its 716-entry limit, so clusters are long; the
  // colliding keys are inserted and deleted in bursts, a whole wrapping cluster at a time.
  {
    const index = new KeyIndex();
    const ref = new Map<bigint, Entry>();
    const filler: bigint[] = [...edges];
    for (let round = 0; round < 400; round++) {
      // Make room for every absent colliding key, then fill the rest up to the limit.
      const absent = colliding.filter((key) => !ref.has(key)).length;
      while (ref.size + absent > 716) apply(index, ref, pick(filler), true);
      while (ref.size + absent < 716) {
        const key = next() % 4 === 0 ? pick(filler) : randomKey();
        if (!ref.has(key)) filler.push(key);
        apply(index, ref, key, false);
      }
      for (const key of colliding) if (next() % 4 !== 0) apply(index, ref, key, false);
      // Mixed churn below the limit: overwrites and deletes of live keys.
      for (let i = 0; i < 120; i++) {
        const live = [...ref.keys()];
        apply(index, ref, pick(live), next() % 2 === 0);
        if (ref.size < 716) apply(index, ref, pick(filler), false);
      }
      // Delete a wrapping cluster: the entries now in the last and first slots, in random order.
      const cluster = colliding.filter((key) => {
        const slot = index.find(...keyHalves(key));
        return slot >= 1016 || (slot >= 0 && slot < 8);
      });
      if (cluster.some((key) => index.find(...keyHalves(key)) >= 1016) && cluster.some((key) => index.find(...keyHalves(key)) < 8)) wrapDeletes++;
      while (cluster.length > 0) apply(index, ref, cluster.splice(next() % cluster.length, 1)[0]!, true);
      if (round % 20 === 0) assertSame(index, ref, [...colliding, ...edges], `phase 1 round ${round}`);
      assert.equal(index.capacityBytes, 1024 * SLOT_BYTES, 'phase 1 never grows');
    }
    assertSame(index, ref, [...colliding, ...edges], 'phase 1 end');
  }
  assert.ok(wrapDeletes > 100, `clusters wrapping the end were deleted ${wrapDeletes} times`);

  // Phase 2: a growing table, random inserts, overwrites and deletes over a pool of keys.
  {
    const index = new KeyIndex();
    const ref = new Map<bigint, Entry>();
    const pool: bigint[] = [...edges, ...colliding];
    const misses = Array.from({ length: 200 }, randomKey);
    const start = ops;
    while (ops - start < 120_000) {
      const r = next() % 10;
      if (r < 4 || pool.length < 100) {
        const key = randomKey();
        pool.push(key);
        apply(index, ref, key, false);
      } else if (r < 7) {
        apply(index, ref, pick(pool), false);
      } else {
        apply(index, ref, pick(pool), true);
      }
      if ((ops - start) % 20_000 === 0) assertSame(index, ref, misses, `phase 2 op ${ops - start}`);
    }
    assertSame(index, ref, misses, 'phase 2 end');
  }
  assert.ok(ops >= 200_000, `${ops} operations`);
});

test('a million sequential keys', () => {
  const n = 1_000_000;
  const index = new KeyIndex();
  for (let i = 0; i < n; i++) index.set(i, 0, (i % 50) + 1, i);
  assert.equal(index.size, n);
  for (let i = 0; i < n; i++) {
    const slot = index.find(i, 0);
    if (slot < 0 || index.positionAt(slot) !== i || index.fileAt(slot) !== (i % 50) + 1) assert.fail(`key ${i}`);
  }
  assert.equal(index.find(n, 0), -1);
  assert.equal(index.find(0, 1), -1);
});
