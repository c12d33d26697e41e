/**
 * The raw appends of the JSON fast path change nothing observable: a string column fed UTF-8
 * spans (`appendUtf8`), interleaved in any way with JavaScript strings and nulls across the
 * 2048-row chunk boundaries, holds exactly what the same values appended as strings give (the
 * prepared blocks byte for byte, lengths, validity, decoded values, null count, bounds); a long or
 * timestamp column fed safe integers (`appendInt64`) holds what `append(BigInt(x))` gives; a batch
 * built with `ColumnBatchBuilder.appendRaw` equals one built from values, and so do the Parquet
 * files written from them (rows read back, counts, bounds, sizes).
 */
import assert from 'node:assert/strict';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  ColumnBatchBuilder,
  newRawRow,
  RAW_INT64,
  RAW_NULL,
  RAW_UTF8,
  RAW_VALUE,
  type ColumnBatch,
  type RawRow,
} from '../../src/data/column-batch.js';
import { SCAN_CHUNK_ROWS } from '../../src/duckdb/column-scan.js';
import { EncodedColumn } from '../../src/data/encoded-column.js';
import { LeafStats } from '../../src/data/parquet-metrics.js';
import { writeParquetFile, type ParquetWriteResult } from '../../src/data/parquet-writer.js';
import { ValidationError } from '../../src/errors.js';
import type { IcebergValue, PrimitiveType, Schema } from '../../src/iceberg/types.js';
import { DuckDB, sqlString } from '../../src/duckdb/instance.js';
import { fromDuckDB } from './duckdb-values.js';
import { rng } from '../helpers/rng.js';

const enc = new TextEncoder();
const CHUNK = SCAN_CHUNK_ROWS;


// ---------------------------------------------------------------------------------------------
// Strings
// ---------------------------------------------------------------------------------------------

/** How one value reaches the column under test. */
type Mode = 'raw' | 'js';

/**
 * A scratch "record" that every raw span is cut from, rewritten for each append: the column must
 * copy the bytes, not keep a view of them (bounds included).
 */
class Scratch {
  private buf = new Uint8Array(64);

  /** Writes `s` surrounded by other bytes and returns its span. */
  span(s: string): { bytes: Uint8Array; from: number; to: number } {
    const body = enc.encode(s);
    const need = body.length + 16;
    if (need > this.buf.length) this.buf = new Uint8Array(need * 2);
    this.buf.fill(0x7b); // '{', junk around the span
    const from = 7;
    this.buf.set(body, from);
    return { bytes: this.buf, from, to: from + body.length };
  }

  /** Overwrites everything (after an append: the column must not see this). */
  scribble(): void {
    this.buf.fill(0xff);
  }
}

/** A column of `values`, each string through `mode(i)` (nulls always through `append(null)`). */
function feedStrings(values: readonly (string | null)[], mode: (i: number) => Mode, capacity = 16): EncodedColumn {
  const c = new EncodedColumn('string', 'c', capacity);
  const scratch = new Scratch();
  values.forEach((v, i) => {
    if (v === null) c.append(null);
    else if (mode(i) === 'js') c.append(v);
    else {
      const { bytes, from, to } = scratch.span(v);
      c.appendUtf8(bytes, from, to);
      scratch.scribble();
    }
  });
  return c;
}

/** The reference: the same values, every one through `append`. */
const allJs = (values: readonly (string | null)[], capacity = 16) => feedStrings(values, () => 'js', capacity);

function validBits(validity: Uint8Array | undefined, length: number): boolean[] {
  return Array.from({ length }, (_, i) => validity === undefined || (validity[i >>> 3]! & (1 << (i & 7))) !== 0);
}

/** Asserts that two columns are indistinguishable to every reader of an encoded column. */
function assertSameColumn(got: EncodedColumn, want: EncodedColumn, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  assert.equal(got.nulls, want.nulls, `${what}: null count`);
  assert.equal(got.nans, want.nans, `${what}: NaN count`);
  const g = got.prepared();
  const w = want.prepared();
  assert.equal(g.layout, w.layout, `${what}: layout`);
  if (g.layout === 'bytes' && w.layout === 'bytes') {
    assert.equal(g.blocks.length, w.blocks.length, `${what}: one block per chunk`);
    assert.equal(g.blocks.length, Math.ceil(want.length / CHUNK), `${what}: blocks`);
    g.blocks.forEach((b, k) => {
      assert.ok(Buffer.from(b).equals(Buffer.from(w.blocks[k]!)), `${what}: block ${k} (${b.length} vs ${w.blocks[k]!.length} bytes)`);
    });
    assert.ok(
      Buffer.concat(g.blocks.map((b) => Buffer.from(b))).equals(Buffer.concat(w.blocks.map((b) => Buffer.from(b)))),
      `${what}: the blocks together`,
    );
    assert.deepStrictEqual(Array.from(g.lengths), Array.from(w.lengths), `${what}: lengths`);
  } else if (g.layout === 'fixed' && w.layout === 'fixed') {
    assert.equal(g.width, w.width, `${what}: width`);
    assert.ok(Buffer.from(g.data).equals(Buffer.from(w.data)), `${what}: value bytes`);
  } else {
    assert.fail(`${what}: unexpected layout ${g.layout}`);
  }
  const gv = g.validity;
  const wv = w.validity;
  assert.equal(gv === undefined, wv === undefined, `${what}: validity present`);
  assert.deepStrictEqual(validBits(gv, got.length), validBits(wv, want.length), `${what}: validity`);
  for (let i = 0; i < want.length; i++) {
    assert.equal(got.isNull(i), want.isNull(i), `${what}: isNull(${i})`);
    const a = got.get(i);
    const b = want.get(i);
    if (a !== b) assert.deepStrictEqual(a, b, `${what}: get(${i})`);
  }
  assert.deepStrictEqual(got.range(), want.range(), `${what}: range`);
}

/** Bounds as Iceberg orders them (code points), computed value by value. */
function leafRange(type: PrimitiveType, values: readonly IcebergValue[]): { min: IcebergValue; max: IcebergValue } {
  const leaf = new LeafStats(1, type, true);
  for (const v of values) {
    if (v === null) leaf.addNull();
    else leaf.add(v);
  }
  return { min: leaf.min, max: leaf.max };
}

const PIECES = ['a', 'z', 'A', '0', ' ', '~', '\u007f', 'é', 'ß', '✓', '日', '𝄞', '😀', '\uFFFF', '\uFFFD', 'Ω'];

/** Seeded strings: ASCII, multi-byte, empty, long (beyond 64 bytes), about 12% nulls. */
function makeStrings(count: number, seed: number): (string | null)[] {
  const r = rng(seed);
  const out: (string | null)[] = [];
  for (let i = 0; i < count; i++) {
    const x = r();
    if (x < 0.12) out.push(null);
    else if (x < 0.18) out.push('');
    else if (x < 0.55) {
      let s = '';
      const n = 1 + Math.floor(r() * 20);
      for (let k = 0; k < n; k++) s += String.fromCharCode(97 + Math.floor(r() * 26));
      out.push(s);
    } else if (x < 0.93) {
      let s = '';
      const n = 1 + Math.floor(r() * 12);
      for (let k = 0; k < n; k++) s += PIECES[Math.floor(r() * PIECES.length)]!;
      out.push(s);
    } else {
      out.push((r() < 0.5 ? 'é' : 'x').repeat(40 + Math.floor(r() * 120))); // 40..320 bytes
    }
  }
  return out;
}

const PATTERNS: [string, (r: () => number) => (i: number) => Mode][] = [
  ['every value raw', () => () => 'raw'],
  ['alternating raw and JS', () => (i) => (i % 2 === 0 ? 'raw' : 'js')],
  ['random', (r) => () => (r() < 0.5 ? 'raw' : 'js')],
  ['mostly raw, a few JS', (r) => () => (r() < 0.95 ? 'raw' : 'js')],
  ['runs of 700 across the chunk boundaries', () => (i) => (Math.floor(i / 700) % 2 === 0 ? 'raw' : 'js')],
  ['raw only around the chunk edges', () => (i) => (i % CHUNK >= CHUNK - 5 || i % CHUNK < 5 ? 'raw' : 'js')],
  ['JS around the chunk edges', () => (i) => (i % CHUNK >= CHUNK - 5 || i % CHUNK < 5 ? 'js' : 'raw')],
  ['whole chunks: JS, then raw', () => (i) => (Math.floor(i / CHUNK) % 2 === 0 ? 'js' : 'raw')],
  ['whole chunks: raw, then JS', () => (i) => (Math.floor(i / CHUNK) % 2 === 0 ? 'raw' : 'js')],
  ['one raw value per chunk, its last row', () => (i) => (i % CHUNK === CHUNK - 1 ? 'raw' : 'js')],
  ['one raw value per chunk, its first row', () => (i) => (i % CHUNK === 0 ? 'raw' : 'js')],
];

describe('EncodedColumn.appendUtf8: the same column as JavaScript strings', () => {
  for (const count of [1, 2047, 2048, 2049, 6145]) {
    for (const [name, pattern] of PATTERNS) {
      if (count < 2048 && name.includes('chunk')) continue;
      test(`${count} values, ${name}`, () => {
        const values = makeStrings(count, count * 31 + name.length);
        const mode = pattern(rng(count + name.length));
        const got = feedStrings(values, mode);
        const want = allJs(values);
        assertSameColumn(got, want, `${name}, ${count} values`);
        assert.deepStrictEqual(want.range(), leafRange('string', values), 'the reference bounds are code point bounds');
      });
    }
  }

  test('a column of empty strings and nulls only (empty blocks)', () => {
    for (const count of [5, 2048, 4100]) {
      const values = Array.from({ length: count }, (_, i) => (i % 3 === 1 ? null : ''));
      for (const [name, pattern] of PATTERNS) {
        assertSameColumn(feedStrings(values, pattern(rng(count))), allJs(values), `${name}, ${count} empties`);
      }
      const got = feedStrings(values, () => 'raw');
      assert.deepStrictEqual(got.range(), { min: '', max: '' });
    }
  });

  test('a column of nulls only, and an empty column', () => {
    const nulls = Array.from({ length: 3000 }, () => null);
    const got = feedStrings(nulls, () => 'raw');
    assertSameColumn(got, allJs(nulls), 'nulls');
    assert.deepStrictEqual(got.range(), { min: null, max: null });
    assertSameColumn(feedStrings([], () => 'raw'), allJs([]), 'empty');
  });

  test('long spans that grow the chunk buffer past the span holding the minimum', () => {
    // The minimum is the first span; thousands of long spans then reallocate the chunk's bytes
    // several times. The bound must still read the minimum's bytes.
    const values: (string | null)[] = ['0', ...Array.from({ length: 5000 }, (_, i) => 'x'.repeat(65 + (i % 300)) + String(i)), '00'];
    for (const [name, pattern] of PATTERNS) {
      const got = feedStrings(values, pattern(rng(1)));
      assertSameColumn(got, allJs(values), name);
      assert.deepStrictEqual(got.range(), leafRange('string', values), name);
      assert.equal(got.range().min, '0');
    }
  });

  test('a large initial capacity and a tiny one give the same column', () => {
    const values = makeStrings(5000, 99);
    assertSameColumn(feedStrings(values, (i) => (i % 3 === 0 ? 'js' : 'raw'), 100_000), allJs(values, 2), 'capacities');
  });
});

describe('EncodedColumn.appendUtf8: bounds', () => {
  /** Every assignment of modes to `values`, in every order of the values, gives `expected`. */
  function everyWay(values: string[], expected: { min: string; max: string }): void {
    const perms = (xs: string[]): string[][] =>
      xs.length <= 1 ? [xs] : xs.flatMap((x, i) => perms([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
    for (const order of perms(values)) {
      for (let mask = 0; mask < 1 << order.length; mask++) {
        const mode = (i: number): Mode => ((mask >> i) & 1 ? 'raw' : 'js');
        const what = `${JSON.stringify(order)} with ${order.map((_, i) => mode(i)).join(',')}`;
        const got = feedStrings(order, mode);
        assert.deepStrictEqual(got.range(), expected, what);
        assertSameColumn(got, allJs(order), what);
      }
    }
  }

  test('the minimum from a raw span, the maximum from a string, and every other way round', () => {
    everyWay(['a', 'm', 'z'], { min: 'a', max: 'z' });
    everyWay(['b', 'ab', 'abc'], { min: 'ab', max: 'b' });
    everyWay(['', 'a', '\u007f'], { min: '', max: '\u007f' });
  });

  test('non-ASCII bounds are in code point order: z < é < ✓ < 𝄞', () => {
    everyWay(['z', 'é', '𝄞'], { min: 'z', max: '𝄞' });
    everyWay(['é', '✓', '𝄞', 'z'], { min: 'z', max: '𝄞' });
    everyWay(['é', 'éa', 'e'], { min: 'e', max: 'éa' });
  });

  test('U+FFFF sorts below 𝄞 (UTF-16 order says otherwise)', () => {
    everyWay(['\uFFFF', '𝄞'], { min: '\uFFFF', max: '𝄞' });
    everyWay(['\uFFFF', '😀', '\uFFFD'], { min: '\uFFFD', max: '😀' });
    everyWay(['𝄞', '\uFFFFa', '\uFFFF'], { min: '\uFFFF', max: '𝄞' });
  });

  test('bounds from spans in earlier chunks merge with strings of later chunks', () => {
    // Chunk 0: raw spans only, holding both bounds; chunks 1–2: ASCII strings only, inside them.
    const values = Array.from({ length: 3 * CHUNK }, (_, i) => (i < CHUNK ? (i === 5 ? '!' : i === 9 ? '𝄞' : 'k' + (i % 10)) : 'm' + (i % 97)));
    const mode = (i: number): Mode => (i < CHUNK ? 'raw' : 'js');
    assert.deepStrictEqual(feedStrings(values, mode).range(), { min: '!', max: '𝄞' });
    // The other way round: strings hold both bounds, spans lie inside.
    const flipped = (i: number): Mode => (i < CHUNK ? 'js' : 'raw');
    assert.deepStrictEqual(feedStrings(values, flipped).range(), { min: '!', max: '𝄞' });
    // A bound in the middle of an ASCII-only chunk of strings beats a non-ASCII raw bound below it.
    const more = [...values.slice(0, CHUNK), ...Array.from({ length: CHUNK }, (_, i) => (i === 100 ? '\u{10FFFF}' : i === 7 ? ' ' : 'q'))];
    assert.deepStrictEqual(feedStrings(more, mode).range(), { min: ' ', max: '\u{10FFFF}' });
    assertSameColumn(feedStrings(more, mode), allJs(more), 'more');
  });

  test('random columns: bounds are code point bounds whichever way values arrive', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const r = rng(seed);
      const values = makeStrings(1 + Math.floor(r() * 300), seed);
      const got = feedStrings(values, () => (r() < 0.5 ? 'raw' : 'js'));
      assert.deepStrictEqual(got.range(), leafRange('string', values), `seed ${seed}`);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Longs and timestamps
// ---------------------------------------------------------------------------------------------

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const SPECIAL_INTS = [
  0, -0, 1, -1, 2 ** 31, -(2 ** 31), 2 ** 31 - 1, -(2 ** 31) - 1, 2 ** 32, -(2 ** 32), 2 ** 32 - 1, 2 ** 32 + 1, -(2 ** 32) - 1,
  -(2 ** 32) + 1, 2 ** 52, -(2 ** 52), MAX_SAFE, -MAX_SAFE, MAX_SAFE - 1, -MAX_SAFE + 1, 1_767_885_412_345_678, -62_135_596_800_000,
];

/** Safe integers of every magnitude, the special ones first; about 10% nulls. */
function makeInts(count: number, seed: number): (number | null)[] {
  const r = rng(seed);
  const out: (number | null)[] = [...SPECIAL_INTS];
  while (out.length < count) {
    if (r() < 0.1) {
      out.push(null);
      continue;
    }
    const magnitude = 2 ** Math.floor(r() * 54); // up to 2^53
    const x = Math.min(MAX_SAFE, Math.floor(r() * magnitude));
    out.push(r() < 0.5 ? -x : x);
  }
  return out.slice(0, count);
}

type IntMode = 'int64' | 'bigint';

function feedInts(type: PrimitiveType, values: readonly (number | bigint | null)[], mode: (i: number) => IntMode): EncodedColumn {
  const c = new EncodedColumn(type, 'c', 16);
  values.forEach((v, i) => {
    if (v === null) c.append(null);
    else if (typeof v === 'bigint') c.append(v); // beyond 2^53: only as a bigint
    else if (mode(i) === 'int64') c.appendInt64(v);
    else c.append(BigInt(v));
  });
  return c;
}

describe('EncodedColumn.appendInt64: the same column as bigints', () => {
  for (const type of ['long', 'timestamptz', 'timestamp', 'timestamp_ns'] as PrimitiveType[]) {
    test(`${type}: special and random safe integers, every way of appending`, () => {
      const values = makeInts(5000, 7);
      const modes: [string, (i: number) => IntMode][] = [
        ['all appendInt64', () => 'int64'],
        ['alternating', (i) => (i % 2 === 0 ? 'int64' : 'bigint')],
        ['runs of 700', (i) => (Math.floor(i / 700) % 2 === 0 ? 'int64' : 'bigint')],
      ];
      const want = feedInts(type, values, () => 'bigint');
      for (const [name, mode] of modes) assertSameColumn(feedInts(type, values, mode), want, `${type}, ${name}`);
      // The reference itself: exact values and bounds.
      values.forEach((v, i) => assert.equal(want.get(i), v === null ? null : BigInt(v), `value ${i}`));
      assert.deepStrictEqual(want.range(), { min: BigInt(-MAX_SAFE), max: BigInt(MAX_SAFE) });
    });
  }

  test('each special value alone: the bytes of BigInt64Array, get and range', () => {
    for (const x of SPECIAL_INTS) {
      const got = feedInts('long', [x], () => 'int64');
      const want = feedInts('long', [x], () => 'bigint');
      assertSameColumn(got, want, String(x));
      const p = got.prepared();
      assert.ok(p.layout === 'fixed');
      assert.equal(new BigInt64Array(p.data.slice().buffer)[0], BigInt(x), `${x} as stored`);
      assert.deepStrictEqual(got.range(), { min: BigInt(x), max: BigInt(x) }, `range of ${x}`);
      assert.equal(got.get(0), BigInt(x));
    }
  });

  test('bounds: from appendInt64 or from bigints, and beyond 2^53 from bigints only', () => {
    const cases: [(number | bigint | null)[], { min: bigint | null; max: bigint | null }][] = [
      [[5, -3, 9], { min: -3n, max: 9n }],
      [[null, null], { min: null, max: null }],
      [[0, -0], { min: 0n, max: 0n }],
      [[2n ** 62n, 7, -(2n ** 63n)], { min: -(2n ** 63n), max: 2n ** 62n }],
      [[MAX_SAFE, 2n ** 53n, -MAX_SAFE], { min: BigInt(-MAX_SAFE), max: 2n ** 53n }],
      [[-(2n ** 53n) - 1n, -MAX_SAFE, null, 12], { min: -(2n ** 53n) - 1n, max: 12n }],
    ];
    for (const [values, expected] of cases) {
      const what = values.map(String).join(',');
      for (let mask = 0; mask < 1 << values.length; mask++) {
        const got = feedInts('long', values, (i) => ((mask >> i) & 1 ? 'int64' : 'bigint'));
        assert.deepStrictEqual(got.range(), expected, `${what} (${mask})`);
        assertSameColumn(got, feedInts('long', values, () => 'bigint'), what);
      }
    }
  });

  test('an unsafe integer, or a column that is not a long or timestamp, is refused', () => {
    const long = new EncodedColumn('long', 'user_count', 16);
    long.appendInt64(1);
    for (const x of [2 ** 53, -(2 ** 53), 2 ** 53 + 2, 2 ** 63, 1.5, -0.5, NaN, Infinity, -Infinity]) {
      assert.throws(
        () => long.appendInt64(x),
        (e: unknown) => e instanceof ValidationError && /^column-batch: user_count: .*not a safe integer for a long column/.test(e.message),
        String(x),
      );
    }
    assert.equal(long.length, 1, 'a refused value is not stored');
    assert.deepStrictEqual(long.range(), { min: 1n, max: 1n });
    for (const type of ['int', 'date', 'time', 'double', 'float', 'string', 'boolean', 'binary'] as PrimitiveType[]) {
      const c = new EncodedColumn(type, 'col', 16);
      assert.throws(() => c.appendInt64(1), (e: unknown) => e instanceof ValidationError && /^column-batch: col: /.test(e.message), type);
      assert.equal(c.length, 0);
    }
  });

  test('UTF-8 spans for a column that is not a string column are refused', () => {
    const bytes = enc.encode('abc');
    for (const type of ['long', 'int', 'binary', 'fixed[3]', 'timestamptz', 'boolean'] as PrimitiveType[]) {
      const c = new EncodedColumn(type, 'col', 16);
      assert.throws(() => c.appendUtf8(bytes, 0, 3), (e: unknown) => e instanceof ValidationError && /^column-batch: col: /.test(e.message), type);
      assert.equal(c.length, 0);
    }
  });

  test('raw appends to a complete (built) column are refused', () => {
    const s = new EncodedColumn('string', 's', 16);
    s.appendUtf8(enc.encode('x'), 0, 1);
    s.seal();
    assert.throws(() => s.appendUtf8(enc.encode('y'), 0, 1), ValidationError);
    const l = new EncodedColumn('long', 'l', 16);
    l.appendInt64(3);
    l.seal();
    assert.throws(() => l.appendInt64(4), ValidationError);
    assert.equal(s.length, 1);
    assert.equal(l.length, 1);
  });
});

// ---------------------------------------------------------------------------------------------
// ColumnBatchBuilder.appendRaw, and the Parquet files written from it
// ---------------------------------------------------------------------------------------------

const schema: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 's', required: false, type: 'string' },
    { id: 3, name: 'ts', required: false, type: 'timestamptz' },
    { id: 4, name: 'l', required: false, type: 'long' },
    { id: 5, name: 'i', required: false, type: 'int' },
    { id: 6, name: 'd', required: false, type: 'double' },
    { id: 7, name: 'b', required: false, type: 'boolean' },
    { id: 8, name: 'dec', required: false, type: 'decimal(9, 2)' }, // not encoded: an array column
    { id: 9, name: 'page', required: false, type: 'string' },
  ],
};

/** A row, and how the fast path would hand over each column (raw where it can). */
interface Generated {
  values: IcebergValue[];
  raw: boolean[];
}

function makeRows(count: number, seed: number): Generated[] {
  const r = rng(seed);
  const strings = makeStrings(count, seed + 1);
  const pages = makeStrings(count, seed + 2);
  const ints = makeInts(count, seed + 3);
  const rows: Generated[] = [];
  for (let n = 0; n < count; n++) {
    const maybe = <T>(v: T): T | null => (r() < 0.1 ? null : v);
    const ts = ints[(n * 7) % count]!;
    rows.push({
      values: [
        BigInt(n),
        strings[n]!,
        maybe(ts === null ? null : BigInt(1_767_885_412_000_000 + (ts % 100_000_000_000))),
        ints[n] === null ? null : BigInt(ints[n]!),
        maybe(Math.floor((r() - 0.5) * 2 ** 32)),
        maybe([0, -0, 1.5, -2.25, 1e300, NaN, Infinity, 0.1][Math.floor(r() * 8)]!),
        maybe(r() < 0.5),
        maybe(BigInt(Math.floor((r() - 0.5) * 1e9))),
        pages[n]!,
      ],
      // Raw for most values, a value for some (a record the fast path declined comes as values).
      raw: Array.from({ length: schema.fields.length }, () => r() < 0.8),
    });
  }
  return rows;
}

const INT64_FIELDS = new Set([0, 2, 3]);
const STRING_FIELDS = new Set([1, 8]);

/**
 * Fills `row` as the fast path does: strings as spans of one record buffer (a new buffer per
 * record, scribbled over after the append), safe longs and timestamps as numbers, the rest as values.
 */
function toRaw(g: Generated, row: RawRow): Uint8Array {
  const parts: Uint8Array[] = [];
  let offset = 3; // bytes before the first span
  for (let i = 0; i < g.values.length; i++) {
    const v = g.values[i]!;
    if (v === null) {
      row.tags[i] = g.raw[i] ? RAW_NULL : RAW_VALUE;
      row.values[i] = null;
    } else if (g.raw[i] && STRING_FIELDS.has(i)) {
      const b = enc.encode(v as string);
      parts.push(b);
      row.tags[i] = RAW_UTF8;
      row.from[i] = offset;
      row.to[i] = offset + b.length;
      offset += b.length + 5; // junk between spans
    } else if (g.raw[i] && INT64_FIELDS.has(i)) {
      row.tags[i] = RAW_INT64;
      row.nums[i] = Number(v);
    } else {
      row.tags[i] = RAW_VALUE;
      row.values[i] = v;
    }
  }
  const bytes = new Uint8Array(offset + 3).fill(0x2c);
  for (let i = 0, k = 0; i < g.values.length; i++) if (row.tags[i] === RAW_UTF8) bytes.set(parts[k++]!, row.from[i]!);
  row.bytes = bytes;
  return bytes;
}

function rawBatch(rows: Generated[], encode: boolean): ColumnBatch {
  const b = new ColumnBatchBuilder(schema, { encode, expectedRows: 100 });
  const row = newRawRow(schema.fields.length);
  for (const g of rows) {
    const bytes = toRaw(g, row);
    b.appendRaw(row);
    bytes.fill(0xff);
  }
  return b.build();
}

function valueBatch(rows: Generated[], encode: boolean): ColumnBatch {
  const b = new ColumnBatchBuilder(schema, { encode, expectedRows: 100 });
  for (const g of rows) b.append(g.values);
  return b.build();
}

function assertSameBatch(got: ColumnBatch, want: ColumnBatch, what: string): void {
  assert.equal(got.length, want.length, `${what}: rows`);
  for (const f of schema.fields) {
    const g = got.columns.get(f.id)!;
    const w = want.columns.get(f.id)!;
    const ge = g instanceof EncodedColumn ? g : undefined;
    const we = w instanceof EncodedColumn ? w : undefined;
    assert.equal(ge === undefined, we === undefined, `${what}: ${f.name} encoded in both or neither`);
    if (ge && we) assertSameColumn(ge, we, `${what}: ${f.name}`);
    else if (!(g instanceof EncodedColumn) && !(w instanceof EncodedColumn)) {
      assert.equal(g.length, w.length);
      for (let i = 0; i < w.length; i++) {
        const a: IcebergValue = g[i]!;
        const b: IcebergValue = w[i]!;
        if (!(a === b || (typeof a === 'number' && Object.is(a, b)))) assert.deepStrictEqual(a, b, `${what}: ${f.name}[${i}]`);
      }
    }
  }
}

describe('ColumnBatchBuilder.appendRaw: the batch that appending the values gives', () => {
  for (const count of [1, 2048, 5000]) {
    test(`${count} rows, encoded columns`, () => {
      const rows = makeRows(count, count);
      const got = rawBatch(rows, true);
      assertSameBatch(got, valueBatch(rows, true), 'encoded');
      assert.ok(got.columns.get(2) instanceof EncodedColumn, 'string columns are encoded');
      assert.ok(Array.isArray(got.columns.get(8)), 'decimals stay values');
    });
    test(`${count} rows, value columns (spans and numbers decoded)`, () => {
      const rows = makeRows(count, count);
      assertSameBatch(rawBatch(rows, false), valueBatch(rows, false), 'values');
    });
  }

  test('a raw row of the wrong width is refused, naming the row', () => {
    const b = new ColumnBatchBuilder(schema, { encode: true });
    assert.throws(
      () => b.appendRaw(newRawRow(3)),
      (e: unknown) => e instanceof ValidationError && e.message === 'column-batch: row 0 has 3 values, the schema has 9 top-level fields',
    );
  });
});

describe('writeParquetFile: a batch of raw rows writes the file a batch of values writes', () => {
  let dir: string;
  let db: DuckDB;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'floe-raw-'));
    db = await DuckDB.open({ threads: 1 });
  });
  after(async () => {
    db.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function readBack(path: string): Promise<IcebergValue[][]> {
    const rows = await db.values(`SELECT * FROM read_parquet(${sqlString(path)}) ORDER BY id`);
    return rows.map((r) => schema.fields.map((f) => fromDuckDB(f.type, r[f.name] ?? null)));
  }

  function assertSameMetrics(got: ParquetWriteResult, want: ParquetWriteResult, what: string): void {
    assert.equal(got.recordCount, want.recordCount, `${what}: record count`);
    for (const key of ['valueCounts', 'nullValueCounts', 'nanValueCounts', 'lowerBounds', 'upperBounds', 'columnSizes'] as const) {
      assert.deepStrictEqual(got.metrics[key], want.metrics[key], `${what}: ${key}`);
    }
    assert.equal(got.fileSizeInBytes, want.fileSizeInBytes, `${what}: file size`);
    assert.deepStrictEqual(got.splitOffsets, want.splitOffsets, `${what}: split offsets`);
  }

  for (const count of [2049, 7000]) {
    test(`${count} rows: the same rows, counts, bounds and bytes`, async () => {
      const rows = makeRows(count, count + 5);
      const written: ParquetWriteResult[] = [];
      for (const [name, batch] of [
        ['raw', rawBatch(rows, true)],
        ['values', valueBatch(rows, true)],
        ['plain', valueBatch(rows, false)],
      ] as const) {
        written.push(await writeParquetFile({ schema, rows: batch, path: join(dir, `${name}-${count}.parquet`), db }));
      }
      const [raw, values, plain] = written as [ParquetWriteResult, ParquetWriteResult, ParquetWriteResult];
      assertSameMetrics(raw, values, 'raw vs encoded values');
      assertSameMetrics(raw, plain, 'raw vs plain values');
      const [rawBytes, valueBytes] = await Promise.all([readFile(raw.path), readFile(values.path)]);
      assert.ok(rawBytes.equals(valueBytes), 'the two files are byte for byte the same');

      const back = await readBack(raw.path);
      assert.deepStrictEqual(back, await readBack(values.path));
      // And they are the values appended (zeros unsigned: DuckDB's dictionaries fold -0.0 into 0.0).
      const unsign = (v: IcebergValue) => (v === 0 ? 0 : v);
      back.forEach((got, n) => assert.deepStrictEqual(got.map(unsign), rows[n]!.values.map(unsign), `row ${n}`));
      // The bounds are the code point bounds of the strings.
      for (const [index, f] of schema.fields.entries()) {
        if (f.type !== 'string') continue;
        const leaf = new LeafStats(f.id, 'string', true);
        for (const g of rows) {
          const v = g.values[index]!;
          if (v === null) leaf.addNull();
          else leaf.add(v);
        }
        assert.deepStrictEqual(raw.metrics.lowerBounds.get(f.id), leaf.lowerBound(), `lower bound of ${f.name}`);
        assert.deepStrictEqual(raw.metrics.upperBounds.get(f.id), leaf.upperBound(), `upper bound of ${f.name}`);
      }
    });
  }
});

describe('string bounds are those of the bytes written: a lone surrogate counts as U+FFFD', () => {
  const schema1: Schema = { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 's', required: false, type: 'string' }] };
  const hex = (b: Uint8Array | undefined) => Buffer.from(b ?? new Uint8Array()).toString('hex');

  test('EncodedColumn and LeafStats: 😀 and a lone \\uDC00 give lower U+FFFD, upper 😀', () => {
    for (const order of [['😀', '\uDC00'], ['\uDC00', '😀']]) {
      const col = new EncodedColumn('string', 's');
      for (const s of order) col.append(s);
      assert.deepStrictEqual(col.range(), { min: '\uFFFD', max: '😀' }, order.join(','));
      const leaf = new LeafStats(1, 'string', true);
      for (const s of order) leaf.add(s);
      assert.equal(hex(leaf.lowerBound()), 'efbfbd');
      assert.equal(hex(leaf.upperBound()), 'f09f9880');
    }
  });

  test('writeParquetFile: lower bound ≤ upper bound, and both are the written values', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'floe-surrogate-'));
    const db = await DuckDB.open({ threads: 1 });
    try {
      for (const encode of [true, false]) {
        const b = new ColumnBatchBuilder(schema1, { encode });
        b.append(['😀']);
        b.append(['\uDC00']);
        const r = await writeParquetFile({ schema: schema1, rows: b.build(), path: join(dir, `s-${encode}.parquet`), db });
        assert.equal(hex(r.metrics.lowerBounds.get(1)), 'efbfbd', `encode ${encode}`);
        assert.equal(hex(r.metrics.upperBounds.get(1)), 'f09f9880', `encode ${encode}`);
        const back = await db.values(`SELECT s FROM read_parquet(${sqlString(join(dir, `s-${encode}.parquet`))}) ORDER BY s`);
        assert.deepStrictEqual(back.map((x) => x.s), ['\uFFFD', '😀']);
      }
    } finally {
      db.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Runs (the native scanner's staged rows, ColumnBatchBuilder.appendStaged)
// ---------------------------------------------------------------------------------------------

/**
 * Feeds `values` in runs of random lengths (1 to 5,000 rows: within a chunk, up to its edge, across
 * several), each run taken the staged way (`appendUtf8Run` from a stage with junk before and after
 * its bytes) or, at random, value by value as spans, strings and nulls.
 */
function feedStringRuns(values: readonly (string | null)[], seed: number, capacity: number): EncodedColumn {
  const r = rng(seed);
  const c = new EncodedColumn('string', 'c', capacity);
  const scratch = new Scratch();
  let i = 0;
  while (i < values.length) {
    const n = Math.min(values.length - i, 1 + Math.floor(r() ** 3 * 5000));
    if (r() < 0.7) {
      // A stage: lengths and null tags from `at`, bytes from `from`, junk around both.
      const at = Math.floor(r() * 10);
      const from = Math.floor(r() * 10);
      const lengths = new Int32Array(at + n + 3).fill(-7);
      const tags = new Uint8Array(at + n + 3).fill(9);
      const parts: Uint8Array[] = [new Uint8Array(from).fill(0xfe)];
      for (let k = 0; k < n; k++) {
        const v = values[i + k]!;
        if (v === null) {
          tags[at + k] = RAW_NULL;
          lengths[at + k] = 99; // ignored for a null row
        } else {
          const b = enc.encode(v);
          tags[at + k] = RAW_UTF8;
          lengths[at + k] = b.length;
          parts.push(b);
        }
      }
      parts.push(new Uint8Array(5).fill(0xfe));
      const bytes = Buffer.concat(parts);
      c.appendUtf8Run(bytes, from, lengths, tags, at, n);
      bytes.fill(0xff); // the column copied them
    } else {
      for (let k = 0; k < n; k++) {
        const v = values[i + k]!;
        if (v === null) c.append(null);
        else if (r() < 0.5) c.append(v);
        else {
          const { bytes, from, to } = scratch.span(v);
          c.appendUtf8(bytes, from, to);
          scratch.scribble();
        }
      }
    }
    i += n;
  }
  return c;
}

describe('EncodedColumn runs: the same column as value by value', () => {
  for (const count of [1, 2048, 2049, 9000]) {
    for (const seed of [1, 2, 3]) {
      test(`strings: ${count} values in random runs (seed ${seed})`, () => {
        const values = makeStrings(count, count * 7 + seed);
        for (const capacity of [16, 20_000]) {
          assertSameColumn(feedStringRuns(values, seed * 101 + capacity, capacity), allJs(values), `${count} values, seed ${seed}, capacity ${capacity}`);
        }
      });
    }
  }

  test('strings: runs of nulls only, of empty strings only, and a run of exactly one chunk', () => {
    for (const [name, values] of [
      ['nulls', Array.from({ length: 5000 }, () => null)],
      ['empty', Array.from({ length: 5000 }, () => '')],
      ['one chunk', makeStrings(CHUNK, 77)],
    ] as const) {
      for (const seed of [4, 5]) assertSameColumn(feedStringRuns(values, seed, 16), allJs(values), name);
    }
  });

  test('longs and timestamps: runs with nulls, every way of appending mixed', () => {
    for (const type of ['long', 'timestamptz'] as PrimitiveType[]) {
      const values = makeInts(9000, 11);
      const want = feedInts(type, values, () => 'bigint');
      for (const seed of [1, 2, 3]) {
        const r = rng(seed);
        const c = new EncodedColumn(type, 'c', 16);
        let i = 0;
        while (i < values.length) {
          const n = Math.min(values.length - i, 1 + Math.floor(r() ** 3 * 5000));
          if (r() < 0.7) {
            const at = Math.floor(r() * 10);
            const nums = new Float64Array(at + n + 2).fill(0.5);
            const tags = new Uint8Array(at + n + 2).fill(9);
            for (let k = 0; k < n; k++) {
              const v = values[i + k];
              tags[at + k] = v === null ? RAW_NULL : RAW_INT64;
              nums[at + k] = v === null ? 1.5 : Number(v);
            }
            c.appendInt64Run(nums, tags, at, n);
          } else {
            for (let k = 0; k < n; k++) {
              const v = values[i + k];
              if (v === null || v === undefined) c.append(null);
              else if (r() < 0.5) c.appendInt64(Number(v));
              else c.append(BigInt(v));
            }
          }
          i += n;
        }
        assertSameColumn(c, want, `${type}, seed ${seed}`);
      }
    }
  });

  test('every row of a run counts for the bounds, the first and the last too', () => {
    for (const [values, min, max] of [
      [[-5, 3, 7], -5n, 7n],
      [[9, 1, 2], 1n, 9n],
      [[4, 6, -2], -2n, 6n],
      [[3, 1, 12], 1n, 12n],
    ] as const) {
      const c = new EncodedColumn('long', 'n', 4);
      c.appendInt64(2);
      c.appendInt64Run(Float64Array.from(values), new Uint8Array(3).fill(RAW_INT64), 0, 3);
      assert.deepStrictEqual(c.range(), { min: min < 2n ? min : 2n, max: max > 2n ? max : 2n }, values.join(','));
    }
  });

  test('refused: a run for a column of another kind, an unsafe integer, a complete column', () => {
    const tags = Uint8Array.of(RAW_UTF8);
    assert.throws(() => new EncodedColumn('long', 'n', 4).appendUtf8Run(enc.encode('x'), 0, Int32Array.of(1), tags, 0, 1), /n: UTF-8 bytes for a long column/);
    assert.throws(() => new EncodedColumn('string', 's', 4).appendInt64Run(Float64Array.of(1), Uint8Array.of(RAW_INT64), 0, 1), /s: numbers for a string column/);
    const c = new EncodedColumn('long', 'n', 4);
    assert.throws(() => c.appendInt64Run(Float64Array.of(1, 2 ** 53, 3), new Uint8Array(3).fill(RAW_INT64), 0, 3), (e: unknown) => e instanceof ValidationError && /9007199254740992 is not a safe integer/.test(e.message));
    assert.equal(c.length, 1, 'the rows before the refused one stay');
    c.seal();
    assert.throws(() => c.appendInt64Run(Float64Array.of(1), Uint8Array.of(RAW_INT64), 0, 1), /column is complete/);
  });
});
