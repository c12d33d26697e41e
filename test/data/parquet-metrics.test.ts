import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { batchFromRows } from '../../src/data/column-batch.js';
import {
  truncateBinaryLower,
  truncateBinaryUpper,
  truncateStringLower,
  truncateStringUpper,
} from '../../src/data/parquet-metrics.js';
import { toDataFile } from '../../src/data/data-file.js';
import { writeParquetFile, type ParquetWriteResult } from '../../src/data/parquet-writer.js';
import { fromBinary } from '../../src/iceberg/conversions.js';
import type { IcebergValue, PrimitiveType, Schema } from '../../src/iceberg/types.js';
import { DuckDB, sqlString } from '../../src/duckdb/instance.js';

describe('bound truncation', () => {
  test('strings: lower bound keeps the first 16 code points', () => {
    assert.equal(truncateStringLower('abcdefghijklmnopqrstuvwxyz', 16), 'abcdefghijklmnop');
    assert.equal(truncateStringLower('short', 16), 'short');
    // Code points, not UTF-16 units: 20 emoji (40 units) keep 16 emoji.
    assert.equal(truncateStringLower('😀'.repeat(20), 16), '😀'.repeat(16));
    assert.equal(truncateStringLower('a😀'.repeat(10), 3), 'a😀a');
  });

  test('strings: upper bound increments the last code point that can be', () => {
    assert.equal(truncateStringUpper('abcdefghijklmnopqrstuvwxyz', 16), 'abcdefghijklmnoq');
    assert.equal(truncateStringUpper('abcdefghijklmnop', 16), 'abcdefghijklmnop', 'not longer: unchanged');
    assert.equal(truncateStringUpper('😀'.repeat(20), 16), '😀'.repeat(15) + '😁');
    // U+10FFFF cannot be incremented: the one before it is, and the rest is dropped.
    assert.equal(truncateStringUpper('a' + '\u{10FFFF}'.repeat(16), 16), 'b');
    assert.equal(truncateStringUpper('\u{10FFFF}'.repeat(17), 16), undefined);
    // The successor of U+D7FF skips the surrogate range.
    assert.equal(truncateStringUpper('x'.repeat(15) + '\uD7FF' + 'zz', 16), 'x'.repeat(15) + '\uE000');
  });

  test('binary: lower truncates, upper increments the last byte below 0xFF', () => {
    const b = Uint8Array.from({ length: 20 }, (_, i) => i);
    assert.deepStrictEqual(truncateBinaryLower(b, 16), b.subarray(0, 16));
    assert.deepStrictEqual(truncateBinaryUpper(b, 16), Uint8Array.from([...b.subarray(0, 15), 16]));
    assert.deepStrictEqual(truncateBinaryUpper(Uint8Array.from([1, ...new Array<number>(16).fill(255), 5]), 16), Uint8Array.of(2));
    assert.equal(truncateBinaryUpper(new Uint8Array(17).fill(255), 16), undefined);
    assert.deepStrictEqual(truncateBinaryUpper(Uint8Array.of(255, 255), 16), Uint8Array.of(255, 255));
  });
});

const schema: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'name', required: false, type: 'string' },
    { id: 3, name: 'score', required: false, type: 'float' },
    { id: 4, name: 'ratio', required: false, type: 'double' },
    { id: 5, name: 'nothing', required: false, type: 'int' },
    { id: 6, name: 'amount', required: false, type: 'decimal(10, 2)' },
    { id: 7, name: 'at', required: false, type: 'timestamptz' },
    { id: 8, name: 'u', required: false, type: 'uuid' },
    { id: 9, name: 'blob', required: false, type: 'binary' },
    { id: 10, name: 'flag', required: false, type: 'boolean' },
    { id: 11, name: 'day', required: false, type: 'date' },
    { id: 12, name: 'fx', required: false, type: 'fixed[2]' },
    {
      id: 13,
      name: 'st',
      required: false,
      type: {
        type: 'struct',
        fields: [
          { id: 14, name: 'a', required: false, type: 'int' },
          { id: 15, name: 'b', required: false, type: 'string' },
        ],
      },
    },
    {
      id: 16,
      name: 'tags',
      required: false,
      type: { type: 'list', 'element-id': 17, element: 'string', 'element-required': false },
    },
    {
      id: 18,
      name: 'props',
      required: false,
      type: { type: 'map', 'key-id': 19, key: 'string', 'value-id': 20, value: 'double', 'value-required': false },
    },
  ],
};

const long20 = 'abcdefghijklmnopqrstuvwxyz'; // 26 characters: bounds get truncated
const m = (...e: [IcebergValue, IcebergValue][]) => new Map<IcebergValue, IcebergValue>(e);
const rows: IcebergValue[][] = [
  [1n, 'mango', 1.5, NaN, null, 1050n, 1_000_000n, '80000000-0000-0000-0000-000000000000', Uint8Array.of(1, 2), true, 10, Uint8Array.of(9, 9),
    [1, 'x'], ['a', null], m(['k', 1.0], ['j', NaN])],
  [-5n, long20, -0, NaN, null, -99n, -1_000_000n, '7fffffff-ffff-ffff-ffff-ffffffffffff', new Uint8Array(20).fill(255), false, -3, Uint8Array.of(0, 1),
    null, [], m()],
  [7n, 'Zebra', 0, NaN, null, null, null, null, null, null, null, null,
    [null, 'zzzzzzzzzzzzzzzzzzzz'], null, null],
  [3n, null, NaN, NaN, null, 0n, 0n, 'ffffffff-0000-0000-0000-000000000000', Uint8Array.of(0), true, 0, Uint8Array.of(255, 0),
    [2, null], ['b'], m(['z', null])],
  [0n, 'ünïcödé', null, null, null, null, null, null, null, null, null, null, null, null, null],
];

function decode(res: ParquetWriteResult, which: 'lowerBounds' | 'upperBounds', id: number): IcebergValue | undefined {
  const b = res.metrics[which].get(id);
  if (!b) return undefined;
  const f = [...schema.fields, ...(schema.fields[12]!.type as { fields: typeof schema.fields }).fields].find((x) => x.id === id)!;
  return fromBinary(f.type as PrimitiveType, b);
}

let dir: string;
let db: DuckDB;
let path: string;
let res: ParquetWriteResult;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'floe-metrics-'));
  db = await DuckDB.open({ threads: 1 });
  path = join(dir, 'metrics.parquet');
  res = await writeParquetFile({ schema, rows: batchFromRows(schema, rows), path, db });
});

after(async () => {
  db.close();
  await rm(dir, { recursive: true, force: true });
});

describe('writeParquetFile metrics', () => {
  test('record count and file size', async () => {
    assert.equal(res.recordCount, 5);
    assert.equal(res.fileSizeInBytes, (await stat(path)).size);
  });

  test('value, null and NaN counts per leaf', () => {
    const leafIds = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 15, 17, 19, 20];
    assert.deepStrictEqual([...res.metrics.valueCounts.keys()].sort((a, b) => a - b), leafIds);
    const vc = Object.fromEntries(res.metrics.valueCounts);
    const nc = Object.fromEntries(res.metrics.nullValueCounts);
    for (const id of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 15]) assert.equal(vc[id], 5, `value count of ${id}`);
    assert.deepStrictEqual(
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 15].map((id) => nc[id]),
      [0, 1, 1, 1, 5, 2, 2, 2, 2, 2, 2, 2, 3, 3],
    );
    // tags: [a, null] → 2 slots, [] → 1, null → 1, [b] → 1, null → 1.
    assert.equal(vc[17], 6);
    assert.equal(nc[17], 4);
    // props: 2 entries, empty → 1, null → 1, 1 entry, null → 1.
    assert.equal(vc[19], 6);
    assert.equal(nc[19], 3);
    assert.equal(vc[20], 6);
    assert.equal(nc[20], 4);
    // NaN counts only for float and double leaves (including map values).
    assert.deepStrictEqual(Object.fromEntries(res.metrics.nanValueCounts), { 3: 1, 4: 4, 20: 1 });
  });

  test('counts agree with the Parquet footer', async () => {
    const md = await db.all(
      `SELECT column_id, num_values, stats_null_count FROM parquet_metadata(${sqlString(path)}) ORDER BY column_id`,
    );
    const leafIds = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 15, 17, 19, 20];
    assert.equal(md.length, leafIds.length);
    md.forEach((r, i) => {
      const id = leafIds[i]!;
      assert.equal(Number(r.num_values), res.metrics.valueCounts.get(id), `value count of ${id}`);
      assert.equal(Number(r.stats_null_count), res.metrics.nullValueCounts.get(id), `null count of ${id}`);
    });
  });

  test('bounds decode to the exact min and max', () => {
    assert.equal(decode(res, 'lowerBounds', 1), -5n);
    assert.equal(decode(res, 'upperBounds', 1), 7n);
    // Code point order: 'Zebra' < 'abc…' < 'mango' < 'ünïcödé'; the 26-char string is not a bound.
    assert.equal(decode(res, 'lowerBounds', 2), 'Zebra');
    assert.equal(decode(res, 'upperBounds', 2), 'ünïcödé');
    // -0.0 sorts before 0.0; NaN is never a bound.
    assert.ok(Object.is(decode(res, 'lowerBounds', 3), -0));
    assert.equal(decode(res, 'upperBounds', 3), 1.5);
    assert.equal(res.metrics.lowerBounds.has(4), false, 'all-NaN double has no bounds');
    assert.equal(res.metrics.upperBounds.has(4), false);
    assert.equal(res.metrics.lowerBounds.has(5), false, 'all-null column has no bounds');
    assert.equal(res.metrics.upperBounds.has(5), false);
    assert.equal(decode(res, 'lowerBounds', 6), -99n);
    assert.equal(decode(res, 'upperBounds', 6), 1050n);
    assert.equal(decode(res, 'lowerBounds', 7), -1_000_000n);
    assert.equal(decode(res, 'upperBounds', 7), 1_000_000n);
    // uuid bounds in unsigned byte order (not Java's signed UUID.compareTo).
    assert.equal(decode(res, 'lowerBounds', 8), '7fffffff-ffff-ffff-ffff-ffffffffffff');
    assert.equal(decode(res, 'upperBounds', 8), 'ffffffff-0000-0000-0000-000000000000');
    assert.deepStrictEqual(decode(res, 'lowerBounds', 9), Uint8Array.of(0));
    assert.equal(res.metrics.upperBounds.has(9), false, '20 × 0xFF has no 16-byte upper bound');
    assert.equal(decode(res, 'lowerBounds', 10), false);
    assert.equal(decode(res, 'upperBounds', 10), true);
    assert.equal(decode(res, 'lowerBounds', 11), -3);
    assert.equal(decode(res, 'upperBounds', 11), 10);
    // fixed is never truncated.
    assert.deepStrictEqual(decode(res, 'lowerBounds', 12), Uint8Array.of(0, 1));
    assert.deepStrictEqual(decode(res, 'upperBounds', 12), Uint8Array.of(255, 0));
    // Struct fields have bounds; list elements and map keys/values do not.
    assert.equal(decode(res, 'lowerBounds', 14), 1);
    assert.equal(decode(res, 'upperBounds', 14), 2);
    assert.equal(decode(res, 'lowerBounds', 15), 'x');
    assert.equal(decode(res, 'upperBounds', 15), 'zzzzzzzzzzzzzzz{', 'truncated to 16 and incremented');
    for (const id of [17, 19, 20]) {
      assert.equal(res.metrics.lowerBounds.has(id), false, `no lower bound for ${id}`);
      assert.equal(res.metrics.upperBounds.has(id), false, `no upper bound for ${id}`);
    }
  });

  test('string bounds longer than 16 characters are truncated', async () => {
    const s: Schema = { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 's', required: false, type: 'string' }] };
    const r = await writeParquetFile({
      schema: s,
      rows: batchFromRows(s, [['abcdefghijklmnopqrstuvwxyz'], ['abcdefghijklmnopZZZ']]),
      path: join(dir, 'trunc.parquet'),
      db,
    });
    assert.equal(fromBinary('string', r.metrics.lowerBounds.get(1)!), 'abcdefghijklmnop');
    assert.equal(fromBinary('string', r.metrics.upperBounds.get(1)!), 'abcdefghijklmnoq');
  });

  test('column sizes and split offsets come from the footer', async () => {
    const md = await db.all(
      `SELECT column_id, total_compressed_size, dictionary_page_offset, data_page_offset FROM parquet_metadata(${sqlString(path)}) ORDER BY column_id`,
    );
    const leafIds = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 15, 17, 19, 20];
    md.forEach((r, i) => {
      assert.equal(res.metrics.columnSizes.get(leafIds[i]!), Number(r.total_compressed_size));
    });
    const first = md[0]!;
    const start = first.dictionary_page_offset === null ? Number(first.data_page_offset) : Number(first.dictionary_page_offset);
    assert.deepStrictEqual(res.splitOffsets, [start]);
    assert.equal(res.splitOffsets[0], 4, 'the first row group starts right after the magic bytes');
  });

  test('toDataFile fills the manifest data_file', () => {
    const { file, specId } = toDataFile(res, [42], 3, 's3://bucket/t/data/metrics.parquet');
    assert.equal(specId, 3);
    assert.equal(file.content, 0);
    assert.equal(file.file_format, 'PARQUET');
    assert.equal(file.file_path, 's3://bucket/t/data/metrics.parquet');
    assert.deepStrictEqual(file.partition, [42]);
    assert.equal(file.record_count, 5);
    assert.equal(file.file_size_in_bytes, res.fileSizeInBytes);
    assert.equal(file.value_counts, res.metrics.valueCounts);
    assert.equal(file.lower_bounds, res.metrics.lowerBounds);
    assert.deepStrictEqual(file.split_offsets, res.splitOffsets);
    assert.equal(toDataFile(res, [], 0).file.file_path, path);
  });
});
