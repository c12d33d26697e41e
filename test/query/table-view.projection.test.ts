/**
 * Column projection and delete application of `scanToSql` on Parquet files written here with
 * DuckDB: ids vs names, name mapping, nested types, defaults, promotion, deletes, filters.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDB, sqlString } from '../../src/duckdb/instance.js';
import { filterToSql, registerTableView, scanToSql, sqlLiteral } from '../../src/query/table-view.js';
import { bind } from '../../src/iceberg/expression-binding.js';
import { equal, greaterThan, isIn, lessThan, notEqual } from '../../src/iceberg/expressions.js';
import type { FileScanTask } from '../../src/iceberg/scan.js';
import type { DataFile } from '../../src/iceberg/manifest-types.js';
import type { PartitionSpec, TableMetadata } from '../../src/iceberg/metadata.js';
import type { IcebergValue, Schema } from '../../src/iceberg/types.js';
import { LocalFileIO } from '../../src/io/local.js';
import { RemapFileIO } from '../../src/io/remap.js';
import { UnsupportedError, ValidationError } from '../../src/errors.js';

let db: DuckDB;
let dir: string;
const io = new LocalFileIO();

before(async () => {
  db = await DuckDB.open({ threads: 1 });
  dir = mkdtempSync(join(tmpdir(), 'floe-table-view-'));
});
after(() => {
  db?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function metadata(schemas: Schema[], specs: PartitionSpec[] = [{ 'spec-id': 0, fields: [] }], properties: Record<string, string> = {}): TableMetadata {
  return {
    'format-version': 2,
    'table-uuid': '00000000-0000-0000-0000-000000000001',
    location: dir,
    'last-sequence-number': 0n,
    'last-updated-ms': 0,
    'last-column-id': 100,
    schemas,
    'current-schema-id': schemas[schemas.length - 1]!['schema-id'],
    'partition-specs': specs,
    'default-spec-id': specs[0]!['spec-id'],
    'last-partition-id': 1000,
    properties,
    snapshots: [],
    'snapshot-log': [],
    'metadata-log': [],
    'sort-orders': [{ 'order-id': 0, fields: [] }],
    'default-sort-order-id': 0,
    refs: {},
  };
}

function dataFile(path: string, content: 0 | 1 | 2 = 0, extra: Partial<DataFile> = {}): DataFile {
  return { content, file_path: path, file_format: 'PARQUET', partition: [], record_count: 1, file_size_in_bytes: 1, ...extra };
}

function task(file: DataFile, opts: { partition?: IcebergValue[]; specId?: number; deletes?: DataFile[] } = {}): FileScanTask {
  return {
    file,
    specId: opts.specId ?? 0,
    dataSequenceNumber: 1n,
    fileSequenceNumber: 1n,
    partition: opts.partition ?? [],
    deletes: (opts.deletes ?? []).map((d) => ({ file: d, specId: opts.specId ?? 0, dataSequenceNumber: 2n })),
  };
}

let n = 0;
async function writeParquet(select: string, fieldIds?: string): Promise<string> {
  const path = join(dir, `f${++n}.parquet`);
  await db.run(`COPY (${select}) TO ${sqlString(path)} (FORMAT parquet${fieldIds ? `, FIELD_IDS ${fieldIds}` : ''})`);
  return path;
}

async function rows(sql: string): Promise<Record<string, unknown>[]> {
  return db.all(sql);
}

test('columns are found by field id, whatever their names; absent ones read as NULL or initial-default', async () => {
  const path = await writeParquet(`SELECT 1 AS old_name, 'x' AS other UNION ALL SELECT 2, 'y'`, `{old_name: 1, other: 2}`);
  const schema: Schema = {
    type: 'struct',
    'schema-id': 1,
    fields: [
      { id: 1, name: 'renamed', required: true, type: 'long' },
      { id: 3, name: 'added', required: false, type: 'string' },
      { id: 4, name: 'with_default', required: false, type: 'int', 'initial-default': 42 },
      // A column named like a file column but with another id must not pick it up.
      { id: 5, name: 'other', required: false, type: 'string' },
    ],
  };
  const sql = await scanToSql({ duckdb: db, io, metadata: metadata([schema]), schema, tasks: [task(dataFile(path))] });
  const out = await rows(`SELECT * FROM (${sql}) ORDER BY renamed`);
  assert.deepEqual(out, [
    { renamed: 1n, added: null, with_default: 42, other: null },
    { renamed: 2n, added: null, with_default: 42, other: null },
  ]);
});

test('files without field ids use the name mapping, else the schema names', async () => {
  const path = await writeParquet(`SELECT 7 AS legacy_id, 'n' AS name`);
  const schema: Schema = {
    type: 'struct',
    'schema-id': 0,
    fields: [
      { id: 1, name: 'id', required: false, type: 'int' },
      { id: 2, name: 'name', required: false, type: 'string' },
    ],
  };
  const mapping = JSON.stringify([{ 'field-id': 1, names: ['id', 'legacy_id'] }, { 'field-id': 2, names: ['name'] }]);
  const withMapping = metadata([schema], undefined, { 'schema.name-mapping.default': mapping });
  let sql = await scanToSql({ duckdb: db, io, metadata: withMapping, schema, tasks: [task(dataFile(path))] });
  assert.deepEqual(await rows(sql), [{ id: 7, name: 'n' }]);
  sql = await scanToSql({ duckdb: db, io, metadata: metadata([schema]), schema, tasks: [task(dataFile(path))] });
  assert.deepEqual(await rows(sql), [{ id: null, name: 'n' }], 'without a mapping only matching names resolve');
  const bad = metadata([schema], undefined, { 'schema.name-mapping.default': '{"x": 1}' });
  await assert.rejects(scanToSql({ duckdb: db, io, metadata: bad, schema, tasks: [task(dataFile(path))] }), ValidationError);
});

test('nested structs, lists of structs and maps resolve children by id; types are promoted', async () => {
  const path = await writeParquet(
    `SELECT 1::INTEGER AS i, 1.5::FLOAT AS f, 12.34::DECIMAL(5,2) AS d,
            {'x': 2, 'y_old': 'q'} AS s, [{'p': 1}, {'p': 2}] AS l, MAP {'k': 5} AS m,
            CAST(NULL AS STRUCT(x INTEGER, y_old VARCHAR)) AS s2`,
    `{i: 1, f: 2, d: 3, s: {__duckdb_field_id: 4, x: 5, y_old: 6}, l: {__duckdb_field_id: 7, element: {__duckdb_field_id: 8, p: 9}}, m: {__duckdb_field_id: 10, key: 11, value: 12}, s2: {__duckdb_field_id: 13, x: 14, y_old: 15}}`,
  );
  const struct = (xId: number, yId: number) => ({
    type: 'struct' as const,
    fields: [
      { id: yId, name: 'y', required: false, type: 'string' as const },
      { id: xId, name: 'x', required: false, type: 'long' as const },
      { id: 99 + xId, name: 'z', required: false, type: 'int' as const },
    ],
  });
  const schema: Schema = {
    type: 'struct',
    'schema-id': 0,
    fields: [
      { id: 1, name: 'i', required: false, type: 'long' },
      { id: 2, name: 'f', required: false, type: 'double' },
      { id: 3, name: 'd', required: false, type: 'decimal(10,2)' },
      { id: 4, name: 's', required: false, type: struct(5, 6) },
      {
        id: 7,
        name: 'l',
        required: false,
        type: {
          type: 'list',
          'element-id': 8,
          'element-required': false,
          element: { type: 'struct', fields: [{ id: 9, name: 'p', required: false, type: 'long' }] },
        },
      },
      { id: 10, name: 'm', required: false, type: { type: 'map', 'key-id': 11, key: 'string', 'value-id': 12, value: 'long', 'value-required': false } },
      { id: 13, name: 's2', required: false, type: struct(14, 15) },
    ],
  };
  const sql = await scanToSql({ duckdb: db, io, metadata: metadata([schema]), schema, tasks: [task(dataFile(path))] });
  await registerTableView(db, 'nested_view', sql);
  const types = await db.all(`SELECT column_name AS c, data_type AS t FROM information_schema.columns WHERE table_name = 'nested_view' ORDER BY ordinal_position`);
  assert.deepEqual(
    types.map((r) => [r.c, r.t]),
    [
      ['i', 'BIGINT'],
      ['f', 'DOUBLE'],
      ['d', 'DECIMAL(10,2)'],
      ['s', 'STRUCT(y VARCHAR, x BIGINT, z INTEGER)'],
      ['l', 'STRUCT(p BIGINT)[]'],
      ['m', 'MAP(VARCHAR, BIGINT)'],
      ['s2', 'STRUCT(y VARCHAR, x BIGINT, z INTEGER)'],
    ],
  );
  const [r] = await db.all(`SELECT i, f, d::VARCHAR AS d, s.y AS sy, s.x AS sx, s.z AS sz, l[2].p AS lp, m['k'] AS mk, s2 IS NULL AS s2null FROM nested_view`);
  assert.deepEqual(r, { i: 1n, f: 1.5, d: '12.34', sy: 'q', sx: 2n, sz: null, lp: 2n, mk: 5n, s2null: true });
});

test('identity partition values fill columns missing from the file; other transforms do not', async () => {
  const path = await writeParquet(`SELECT 10 AS v`, `{v: 2}`);
  const schema: Schema = {
    type: 'struct',
    'schema-id': 0,
    fields: [
      { id: 1, name: 'region', required: false, type: 'string' },
      { id: 2, name: 'v', required: false, type: 'int' },
      { id: 3, name: 'ts', required: false, type: 'timestamptz' },
    ],
  };
  const spec: PartitionSpec = {
    'spec-id': 1,
    fields: [
      { 'source-id': 1, 'field-id': 1000, name: 'region', transform: 'identity' },
      { 'source-id': 3, 'field-id': 1001, name: 'ts_day', transform: 'day' },
    ],
  };
  const md = metadata([schema], [spec]);
  const sql = await scanToSql({ duckdb: db, io, metadata: md, schema, tasks: [task(dataFile(path), { specId: 1, partition: ["eu'west", 19000] })] });
  assert.deepEqual(await rows(sql), [{ region: "eu'west", v: 10, ts: null }]);
});

test('timestamps keep their instant: UTC-adjusted values are TIMESTAMPTZ, naive ones TIMESTAMP', async () => {
  const path = await writeParquet(
    `SELECT TIMESTAMPTZ '2024-01-01 12:00:00+00' AS tz, TIMESTAMP '2024-01-01 12:00:00' AS naive, TIMESTAMP '2024-01-01 12:00:00' AS naive_as_tz`,
    `{tz: 1, naive: 2, naive_as_tz: 3}`,
  );
  const schema: Schema = {
    type: 'struct',
    'schema-id': 0,
    fields: [
      { id: 1, name: 'tz', required: false, type: 'timestamptz' },
      { id: 2, name: 'naive', required: false, type: 'timestamp' },
      { id: 3, name: 'naive_as_tz', required: false, type: 'timestamptz' },
    ],
  };
  const sql = await scanToSql({ duckdb: db, io, metadata: metadata([schema]), schema, tasks: [task(dataFile(path))] });
  const [r] = await db.all(`SELECT typeof(tz) AS t1, typeof(naive) AS t2, epoch_us(tz) AS a, epoch_us(naive) AS b, epoch_us(naive_as_tz) AS c FROM (${sql})`);
  assert.deepEqual(r, { t1: 'TIMESTAMP WITH TIME ZONE', t2: 'TIMESTAMP', a: 1704110400000000n, b: 1704110400000000n, c: 1704110400000000n });
});

test('position deletes match the original (un-remapped) path; equality deletes treat NULL = NULL', async () => {
  const local = await writeParquet(`SELECT range::INTEGER AS id, CASE WHEN range = 3 THEN NULL ELSE 'k' || range END AS k FROM range(6)`, `{id: 1, k: 2}`);
  const name = local.slice(dir.length + 1);
  const original = `s3://bucket/table/${name}`;
  // Deletes of another data file at the same positions must not apply.
  const pos = await writeParquet(
    `SELECT * FROM (VALUES (${sqlString(original)}, 0::BIGINT), (${sqlString(original)}, 2::BIGINT), ('s3://bucket/table/other.parquet', 1::BIGINT)) AS t(file_path, pos)`,
  );
  const eq = await writeParquet(`SELECT * FROM (VALUES (NULL::VARCHAR), ('k5')) AS t(k)`, `{k: 2}`);
  const remap = new RemapFileIO([{ from: 's3://bucket/table', to: dir }], io);
  const schema: Schema = {
    type: 'struct',
    'schema-id': 0,
    fields: [
      { id: 1, name: 'id', required: true, type: 'int' },
      { id: 2, name: 'k', required: false, type: 'string' },
    ],
  };
  const t = task(dataFile(original), {
    deletes: [
      dataFile(`s3://bucket/table/${pos.slice(dir.length + 1)}`, 1),
      dataFile(`s3://bucket/table/${eq.slice(dir.length + 1)}`, 2, { equality_ids: [2] }),
    ],
  });
  const sql = await scanToSql({ duckdb: db, io: remap, metadata: metadata([schema]), schema, tasks: [t] });
  const out = await rows(`SELECT id FROM (${sql}) ORDER BY id`);
  assert.deepEqual(out.map((r) => r.id), [1, 4]);
});

test('a residual filter selects rows with SQL null semantics; NaN never compares', async () => {
  const path = await writeParquet(
    `SELECT * FROM (VALUES (1, 'a', 1.0::DOUBLE), (2, NULL, 'NaN'::DOUBLE), (3, 'c', 3.0::DOUBLE)) AS t(id, s, x)`,
    `{id: 1, s: 2, x: 3}`,
  );
  const schema: Schema = {
    type: 'struct',
    'schema-id': 0,
    fields: [
      { id: 1, name: 'id', required: false, type: 'int' },
      { id: 2, name: 's', required: false, type: 'string' },
      { id: 3, name: 'x', required: false, type: 'double' },
    ],
  };
  const ids = async (filter: Parameters<typeof bind>[0]) => {
    const sql = await scanToSql({ duckdb: db, io, metadata: metadata([schema]), schema, tasks: [task(dataFile(path))], filter });
    return (await rows(`SELECT id FROM (${sql}) ORDER BY id`)).map((r) => r.id);
  };
  assert.deepEqual(await ids(notEqual('s', 'a')), [3]);
  assert.deepEqual(await ids(greaterThan('x', 2)), [3]);
  assert.deepEqual(await ids(lessThan('x', 2)), [1]);
  assert.deepEqual(await ids(isIn('id', [1, 3])), [1, 3]);
  assert.deepEqual(await ids(equal('s', "it's")), []);
  assert.equal(filterToSql(bind(equal('id', 1), schema), schema), '"id" = CAST(1 AS INTEGER)');
});

test('an empty scan yields no rows with the schema columns; non-Parquet files are refused', async () => {
  const schema: Schema = { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'a', required: false, type: 'date' }] };
  const sql = await scanToSql({ duckdb: db, io, metadata: metadata([schema]), schema, tasks: [] });
  const [d] = await db.all(`SELECT count(*) AS n, any_value(typeof(a)) AS t FROM (${sql})`);
  assert.equal(d!.n, 0n);
  await assert.rejects(
    scanToSql({ duckdb: db, io, metadata: metadata([schema]), schema, tasks: [task(dataFile('/x/y.avro', 0, { file_format: 'AVRO' }))] }),
    (e: unknown) => e instanceof UnsupportedError && /y\.avro is AVRO/.test(e.message),
  );
});

test('sqlLiteral renders every primitive type exactly', async () => {
  const cases: [Parameters<typeof sqlLiteral>[0], IcebergValue, string][] = [
    ['boolean', true, 'true'],
    ['int', 5, '5'],
    ['long', 9007199254740993n, '9007199254740993'],
    ['float', Math.fround(0.1), '0.1'],
    ['double', Number.NaN, 'nan'],
    ['decimal(10,2)', -5n, '-0.05'],
    ['decimal(38,10)', 123456789012345678901234567890n, '12345678901234567890.1234567890'],
    ['date', 18993, '2022-01-01'],
    ['time', 3_723_000_001n, '01:02:03.000001'],
    ['timestamp', 1_704_110_400_000_001n, '2024-01-01 12:00:00.000001'],
    ['timestamptz', 1_704_110_400_000_000n, '2024-01-01 12:00:00+00'],
    ['string', "o'k", "o'k"],
    ['uuid', 'f79c3e09-677c-4bbd-a479-3f349cb785e7', 'f79c3e09-677c-4bbd-a479-3f349cb785e7'],
    ['binary', new Uint8Array([0xab, 0x01]), '\\xAB\\x01'],
  ];
  for (const [type, v, expected] of cases) {
    const [r] = await db.all(`SELECT CAST(${sqlLiteral(type, v)} AS VARCHAR) AS s`);
    assert.equal(String(r!.s).toLowerCase(), expected.toLowerCase(), type);
  }
});
