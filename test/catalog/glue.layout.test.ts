/**
 * How GlueCatalog stores namespaces and tables in Glue: the shape Iceberg Java's GlueCatalog
 * writes (TableType, Parameters, StorageDescriptor columns with Hive types and iceberg.field.*
 * parameters), checked on the fake Glue server through the real SDK client.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { glueTypeString } from '../../src/catalog/glue/convert.js';
import { GlueCatalog } from '../../src/catalog/glue/glue-catalog.js';
import { NoSuchTableError, ValidationError } from '../../src/errors.js';
import type { IcebergType, Schema } from '../../src/iceberg/types.js';
import { startGlueFake, type GlueFake } from './glue-fake.js';

const CREDENTIALS = { accessKeyId: 'AKIDFLOETEST', secretAccessKey: 'floe-test-secret' };

/** One column of every Iceberg type floe writes (v1/v2), plus nested ones. */
const ALL_TYPES: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'c_boolean', type: 'boolean', required: true, doc: 'a flag' },
    { id: 2, name: 'c_int', type: 'int', required: false },
    { id: 3, name: 'c_long', type: 'long', required: false },
    { id: 4, name: 'c_float', type: 'float', required: false },
    { id: 5, name: 'c_double', type: 'double', required: false },
    { id: 6, name: 'c_decimal', type: 'decimal(9,2)', required: false },
    { id: 7, name: 'c_date', type: 'date', required: false },
    { id: 8, name: 'c_time', type: 'time', required: false },
    { id: 9, name: 'c_timestamp', type: 'timestamp', required: false },
    { id: 10, name: 'c_timestamptz', type: 'timestamptz', required: false },
    { id: 11, name: 'c_string', type: 'string', required: false },
    { id: 12, name: 'c_uuid', type: 'uuid', required: false },
    { id: 13, name: 'c_fixed', type: 'fixed[16]', required: false },
    { id: 14, name: 'c_binary', type: 'binary', required: false },
    {
      id: 15,
      name: 'c_struct',
      required: false,
      type: {
        type: 'struct',
        fields: [
          { id: 20, name: 'x', type: 'int', required: true },
          { id: 21, name: 'y', type: { type: 'list', 'element-id': 22, element: 'string', 'element-required': false }, required: false },
        ],
      },
    },
    { id: 16, name: 'c_list', required: false, type: { type: 'list', 'element-id': 23, element: 'long', 'element-required': true } },
    {
      id: 17,
      name: 'c_map',
      required: false,
      type: { type: 'map', 'key-id': 24, key: 'string', 'value-id': 25, value: 'decimal(38, 10)', 'value-required': false },
    },
  ],
};

const EXPECTED_TYPES: Record<string, string> = {
  c_boolean: 'boolean',
  c_int: 'int',
  c_long: 'bigint',
  c_float: 'float',
  c_double: 'double',
  c_decimal: 'decimal(9,2)',
  c_date: 'date',
  c_time: 'string',
  c_timestamp: 'timestamp',
  c_timestamptz: 'timestamp',
  c_string: 'string',
  c_uuid: 'string',
  c_fixed: 'binary',
  c_binary: 'binary',
  c_struct: 'struct<x:int,y:array<string>>',
  c_list: 'array<bigint>',
  c_map: 'map<string,decimal(38,10)>',
};

function ns(): string {
  return `layout_${randomUUID().replace(/-/g, '_')}`;
}

type Obj = Record<string, unknown>;
interface GlueColumn {
  Name: string;
  Type: string;
  Comment?: string;
  Parameters: Record<string, string>;
}

function columnsOf(table: Obj | undefined): GlueColumn[] {
  const sd = table?.StorageDescriptor as { Columns?: GlueColumn[] } | undefined;
  return sd?.Columns ?? [];
}

describe('glueTypeString', () => {
  it('maps Iceberg types to the Hive type strings Java writes', () => {
    const cases: [IcebergType, string][] = [
      ['timestamp_ns', 'timestamp_nano'],
      ['decimal(10, 0)', 'decimal(10,0)'],
      ['fixed[3]', 'binary'],
      ['unknown', 'unknown'],
      ['variant', 'variant'],
      [{ type: 'map', 'key-id': 1, key: 'int', 'value-id': 2, value: { type: 'struct', fields: [] }, 'value-required': true }, 'map<int,struct<>>'],
    ];
    for (const [t, want] of cases) assert.equal(glueTypeString(t), want, JSON.stringify(t));
  });
});

describe('GlueCatalog storage layout', () => {
  let fake: GlueFake;
  let catalog: GlueCatalog;
  const warehouse = `memory://glue-layout/${randomUUID()}`;

  before(async () => {
    fake = await startGlueFake();
    catalog = new GlueCatalog({ endpoint: fake.endpoint, region: 'us-east-1', credentials: CREDENTIALS, warehouse });
  });
  after(async () => {
    await catalog.close();
    await fake.stop();
  });

  it('stores a namespace as a database: comment → Description, location → LocationUri, the rest → Parameters', async () => {
    const db = ns();
    await catalog.createNamespace([db], { comment: 'events 🤪', location: 's3://bucket/dbs/x/', owner: 'floe' });
    const req = fake.requestsOf('CreateDatabase').at(-1)!.body;
    assert.deepEqual(req.DatabaseInput, { Name: db, Description: 'events 🤪', LocationUri: 's3://bucket/dbs/x/', Parameters: { owner: 'floe' } });
    const props = await catalog.loadNamespaceProperties([db]);
    assert.deepEqual(props, { comment: 'events 🤪', location: 's3://bucket/dbs/x', owner: 'floe' });
    await catalog.updateNamespaceProperties([db], ['comment'], { location: 's3://bucket/elsewhere' });
    const upd = fake.requestsOf('UpdateDatabase').at(-1)!.body;
    assert.equal(upd.Name, db);
    assert.deepEqual(upd.DatabaseInput, { Name: db, LocationUri: 's3://bucket/elsewhere', Parameters: { owner: 'floe' } });
  });

  it('stores a table as Java does: EXTERNAL_TABLE, table_type=ICEBERG, metadata_location, typed columns', async () => {
    const db = ns();
    await catalog.createNamespace([db]);
    const t = await catalog.createTable({ namespace: [db], name: 'all_types' }, { schema: ALL_TYPES, properties: { comment: 'every type' } });
    assert.equal(t.metadata.location, `${warehouse}/${db}.db/all_types`, 'default location is <warehouse>/<db>.db/<table>');
    const stored = fake.table(db, 'all_types')!;
    assert.equal(stored.TableType, 'EXTERNAL_TABLE');
    assert.equal(stored.Description, 'every type');
    assert.equal(stored.VersionId, '0');
    assert.deepEqual(stored.Parameters, { table_type: 'ICEBERG', metadata_location: t.metadataLocation });
    const sd = stored.StorageDescriptor as Obj;
    assert.equal(sd.Location, t.metadata.location);
    const cols = columnsOf(stored);
    assert.deepEqual(
      Object.fromEntries(cols.map((c) => [c.Name, c.Type])),
      EXPECTED_TYPES,
    );
    const ids = t.metadata.schemas[0]!.fields;
    for (const c of cols) {
      const f = ids.find((x) => x.name === c.Name)!;
      assert.deepEqual(c.Parameters, { 'iceberg.field.id': String(f.id), 'iceberg.field.optional': String(!f.required), 'iceberg.field.current': 'true' });
    }
    assert.equal(cols.find((c) => c.Name === 'c_boolean')?.Comment, 'a flag');
    assert.equal(cols.find((c) => c.Name === 'c_int')?.Comment, undefined);
  });

  it('keeps columns in step on commit: previous_metadata_location, dropped columns as not current, Glue comments and parameters kept', async () => {
    const db = ns();
    await catalog.createNamespace([db]);
    const id = { namespace: [db], name: 'evolving' };
    const created = await catalog.createTable(id, {
      schema: { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'a', type: 'int', required: true }, { id: 2, name: 'b', type: 'string', required: false }] },
    });
    // Someone edits the table in the Glue console: a column comment and a parameter of their own.
    const edited = fake.table(db, 'evolving')!;
    const editedColumns = columnsOf(edited).map((c) => (c.Name === 'a' ? { ...c, Comment: 'set in console' } : c));
    fake.putRawTable(db, {
      Name: 'evolving',
      TableType: edited.TableType as string,
      Parameters: { ...(edited.Parameters as Record<string, string>), 'lf.tag': 'keep-me' },
      StorageDescriptor: { ...(edited.StorageDescriptor as Obj), Columns: editedColumns },
    });

    const evolved: Schema = {
      type: 'struct',
      'schema-id': 1,
      fields: [
        { id: 1, name: 'a', type: 'long', required: true },
        { id: 3, name: 'c', type: 'timestamptz', required: false, doc: 'added' },
      ],
    };
    const t = await catalog.commitTable(id, [], [
      { action: 'add-schema', schema: evolved },
      { action: 'set-current-schema', 'schema-id': -1 },
    ]);
    const stored = fake.table(db, 'evolving')!;
    assert.deepEqual(stored.Parameters, {
      table_type: 'ICEBERG',
      metadata_location: t.metadataLocation,
      previous_metadata_location: created.metadataLocation,
      'lf.tag': 'keep-me',
    });
    const cols = columnsOf(stored);
    assert.deepEqual(
      cols.map((c) => [c.Name, c.Type, c.Parameters['iceberg.field.current'], c.Comment]),
      [
        ['a', 'bigint', 'true', 'set in console'],
        ['c', 'timestamp', 'true', 'added'],
        ['b', 'string', 'false', undefined],
      ],
    );
  });

  it('uses the database location for new tables when it has one', async () => {
    const db = ns();
    await catalog.createNamespace([db], { location: `${warehouse}/custom-db-dir/` });
    const t = await catalog.createTable({ namespace: [db], name: 'located' }, { schema: ALL_TYPES });
    assert.equal(t.metadata.location, `${warehouse}/custom-db-dir/located`);
  });

  it('ignores non-Iceberg tables: not listed, not loadable, but they keep a database from being dropped', async () => {
    const db = ns();
    await catalog.createNamespace([db]);
    await catalog.createTable({ namespace: [db], name: 'ice' }, { schema: ALL_TYPES });
    fake.putRawTable(db, { Name: 'hive_csv', TableType: 'EXTERNAL_TABLE', Parameters: { classification: 'csv' } });
    assert.deepEqual((await catalog.listTables([db])).map((t) => t.name), ['ice']);
    assert.equal(await catalog.tableExists({ namespace: [db], name: 'hive_csv' }), false);
    await assert.rejects(catalog.loadTable({ namespace: [db], name: 'hive_csv' }), (e: unknown) => {
      assert.ok(e instanceof NoSuchTableError);
      assert.match(e.message, /not an Iceberg table/);
      return true;
    });
    await catalog.dropTable({ namespace: [db], name: 'ice' });
    await assert.rejects(catalog.dropNamespace([db]), /non-Iceberg tables/);
  });

  it('reads table_type case-insensitively, as Java does', async () => {
    const db = ns();
    await catalog.createNamespace([db]);
    const t = await catalog.createTable({ namespace: [db], name: 'lower' }, { schema: ALL_TYPES });
    const stored = fake.table(db, 'lower')!;
    fake.putRawTable(db, { Name: 'lower', TableType: 'EXTERNAL_TABLE', Parameters: { ...(stored.Parameters as Record<string, string>), table_type: 'iceberg' } });
    assert.equal((await catalog.loadTable({ namespace: [db], name: 'lower' })).metadataLocation, t.metadataLocation);
  });

  it('rejects names Glue and Athena cannot hold, before sending anything', async () => {
    const before = fake.requests.length;
    await assert.rejects(catalog.createNamespace(['Upper']), ValidationError);
    await assert.rejects(catalog.createNamespace(['a', 'b']), /one level/);
    await assert.rejects(catalog.createTable({ namespace: ['fine'], name: 'has-dash' }, { schema: ALL_TYPES }), ValidationError);
    assert.equal(fake.requests.length, before);
    assert.equal(await catalog.namespaceExists(['a', 'b']), false);
  });

  it('renames by create + delete, keeping the Glue definition', async () => {
    const db = ns();
    await catalog.createNamespace([db]);
    await catalog.createTable({ namespace: [db], name: 'old_name' }, { schema: ALL_TYPES, properties: { comment: 'kept' } });
    const before = fake.table(db, 'old_name')!;
    await catalog.renameTable({ namespace: [db], name: 'old_name' }, { namespace: [db], name: 'new_name' });
    assert.equal(fake.table(db, 'old_name'), undefined);
    const after = fake.table(db, 'new_name')!;
    for (const k of ['TableType', 'Parameters', 'StorageDescriptor', 'Description']) assert.deepEqual(after[k], before[k], k);
  });
});
