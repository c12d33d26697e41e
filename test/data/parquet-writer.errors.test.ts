import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { batchFromRows } from '../../src/data/column-batch.js';
import { writeParquetFile } from '../../src/data/parquet-writer.js';
import { UnsupportedError, ValidationError } from '../../src/errors.js';
import type { IcebergType, IcebergValue, Schema } from '../../src/iceberg/types.js';
import { DuckDB } from '../../src/duckdb/instance.js';

let dir: string;
let db: DuckDB;
let n = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'floe-parquet-err-'));
  db = await DuckDB.open({ threads: 1 });
});

after(async () => {
  db.close();
  await rm(dir, { recursive: true, force: true });
});

function one(type: IcebergType, required = false): Schema {
  return { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'c', required, type }] };
}

async function write(schema: Schema, rows: IcebergValue[][]) {
  const path = join(dir, `f${++n}.parquet`);
  return writeParquetFile({ schema, rows: batchFromRows(schema, rows), path, db });
}

describe('writeParquetFile refuses bad values', () => {
  const cases: [string, IcebergType, IcebergValue, RegExp][] = [
    ['number for long', 'long', 5, /c: expected a bigint \(long\), got number 5 \(row 1\)/],
    ['bigint for int', 'int', 5n, /c: expected a 32-bit integer/],
    ['int out of range', 'int', 2 ** 31, /c: expected a 32-bit integer/],
    ['fraction for int', 'int', 1.5, /c: expected a 32-bit integer/],
    ['long out of range', 'long', 2n ** 63n, /out of the 64-bit range/],
    ['string for float', 'float', '1.5', /expected a float value/],
    ['decimal too wide', 'decimal(4, 2)', 10000n, /more than 4 digits/],
    ['number for decimal', 'decimal(4, 2)', 1.5, /unscaled value as a bigint/],
    ['time past midnight', 'time', 86_400_000_000n, /\[0, 86400000000\)/],
    ['bad uuid', 'uuid', 'not-a-uuid', /expected a uuid string/],
    ['fixed of wrong length', 'fixed[4]', Uint8Array.of(1, 2, 3), /exactly 4 bytes/],
    ['string for binary', 'binary', 'abc', /expected a Uint8Array/],
    ['number for string', 'string', 5, /expected a string value/],
    ['struct of wrong arity', { type: 'struct', fields: [{ id: 2, name: 'x', required: false, type: 'int' }] }, [1, 2], /expected a struct/],
    ['object for map', { type: 'map', 'key-id': 2, key: 'string', 'value-id': 3, value: 'int', 'value-required': false }, ['a'], /expected a map as a Map/],
  ];
  for (const [name, type, value, re] of cases) {
    test(name, async () => {
      await assert.rejects(write(one(type), [[null], [value]]), (e: unknown) => {
        assert.ok(e instanceof ValidationError, `ValidationError, got ${String(e)}`);
        assert.match(e.message, /^parquet-writer: /);
        assert.match(e.message, re);
        return true;
      });
    });
  }

  test('null in a required column names the column and row', async () => {
    await assert.rejects(write(one('string', true), [['a'], [null]]), /parquet-writer: c: null in a required field \(row 1\)/);
  });

  test('null in a required struct field, list element and map value', async () => {
    const struct: IcebergType = { type: 'struct', fields: [{ id: 2, name: 'x', required: true, type: 'int' }] };
    await assert.rejects(write(one(struct), [[[null]]]), /c\.x: null in a required field/);
    const list: IcebergType = { type: 'list', 'element-id': 2, element: 'int', 'element-required': true };
    await assert.rejects(write(one(list), [[[1, null]]]), /c\.element: null in a required field/);
    const map: IcebergType = { type: 'map', 'key-id': 2, key: 'string', 'value-id': 3, value: 'int', 'value-required': true };
    await assert.rejects(write(one(map), [[new Map([['k', null]])]]), /c\.value: null in a required field/);
  });

  test('a required column missing from the batch', async () => {
    const s = one('int', true);
    await assert.rejects(
      writeParquetFile({ schema: s, rows: { length: 1, columns: new Map() }, path: join(dir, 'x.parquet'), db }),
      /column-batch: .*required field c \(id 1\) has no column/,
    );
  });

  test('columns of the wrong length and unknown field ids', async () => {
    const s = one('int');
    await assert.rejects(
      writeParquetFile({ schema: s, rows: { length: 2, columns: new Map([[1, [1]]]) }, path: join(dir, 'x.parquet'), db }),
      /column c \(id 1\) has 1 values, expected 2/,
    );
    await assert.rejects(
      writeParquetFile({ schema: s, rows: { length: 1, columns: new Map([[9, [1]]]) }, path: join(dir, 'x.parquet'), db }),
      /field id 9 is not a top-level field/,
    );
  });

  test('no file is left behind when a value is refused', async () => {
    const path = join(dir, 'refused.parquet');
    const s = one('long');
    await assert.rejects(writeParquetFile({ schema: s, rows: batchFromRows(s, [[1]]), path, db }), ValidationError);
    assert.equal(existsSync(path), false);
  });
});

describe('writeParquetFile refuses what it cannot write faithfully', () => {
  test('timestamptz_ns (DuckDB would drop the UTC adjustment)', async () => {
    await assert.rejects(write(one('timestamptz_ns'), [[1n]]), (e: unknown) => e instanceof UnsupportedError && /timestamptz_ns/.test(e.message));
  });

  test('variant and geometry', async () => {
    await assert.rejects(write(one('variant'), [[null]]), UnsupportedError);
    await assert.rejects(write(one('geometry'), [[null]]), UnsupportedError);
  });

  test('columns whose names differ only in case', async () => {
    const s: Schema = {
      type: 'struct',
      'schema-id': 0,
      fields: [
        { id: 1, name: 'a', required: false, type: 'int' },
        { id: 2, name: 'A', required: false, type: 'int' },
      ],
    };
    await assert.rejects(write(s, [[1, 2]]), /differ only in case/);
  });

  test('bad options', async () => {
    const s = one('int');
    const rows = batchFromRows(s, [[1]]);
    await assert.rejects(
      writeParquetFile({ schema: s, rows, path: join(dir, 'o.parquet'), compression: 'lz4' as never, db }),
      /unsupported compression "lz4"/,
    );
    await assert.rejects(
      writeParquetFile({ schema: s, rows, path: join(dir, 'o.parquet'), rowGroupSize: 0, db }),
      /rowGroupSize must be a positive integer/,
    );
  });
});
