import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { batchFromRows } from '../../src/data/column-batch.js';
import { writeParquetFile } from '../../src/data/parquet-writer.js';
import type { IcebergValue, Schema } from '../../src/iceberg/types.js';
import { closeSharedDuckDB, DuckDB, sqlString } from '../../src/duckdb/instance.js';
import { fromDuckDB } from './duckdb-values.js';

/** Every primitive type, nested structs, lists of structs, maps, lists of lists. */
const schema: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'b', required: false, type: 'boolean' },
    { id: 2, name: 'i', required: false, type: 'int' },
    { id: 3, name: 'l', required: true, type: 'long' },
    { id: 4, name: 'f', required: false, type: 'float' },
    { id: 5, name: 'd', required: false, type: 'double' },
    { id: 6, name: 'dec9', required: false, type: 'decimal(9, 2)' },
    { id: 7, name: 'dec18', required: false, type: 'decimal(18, 6)' },
    { id: 8, name: 'dec38', required: false, type: 'decimal(38, 10)' },
    { id: 9, name: 'dt', required: false, type: 'date' },
    { id: 10, name: 'tm', required: false, type: 'time' },
    { id: 11, name: 'ts', required: false, type: 'timestamp' },
    { id: 12, name: 'tstz', required: false, type: 'timestamptz' },
    { id: 13, name: 's', required: false, type: 'string' },
    { id: 14, name: 'u', required: false, type: 'uuid' },
    { id: 15, name: 'fx', required: false, type: 'fixed[4]' },
    { id: 16, name: 'bin', required: false, type: 'binary' },
    { id: 17, name: 'tsns', required: false, type: 'timestamp_ns' },
    {
      id: 18,
      name: 'st',
      required: false,
      type: {
        type: 'struct',
        fields: [
          { id: 19, name: 'x', required: true, type: 'int' },
          {
            id: 20,
            name: 'inner',
            required: false,
            type: { type: 'struct', fields: [{ id: 21, name: 'y', required: false, type: 'string' }] },
          },
        ],
      },
    },
    {
      id: 22,
      name: 'lst',
      required: false,
      type: { type: 'list', 'element-id': 23, element: 'long', 'element-required': false },
    },
    {
      id: 24,
      name: 'mp',
      required: false,
      type: {
        type: 'map',
        'key-id': 25,
        key: 'string',
        'value-id': 26,
        value: { type: 'struct', fields: [{ id: 27, name: 'v', required: false, type: 'double' }] },
        'value-required': false,
      },
    },
    {
      id: 28,
      name: 'lol',
      required: false,
      type: {
        type: 'list',
        'element-id': 29,
        element: { type: 'list', 'element-id': 30, element: 'int', 'element-required': true },
        'element-required': false,
      },
    },
    {
      id: 31,
      name: 'ls',
      required: false,
      type: {
        type: 'list',
        'element-id': 32,
        element: { type: 'struct', fields: [{ id: 33, name: 'tz', required: false, type: 'timestamptz' }] },
        'element-required': false,
      },
    },
  ],
};

const bytes = (...b: number[]) => Uint8Array.from(b);

const rows: IcebergValue[][] = [
  // Ordinary values.
  [
    true, 42, 1234567890123n, 1.5, 2.25, 12345n, 123456789012345678n, 12345678901234567890123456789012345678n,
    19000, 45_296_000_001n, 1_700_000_000_123_456n, 1_700_000_000_654_321n, 'hello',
    'f79c3e09-677c-4d90-a3a5-8b8f6f1b2a3c', bytes(1, 2, 3, 4), bytes(0xde, 0xad, 0xbe, 0xef),
    1_700_000_000_123_456_789n,
    [7, ['deep']], [1n, null, 3n], new Map<IcebergValue, IcebergValue>([['a', [0.5]], ['b', null], ['c', [null]]]),
    [[1, 2], [], null, [3]], [[1n], null, [null]],
  ],
  // Nulls everywhere a null may go.
  [
    null, null, 0n, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
    null, null, null, null, null,
  ],
  // Negatives, pre-1970, NaN, -0.0, unicode.
  [
    false, -2147483648, -9223372036854775808n, -0, NaN, -12345n, -1n, -99999999999999999999999999999999999999n,
    -719162, 0n, -1n, -62_135_596_800_000_000n, 'grüße 日本語 😀 \u{10FFFF}',
    '00000000-0000-0000-0000-000000000000', bytes(0, 0, 0, 0), bytes(),
    -1n,
    [-1, null], [], new Map<IcebergValue, IcebergValue>(), [], [],
  ],
  // Extremes.
  [
    true, 2147483647, 9223372036854775807n, Infinity, -Infinity, 999999999n, 999999999999999999n,
    99999999999999999999999999999999999999n, 2932896, 86_399_999_999n, 253_402_300_799_999_999n,
    253_402_300_799_999_999n, '', 'ffffffff-ffff-ffff-ffff-ffffffffffff', bytes(255, 255, 255, 255),
    bytes(0, 255), 9_000_000_000_000_000_000n,
    [2147483647, [null]], [9223372036854775807n], new Map<IcebergValue, IcebergValue>([['', [-0]]]), [[]], [null],
  ],
];

let dir: string;
let db: DuckDB;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'floe-parquet-'));
  db = await DuckDB.open({ threads: 1 });
});

after(async () => {
  db.close();
  await rm(dir, { recursive: true, force: true });
});

describe('writeParquetFile round trip', () => {
  let path: string;
  before(async () => {
    path = join(dir, 'all-types.parquet');
    const result = await writeParquetFile({ schema, rows: batchFromRows(schema, rows), path, db });
    assert.equal(result.recordCount, rows.length);
  });

  test('DuckDB reads back every value exactly', async () => {
    const read = await db.values(`SELECT * FROM read_parquet(${sqlString(path)})`);
    assert.equal(read.length, rows.length);
    read.forEach((r, i) => {
      const got = schema.fields.map((f) => fromDuckDB(f.type, r[f.name] ?? null));
      assert.deepStrictEqual(got, rows[i], `row ${i}`);
    });
  });

  test('every column at every level carries its field id', async () => {
    const els = await db.all(`SELECT name, field_id FROM parquet_schema(${sqlString(path)})`);
    const ids = els.map((e) => e.field_id).filter((x) => x !== null).map(Number).sort((a, b) => a - b);
    assert.deepStrictEqual(ids, Array.from({ length: 33 }, (_, i) => i + 1));
    // Only the root and the repeated groups of the LIST/MAP encodings lack an id.
    const without = els.filter((e) => e.field_id === null).map((e) => e.name);
    assert.deepStrictEqual(without.sort(), ['duckdb_schema', 'key_value', 'list', 'list', 'list', 'list'].sort());
  });

  test('physical and logical types are the ones Iceberg readers expect', async () => {
    const els = await db.all(
      `SELECT field_id, type, type_length, converted_type, logical_type FROM parquet_schema(${sqlString(path)}) WHERE field_id IS NOT NULL`,
    );
    const byId = new Map(els.map((e) => [Number(e.field_id), e]));
    const expect = (id: number, type: string, logical: RegExp | null, length?: number) => {
      const e = byId.get(id);
      assert.ok(e, `field id ${id} present`);
      assert.equal(e.type, type, `field id ${id} physical type`);
      if (logical) assert.match(String(e.logical_type ?? e.converted_type), logical, `field id ${id} logical type`);
      if (length !== undefined) assert.equal(Number(e.type_length), length, `field id ${id} length`);
    };
    expect(1, 'BOOLEAN', null);
    expect(2, 'INT32', null);
    expect(3, 'INT64', null);
    expect(4, 'FLOAT', null);
    expect(5, 'DOUBLE', null);
    expect(6, 'INT32', /DecimalType\(scale=2, precision=9\)/);
    expect(7, 'INT64', /DecimalType\(scale=6, precision=18\)/);
    expect(8, 'FIXED_LEN_BYTE_ARRAY', /DecimalType\(scale=10, precision=38\)/, 16);
    expect(9, 'INT32', /DATE/);
    expect(10, 'INT64', /TimeType\(isAdjustedToUTC=0, unit=TimeUnit\(MILLIS=<null>, MICROS=MicroSeconds\(\)/);
    expect(11, 'INT64', /TimestampType\(isAdjustedToUTC=0, unit=TimeUnit\(MILLIS=<null>, MICROS=MicroSeconds\(\)/);
    expect(12, 'INT64', /TimestampType\(isAdjustedToUTC=1, unit=TimeUnit\(MILLIS=<null>, MICROS=MicroSeconds\(\)/);
    expect(13, 'BYTE_ARRAY', /UTF8|StringType/);
    expect(14, 'FIXED_LEN_BYTE_ARRAY', /UUIDType/, 16);
    // DuckDB has no fixed-length binary: fixed[L] is BYTE_ARRAY (documented in parquet-writer.ts).
    expect(15, 'BYTE_ARRAY', null);
    expect(16, 'BYTE_ARRAY', null);
    expect(17, 'INT64', /TimestampType\(isAdjustedToUTC=0, unit=TimeUnit\(.*NANOS=NanoSeconds\(\)/);
    expect(33, 'INT64', /isAdjustedToUTC=1/);
    assert.equal(byId.get(15)?.converted_type, null, 'fixed is not annotated as a string');
    assert.equal(byId.get(16)?.converted_type, null, 'binary is not annotated as a string');
  });

  test('hyparquet reads the file and sees the field ids', async () => {
    const snappyPath = join(dir, 'all-types-snappy.parquet');
    await writeParquetFile({ schema, rows: batchFromRows(schema, rows), path: snappyPath, compression: 'snappy', db });
    const buf = await readFile(snappyPath);
    const file = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    const md = parquetMetadata(file);
    const idsByName = new Map<string, number | undefined>();
    for (const el of md.schema) idsByName.set(el.name, el.field_id);
    assert.equal(idsByName.get('l'), 3);
    assert.equal(idsByName.get('tstz'), 12);
    assert.equal(idsByName.get('st'), 18);
    assert.equal(idsByName.get('inner'), 20);
    assert.equal(idsByName.get('y'), 21);
    assert.equal(md.schema.filter((e) => e.field_id !== undefined).length, 33);
    const objs = await parquetReadObjects({ file, columns: ['l', 's', 'i', 'tstz'] });
    assert.deepStrictEqual(
      objs.map((o) => [o.l, o.s, o.i]),
      rows.map((r) => [r[2], r[12], r[1]]),
    );
    // hyparquet turns a UTC-adjusted timestamp into a Date.
    assert.equal((objs[0]!.tstz as Date).toISOString(), '2023-11-14T22:13:20.654Z');
  });

  test('zstd files read with hyparquet-compressors', async (t) => {
    let compressors: unknown;
    try {
      ({ compressors } = (await import('hyparquet-compressors' as string)) as { compressors: unknown });
    } catch {
      t.skip('hyparquet-compressors is not installed');
      return;
    }
    const buf = await readFile(path);
    const file = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    const md = parquetMetadata(file);
    assert.equal(md.row_groups[0]?.columns[0]?.meta_data?.codec, 'ZSTD');
    const objs = await parquetReadObjects({ file, columns: ['s'], compressors: compressors as never });
    assert.deepStrictEqual(objs.map((o) => o.s), rows.map((r) => r[12]));
  });
});

describe('writeParquetFile options and layout', () => {
  const flat: Schema = {
    type: 'struct',
    'schema-id': 0,
    fields: [
      { id: 1, name: 'event_id', required: true, type: 'string' },
      { id: 2, name: 'event_time', required: true, type: 'timestamptz' },
    ],
  };

  test('compression codec and row groups follow the options', async () => {
    const n = 5000;
    const ids: IcebergValue[] = [];
    const times: IcebergValue[] = [];
    for (let i = 0; i < n; i++) {
      ids.push(`evt-${i}`);
      times.push(1_700_000_000_000_000n + BigInt(i));
    }
    const path = join(dir, 'groups.parquet');
    const res = await writeParquetFile({
      schema: flat,
      rows: { length: n, columns: new Map([[1, ids], [2, times]]) },
      path,
      compression: 'uncompressed',
      rowGroupSize: 2048,
      db,
    });
    const md = await db.all(
      `SELECT row_group_id, compression FROM parquet_metadata(${sqlString(path)})`,
    );
    assert.ok(md.every((r) => r.compression === 'UNCOMPRESSED'));
    const groups = new Set(md.map((r) => Number(r.row_group_id)));
    assert.ok(groups.size >= 2, `several row groups, got ${groups.size}`);
    assert.equal(res.splitOffsets.length, groups.size);
    const back = await db.all(`SELECT count(*) AS n, max(epoch_us(event_time)) AS mx FROM read_parquet(${sqlString(path)})`);
    assert.equal(back[0]?.n, BigInt(n));
    assert.equal(back[0]?.mx, 1_700_000_000_000_000n + BigInt(n - 1));
  });

  test('a field missing from the batch is written as nulls; unknown fields are left out', async () => {
    const s: Schema = {
      type: 'struct',
      'schema-id': 0,
      fields: [
        { id: 1, name: 'a', required: true, type: 'int' },
        { id: 2, name: 'gone', required: false, type: 'unknown' },
        { id: 3, name: 'b', required: false, type: 'string' },
        {
          id: 4,
          name: 'st',
          required: false,
          type: {
            type: 'struct',
            fields: [
              { id: 5, name: 'u', required: false, type: 'unknown' },
              { id: 6, name: 'k', required: false, type: 'long' },
            ],
          },
        },
      ],
    };
    const path = join(dir, 'unknown.parquet');
    const res = await writeParquetFile({
      schema: s,
      rows: { length: 2, columns: new Map<number, IcebergValue[]>([[1, [1, 2]], [4, [[null, 5n], null]]]) },
      path,
      db,
    });
    const cols = await db.all(`SELECT name, field_id FROM parquet_schema(${sqlString(path)}) WHERE field_id IS NOT NULL`);
    assert.deepStrictEqual(cols.map((c) => [c.name, Number(c.field_id)]), [['a', 1], ['b', 3], ['st', 4], ['k', 6]]);
    const back = await db.all(`SELECT a, b, st.k AS k FROM read_parquet(${sqlString(path)}) ORDER BY a`);
    assert.deepStrictEqual(back, [{ a: 1, b: null, k: 5n }, { a: 2, b: null, k: null }]);
    assert.equal(res.metrics.nullValueCounts.get(3), 2);
    assert.equal(res.metrics.valueCounts.has(2), false);
    assert.equal(res.metrics.valueCounts.has(5), false);
  });

  test('names with quotes, dots and spaces survive', async () => {
    const s: Schema = {
      type: 'struct',
      'schema-id': 0,
      fields: [
        { id: 1, name: `it's "a.b" c`, required: false, type: 'int' },
        {
          id: 2,
          name: '__proto__',
          required: false,
          type: { type: 'struct', fields: [{ id: 3, name: 'x y', required: false, type: 'string' }] },
        },
      ],
    };
    const path = join(dir, 'names.parquet');
    await writeParquetFile({ schema: s, rows: batchFromRows(s, [[1, ['q']]]), path, db });
    const cols = await db.all(`SELECT name, field_id FROM parquet_schema(${sqlString(path)}) WHERE field_id IS NOT NULL`);
    assert.deepStrictEqual(cols.map((c) => [c.name, Number(c.field_id)]), [[`it's "a.b" c`, 1], ['__proto__', 2], ['x y', 3]]);
    const back = await db.values(`SELECT * FROM read_parquet(${sqlString(path)})`);
    assert.equal(back[0]?.[`it's "a.b" c`], 1);
    assert.deepStrictEqual(fromDuckDB(s.fields[1]!.type, back[0]?.['__proto__'] ?? null), ['q']);
  });

  test('an empty batch makes a file with no rows and no bounds', async () => {
    const path = join(dir, 'empty.parquet');
    const res = await writeParquetFile({ schema: flat, rows: { length: 0, columns: new Map() }, path, db });
    assert.equal(res.recordCount, 0);
    assert.deepStrictEqual(res.metrics.lowerBounds, new Map());
    assert.deepStrictEqual(res.metrics.valueCounts, new Map([[1, 0], [2, 0]]));
    const back = await db.all(`SELECT count(*) AS n FROM read_parquet(${sqlString(path)})`);
    assert.equal(back[0]?.n, 0n);
  });
  test('concurrent writes on one instance, and the process-wide instance by default', async () => {
    const mk = (k: number) => ({
      schema: flat,
      rows: batchFromRows(flat, Array.from({ length: 3000 }, (_, i) => [`w${k}-${i}`, BigInt(k * 1e6 + i)])),
      path: join(dir, `concurrent-${k}.parquet`),
    });
    const results = await Promise.all([0, 1, 2].map((k) => writeParquetFile({ ...mk(k), db })));
    for (const [k, r] of results.entries()) {
      const back = await db.all(`SELECT min(event_id) AS lo, count(*) AS n FROM read_parquet(${sqlString(r.path)})`);
      assert.deepStrictEqual(back, [{ lo: `w${k}-0`, n: 3000n }]);
    }
    try {
      const r = await writeParquetFile(mk(9));
      assert.equal(r.recordCount, 3000);
    } finally {
      await closeSharedDuckDB();
    }
  });
});
