import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { batchFromRows } from '../../src/data/column-batch.js';
import { toDataFile } from '../../src/data/data-file.js';
import { writeParquetFile } from '../../src/data/parquet-writer.js';
import type { DataFile } from '../../src/iceberg/manifest-types.js';
import type { IcebergValue, Schema } from '../../src/iceberg/types.js';
import { LocalFileIO } from '../../src/io/local.js';
import { copyToDataFile } from '../../src/maintenance/copy-writer.js';
import { DuckDB, sqlString } from '../../src/duckdb/instance.js';

/** Every primitive type, a nested struct, a list and a map (metrics outside lists/maps compared). */
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
    { id: 7, name: 'dec38', required: false, type: 'decimal(38, 10)' },
    { id: 8, name: 'dt', required: false, type: 'date' },
    { id: 9, name: 'tm', required: false, type: 'time' },
    { id: 10, name: 'ts', required: false, type: 'timestamp' },
    { id: 11, name: 'tstz', required: false, type: 'timestamptz' },
    { id: 12, name: 's', required: false, type: 'string' },
    { id: 13, name: 'u', required: false, type: 'uuid' },
    { id: 14, name: 'fx', required: false, type: 'fixed[4]' },
    { id: 15, name: 'bin', required: false, type: 'binary' },
    { id: 16, name: 'tsns', required: false, type: 'timestamp_ns' },
    {
      id: 17,
      name: 'st',
      required: false,
      type: {
        type: 'struct',
        fields: [
          { id: 18, name: 'x', required: true, type: 'int' },
          { id: 19, name: 'inner', required: false, type: { type: 'struct', fields: [{ id: 20, name: 'y', required: false, type: 'string' }] } },
        ],
      },
    },
    { id: 21, name: 'lst', required: false, type: { type: 'list', 'element-id': 22, element: 'long', 'element-required': false } },
    {
      id: 23,
      name: 'mp',
      required: false,
      type: { type: 'map', 'key-id': 24, key: 'string', 'value-id': 25, value: 'double', 'value-required': false },
    },
  ],
};

const bytes = (...b: number[]) => Uint8Array.from(b);

const rows: IcebergValue[][] = [
  [
    true, 42, 1234567890123n, 0, 2.25, 12345n, 123456789012345678n, 19000, 45_296_000_001n, 1_700_000_000_123_456n,
    1_700_000_000_654_321n, 'hello', 'f79c3e09-677c-4d90-a3a5-8b8f6f1b2a3c', bytes(1, 2, 3, 4), bytes(0xde, 0xad),
    1_700_000_000_123_456_789n, [7, ['deep']], [1n, null], new Map<IcebergValue, IcebergValue>([['a', 0.5]]),
  ],
  [null, null, 0n, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null],
  [
    false, -2147483648, -9223372036854775808n, -0, NaN, -12345n, -1n, -719162, 0n, -1n, -62_135_596_800_000_000n,
    'grüße 日本語 😀 and a string longer than sixteen code points', '00000000-0000-0000-0000-000000000000', bytes(0, 0, 0, 0),
    bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), -1n, [1, null], [], new Map(),
  ],
  [
    true, 2147483647, 9223372036854775807n, 1.5, -Infinity, 999999999n, 99999999999999999999999999999999999999n, 2932896,
    86_399_999_999n, 253_402_300_799_999_999n, 253_402_300_799_999_999n, '\uFFFF', 'ffffffff-ffff-ffff-ffff-ffffffffffff',
    bytes(255, 255, 255, 255), bytes(), 9_000_000_000_000_000_000n, [2, null], [9n], new Map<IcebergValue, IcebergValue>([['', NaN]]),
  ],
];

let dir: string;
let db: DuckDB;
let written: DataFile;
let copied: DataFile;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'floe-copy-'));
  db = await DuckDB.open({ threads: 1 });
  const path = join(dir, 'source.parquet');
  const result = await writeParquetFile({ schema, rows: batchFromRows(schema, rows), path, db });
  written = toDataFile(result, [], 0).file;
  const f = await copyToDataFile({
    duckdb: db,
    io: new LocalFileIO(),
    schema,
    selectSql: `SELECT * FROM read_parquet(${sqlString(path)})`,
    location: join(dir, 'copy', 'copied.parquet'),
    partition: [],
    specId: 0,
    compression: 'zstd',
  });
  assert.ok(f);
  copied = f;
});

after(async () => {
  db.close();
  await rm(dir, { recursive: true, force: true });
});

const hex = (m: Map<number, Uint8Array> | undefined) => new Map([...(m ?? new Map<number, Uint8Array>())].map(([k, v]) => [k, Buffer.from(v).toString('hex')]));
/** Leaves outside lists and maps. */
const flat = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 20]);
const only = <V>(m: Map<number, V> | undefined) => new Map([...(m ?? new Map<number, V>())].filter(([k]) => flat.has(k)));

test('copyToDataFile: bounds equal the writer’s, byte for byte (truncation, -0.0, NaN, unsigned bytes)', () => {
  assert.deepEqual(hex(copied.lower_bounds), hex(written.lower_bounds));
  assert.deepEqual(hex(copied.upper_bounds), hex(written.upper_bounds));
});

test('copyToDataFile: null and NaN counts equal the writer’s outside lists and maps; value counts everywhere', () => {
  assert.deepEqual(only(copied.null_value_counts), only(written.null_value_counts));
  assert.deepEqual(only(copied.nan_value_counts), only(written.nan_value_counts));
  assert.deepEqual(copied.value_counts, written.value_counts);
  for (const k of copied.null_value_counts?.keys() ?? []) assert.ok(flat.has(k), `no null count for repeated leaf ${k}`);
});

test('copyToDataFile: record count, field ids, split offsets, and rows read back unchanged', async () => {
  assert.equal(copied.record_count, rows.length);
  assert.ok(copied.file_size_in_bytes > 0);
  assert.deepEqual(copied.split_offsets, written.split_offsets);
  const ids = await db.all(`SELECT field_id FROM parquet_schema(${sqlString(copied.file_path)}) WHERE field_id IS NOT NULL ORDER BY field_id`);
  assert.deepEqual(
    ids.map((r) => Number(r.field_id)),
    Array.from({ length: 25 }, (_, i) => i + 1),
  );
  const a = await db.all(`SELECT * FROM read_parquet(${sqlString(join(dir, 'source.parquet'))}) ORDER BY l`);
  const b = await db.all(`SELECT * FROM read_parquet(${sqlString(copied.file_path)}) ORDER BY l`);
  const s = (x: unknown) => JSON.stringify(x, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : Number.isNaN(v) ? 'NaN' : v));
  assert.equal(s(b), s(a));
});

test('copyToDataFile: an empty result writes nothing', async () => {
  const f = await copyToDataFile({
    duckdb: db,
    io: new LocalFileIO(),
    schema,
    selectSql: `SELECT * FROM read_parquet(${sqlString(join(dir, 'source.parquet'))}) WHERE false`,
    location: join(dir, 'copy', 'empty.parquet'),
    partition: [],
    specId: 0,
    compression: 'zstd',
  });
  assert.equal(f, undefined);
  assert.equal(await new LocalFileIO().exists(join(dir, 'copy', 'empty.parquet')), false);
});
