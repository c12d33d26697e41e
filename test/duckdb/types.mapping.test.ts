import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { duckdbType } from '../../src/duckdb/types.js';
import { UnsupportedError } from '../../src/errors.js';
import type { IcebergType, PrimitiveType } from '../../src/iceberg/types.js';
import { DuckDB } from '../../src/duckdb/instance.js';

const primitives: [PrimitiveType, string][] = [
  ['boolean', 'BOOLEAN'],
  ['int', 'INTEGER'],
  ['long', 'BIGINT'],
  ['float', 'FLOAT'],
  ['double', 'DOUBLE'],
  ['decimal(9, 2)', 'DECIMAL(9, 2)'],
  ['decimal(38,0)', 'DECIMAL(38, 0)'],
  ['date', 'DATE'],
  ['time', 'TIME'],
  ['timestamp', 'TIMESTAMP'],
  ['timestamptz', 'TIMESTAMPTZ'],
  ['timestamp_ns', 'TIMESTAMP_NS'],
  ['timestamptz_ns', 'TIMESTAMP_NS'],
  ['string', 'VARCHAR'],
  ['uuid', 'UUID'],
  ['fixed[16]', 'BLOB'],
  ['binary', 'BLOB'],
  ['unknown', '"NULL"'],
];

const nested: IcebergType = {
  type: 'struct',
  fields: [
    { id: 1, name: 'a "b"', required: false, type: 'int' },
    { id: 2, name: 'l', required: false, type: { type: 'list', 'element-id': 3, element: 'string', 'element-required': false } },
    {
      id: 4,
      name: 'm',
      required: false,
      type: { type: 'map', 'key-id': 5, key: 'string', 'value-id': 6, value: 'decimal(10, 3)', 'value-required': false },
    },
  ],
};

describe('duckdbType', () => {
  for (const [iceberg, duck] of primitives) {
    test(`${iceberg} → ${duck}`, () => assert.equal(duckdbType(iceberg), duck));
  }

  test('nested types, with quoted field names', () => {
    assert.equal(duckdbType(nested), 'STRUCT("a ""b""" INTEGER, "l" VARCHAR[], "m" MAP(VARCHAR, DECIMAL(10, 3)))');
  });

  test('forWrite refuses what DuckDB cannot write faithfully', () => {
    assert.throws(() => duckdbType('timestamptz_ns', 'c.t', { forWrite: true }), (e: unknown) => e instanceof UnsupportedError && /c\.t: timestamptz_ns/.test(e.message));
    assert.throws(() => duckdbType('unknown', 'c', { forWrite: true }), UnsupportedError);
  });

  test('types DuckDB cannot hold', () => {
    assert.throws(() => duckdbType('variant', 'v'), /duckdb-types: v: type variant is not supported/);
    assert.throws(() => duckdbType({ type: 'struct', fields: [] }, 's'), /empty struct/);
    const clash: IcebergType = {
      type: 'struct',
      fields: [
        { id: 1, name: 'x', required: false, type: 'int' },
        { id: 2, name: 'X', required: false, type: 'int' },
      ],
    };
    assert.throws(() => duckdbType(clash, 's'), /differ only in case/);
  });

  describe('DuckDB accepts every mapped type', () => {
    let db: DuckDB;
    before(async () => {
      db = await DuckDB.open({ threads: 1 });
    });
    after(() => db.close());
    test('CAST(NULL AS …) for each', async () => {
      for (const [iceberg] of primitives) {
        const rows = await db.all(`SELECT typeof(CAST(NULL AS ${duckdbType(iceberg)})) AS t`);
        assert.equal(rows.length, 1, iceberg);
      }
      const rows = await db.all(`SELECT typeof(CAST(NULL AS ${duckdbType(nested)})) AS t`);
      assert.equal(rows[0]?.t, 'STRUCT("a ""b""" INTEGER, l VARCHAR[], m MAP(VARCHAR, DECIMAL(10,3)))');
    });
  });
});
