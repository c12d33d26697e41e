import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { batchFromRows, checkBatchShape, ColumnBatchBuilder } from '../../src/data/column-batch.js';
import { ValidationError } from '../../src/errors.js';
import type { Schema } from '../../src/iceberg/types.js';

const schema: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 3, name: 'id', required: true, type: 'string' },
    { id: 7, name: 'at', required: false, type: 'timestamptz' },
  ],
};

describe('ColumnBatchBuilder', () => {
  test('append collects one array per top-level field id', () => {
    const b = new ColumnBatchBuilder(schema);
    b.append(['a', 1n]);
    b.append(['b', null]);
    assert.equal(b.length, 2);
    const batch = b.build();
    assert.equal(batch.length, 2);
    assert.deepStrictEqual([...batch.columns.keys()], [3, 7]);
    assert.deepStrictEqual(batch.columns.get(3), ['a', 'b']);
    assert.deepStrictEqual(batch.columns.get(7), [1n, null]);
    assert.equal(b.length, 0, 'build starts a new batch');
    assert.equal(b.build().length, 0);
    assert.equal(batch.columns.get(3)?.length, 2, 'the built batch is not reused');
  });

  test('push/endRow fills a row column by column', () => {
    const b = new ColumnBatchBuilder(schema);
    b.push(0, 'x');
    b.push(1, 5n);
    b.endRow();
    assert.deepStrictEqual(b.build().columns.get(7), [5n]);
    b.push(0, 'y');
    assert.throws(() => b.endRow(), /row 0: field id 7 has 0 values, expected 1/);
    assert.throws(() => b.build(), /unfinished row/);
    assert.throws(() => b.push(2, 'z'), /no top-level field at position 2/);
  });

  test('rows of the wrong width are refused', () => {
    const b = new ColumnBatchBuilder(schema);
    assert.throws(() => b.append(['a']), (e: unknown) => e instanceof ValidationError && /row 0 has 1 values/.test(e.message));
  });
});

describe('checkBatchShape', () => {
  test('accepts a well-formed batch, including an absent optional column', () => {
    checkBatchShape(schema, batchFromRows(schema, [['a', 1n]]));
    checkBatchShape(schema, { length: 1, columns: new Map([[3, ['a']]]) });
    checkBatchShape(schema, { length: 0, columns: new Map() });
  });

  test('refuses unknown ids, short columns, missing required columns and bad lengths', () => {
    assert.throws(() => checkBatchShape(schema, { length: 1, columns: new Map([[3, ['a']], [9, [1]]]) }), /field id 9 is not a top-level field/);
    assert.throws(() => checkBatchShape(schema, { length: 2, columns: new Map([[3, ['a']]]) }), /column id \(id 3\) has 1 values, expected 2/);
    assert.throws(() => checkBatchShape(schema, { length: 1, columns: new Map([[7, [1n]]]) }), /required field id \(id 3\) has no column/);
    assert.throws(() => checkBatchShape(schema, { length: -1, columns: new Map() }), /invalid length -1/);
  });

  test('typed arrays and other ArrayLikes are columns too', () => {
    const s: Schema = { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'f', required: true, type: 'double' }] };
    checkBatchShape(s, { length: 3, columns: new Map([[1, new Float64Array([1, 2, 3]) as unknown as ArrayLike<number>]]) });
  });
});
