/**
 * EncodedColumn: values encoded on append read back (decoded) as appended, ranges equal what a
 * value-by-value LeafStats computes, type errors name the field and row, and a batch holds it as
 * it is (read through valueAt / columnValues, or iterated).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ColumnBatchBuilder, columnValues, valueAt, type BatchColumn, type ColumnBatch } from '../../src/data/column-batch.js';
import { EncodedColumn, encodedKindOf } from '../../src/data/encoded-column.js';
import { LeafStats } from '../../src/data/parquet-metrics.js';
import { ValidationError } from '../../src/errors.js';
import type { IcebergValue, PrimitiveType, Schema } from '../../src/iceberg/types.js';

function fill(type: PrimitiveType, values: IcebergValue[]): EncodedColumn {
  const c = new EncodedColumn(type, 'c', 2); // tiny capacity: growth is exercised
  for (const v of values) c.append(v);
  return c;
}

function reference(type: PrimitiveType, values: IcebergValue[]): { min: IcebergValue; max: IcebergValue } {
  const leaf = new LeafStats(1, type, true);
  for (const v of values) {
    if (v === null) leaf.addNull();
    else if (typeof v === 'number' && Number.isNaN(v)) leaf.addNaN();
    else leaf.add(type === 'float' ? Math.fround(v as number) : v);
  }
  return { min: leaf.min, max: leaf.max };
}

const cases: [PrimitiveType, IcebergValue[]][] = [
  ['string', ['b', null, '', 'a', 'zz', 'héllo', '日本', '\u{1F600}', '\uFFFF', 'a'.repeat(100), 'é'.repeat(60), null]],
  ['string', ['\uFFFF', '\u{10000}']], // UTF-16 order and code point order disagree here
  ['long', [5n, null, -(2n ** 63n), 2n ** 63n - 1n, 0n, 2n ** 53n, -(2n ** 53n) + 1n]],
  ['long', [3n, 1n, 2n]],
  ['timestamptz', [1_767_885_412_000_000n, null, -1n]],
  ['time', [0n, 86_399_999_999n, null]],
  ['int', [1, -2147483648, 2147483647, null, -0]],
  ['date', [19000, null, -719162]],
  ['float', [1.1, NaN, -0, 0, null, Infinity, -Infinity, 3.4e38]],
  ['double', [0, -0, NaN, null, 1e308, -1e-308]],
  ['boolean', [true, null, false, true]],
  ['boolean', [true, true]],
  ['binary', [Uint8Array.of(1, 2), null, new Uint8Array(0), Uint8Array.of(255), Uint8Array.of(1)]],
  ['fixed[2]', [Uint8Array.of(1, 2), null, Uint8Array.of(0, 9)]],
];

describe('EncodedColumn', () => {
  for (const [type, values] of cases) {
    test(`${type}: values read back, ranges and counts match LeafStats (${values.length} values)`, () => {
      const c = fill(type, values);
      assert.equal(c.length, values.length);
      assert.equal(c.nulls, values.filter((v) => v === null).length);
      assert.equal(c.nans, values.filter((v) => typeof v === 'number' && Number.isNaN(v)).length);
      values.forEach((v, i) => {
        // Floats read back as stored (32-bit); an int has no -0.
        const want = type === 'float' && typeof v === 'number' ? Math.fround(v) : type === 'int' && v === 0 ? 0 : v;
        assert.deepStrictEqual(c.get(i), want, `value ${i}`);
      });
      assert.deepStrictEqual(c.range(), reference(type, values));
      const prepared = c.prepared();
      if (encodedKindOf(type) === 'string' || encodedKindOf(type) === 'binary') {
        assert.equal(prepared.layout, 'bytes');
      } else {
        assert.equal(prepared.layout, 'fixed');
      }
    });
  }

  test('a lone surrogate reads back as U+FFFD (its UTF-8 round trip)', () => {
    const c = fill('string', ['a\uD800', 'x']);
    assert.equal(c.get(0), 'a\uFFFD');
  });

  test('refuses values of the wrong type, naming field and row', () => {
    const bad: [PrimitiveType, IcebergValue, RegExp][] = [
      ['string', 5, /c: row 1: expected a string/],
      ['long', 5, /expected a bigint \(long\)/],
      ['long', 2n ** 63n, /64-bit range/],
      ['time', 86_400_000_000n, /\[0, 86400000000\)/],
      ['int', 1.5, /32-bit integer/],
      ['int', 2 ** 31, /32-bit integer/],
      ['double', '1', /expected a number/],
      ['boolean', 1, /expected a boolean/],
      ['binary', 'ab', /Uint8Array/],
      ['fixed[2]', Uint8Array.of(1), /exactly 2 bytes/],
    ];
    for (const [type, v, re] of bad) {
      const c = new EncodedColumn(type, 'c');
      c.append(null);
      assert.throws(() => c.append(v), (e: unknown) => e instanceof ValidationError && re.test(e.message), `${type} ${String(v)}`);
    }
  });

  test('types without an encoded layout stay values', () => {
    assert.equal(encodedKindOf('decimal(9, 2)'), undefined);
    assert.equal(encodedKindOf('uuid'), undefined);
    assert.equal(encodedKindOf({ type: 'list', 'element-id': 2, element: 'int', 'element-required': false }), undefined);
  });

  test('its values in one pass: what get gives, across chunks, for every kind with bytes', () => {
    const strings = Array.from({ length: 5000 }, (_, i) => (i % 7 === 3 ? null : i % 11 === 0 ? '' : `s${i}\u00e9`));
    const c = fill('string', strings);
    assert.deepStrictEqual(Array.from(c), strings);
    assert.deepStrictEqual(Array.from(c), Array.from({ length: c.length }, (_, i) => c.get(i)));
    const bins = [new Uint8Array([1, 2]), null, new Uint8Array(0), new Uint8Array([255])];
    assert.deepStrictEqual(Array.from(fill('binary', bins)), bins);
    assert.deepStrictEqual(Array.from(fill('long', [5n, null, -7n])), [5n, null, -7n]);
  });

  test('a batch column is the encoded column itself, and valueAt / columnValues read either kind', () => {
    const c = fill('string', ['a', null, 'c']);
    const batch: ColumnBatch = { length: 3, columns: new Map<number, BatchColumn>([[1, c], [2, [1n, null, 3n]]]) };
    assert.equal(batch.columns.get(1), c);
    assert.equal(valueAt(batch.columns.get(1), 2), 'c');
    assert.equal(valueAt(batch.columns.get(1), 1), null);
    assert.equal(valueAt(batch.columns.get(2), 2), 3n);
    assert.equal(valueAt(batch.columns.get(9), 0), null);
    assert.deepStrictEqual(columnValues(c), ['a', null, 'c']);
    const plain = [1n];
    assert.equal(columnValues(plain), plain, 'values are not copied');
  });
});

describe('ColumnBatchBuilder with encode', () => {
  const schema: Schema = {
    type: 'struct',
    'schema-id': 0,
    fields: [
      { id: 1, name: 's', required: false, type: 'string' },
      { id: 2, name: 'd', required: false, type: 'decimal(9, 2)' },
      { id: 3, name: 't', required: false, type: 'timestamptz' },
    ],
  };

  test('encodes primitive columns, keeps the others as arrays, and starts afresh after build', () => {
    const b = new ColumnBatchBuilder(schema, { encode: true });
    b.append(['x', 1n, 5n]);
    b.append([null, null, null]);
    const batch = b.build();
    assert.equal(batch.length, 2);
    assert.ok(batch.columns.get(1) instanceof EncodedColumn);
    assert.ok(Array.isArray(batch.columns.get(2)));
    assert.ok(batch.columns.get(3) instanceof EncodedColumn);
    assert.deepStrictEqual(Array.from(batch.columns.get(3)!), [5n, null]);
    assert.equal(b.length, 0);
    b.append(['y', null, 6n]);
    assert.deepStrictEqual(Array.from(b.build().columns.get(1)!), ['y']);
  });

  test('a refused value leaves the batch as it was before the row (all or nothing)', () => {
    const b = new ColumnBatchBuilder(schema, { encode: true });
    b.append(['w', 0n, null]);
    assert.throws(() => b.append(['x', 1n, 'not a timestamp']), /column-batch: t: row 1/);
    assert.equal(b.length, 1);
    b.append(['y', 2n, 7n]);
    const batch = b.build();
    assert.equal(batch.length, 2);
    assert.deepStrictEqual(Array.from(batch.columns.get(1)!), ['w', 'y']);
    assert.deepStrictEqual(Array.from(batch.columns.get(2)!), [0n, 2n]);
    assert.deepStrictEqual(Array.from(batch.columns.get(3)!), [null, 7n]);
  });
});
