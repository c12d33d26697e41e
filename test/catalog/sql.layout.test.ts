/**
 * The SQLite database has the Iceberg JDBC catalog's exact layout (Java JdbcUtil V1), so Java's
 * JdbcCatalog and PyIceberg's SqlCatalog can open it; and floe can open theirs.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { AlreadyExistsError, NoSuchTableError } from '../../src/errors.js';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { writeTableMetadataFile } from '../../src/catalog/warehouse.js';
import { newTableMetadata } from '../../src/iceberg/table-metadata.js';
import { LocalFileIO } from '../../src/io/local.js';
import { CONFORMANCE_SCHEMA } from './conformance.js';

interface ColumnInfo {
  name: string;
  type: string;
  notnull: number;
  pk: number;
}

function columns(db: Database.Database, table: string): ColumnInfo[] {
  return (db.prepare(`PRAGMA table_info(${table})`).all() as ColumnInfo[]).map(({ name, type, notnull, pk }) => ({ name, type, notnull, pk }));
}

describe('SqlCatalog database layout', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'floe-sql-layout-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates iceberg_tables and iceberg_namespace_properties exactly as JdbcUtil does', async () => {
    const path = join(dir, 'layout.db');
    const cat = new SqlCatalog({ name: 'c', uri: path, warehouse: join(dir, 'wh') });
    await cat.close();
    const db = new Database(path, { readonly: true });
    try {
      const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
      assert.deepEqual(tables, ['iceberg_namespace_properties', 'iceberg_tables']);
      assert.deepEqual(columns(db, 'iceberg_tables'), [
        { name: 'catalog_name', type: 'VARCHAR(255)', notnull: 1, pk: 1 },
        { name: 'table_namespace', type: 'VARCHAR(255)', notnull: 1, pk: 2 },
        { name: 'table_name', type: 'VARCHAR(255)', notnull: 1, pk: 3 },
        { name: 'metadata_location', type: 'VARCHAR(1000)', notnull: 0, pk: 0 },
        { name: 'previous_metadata_location', type: 'VARCHAR(1000)', notnull: 0, pk: 0 },
        { name: 'iceberg_type', type: 'VARCHAR(5)', notnull: 0, pk: 0 },
      ]);
      assert.deepEqual(columns(db, 'iceberg_namespace_properties'), [
        { name: 'catalog_name', type: 'VARCHAR(255)', notnull: 1, pk: 1 },
        { name: 'namespace', type: 'VARCHAR(255)', notnull: 1, pk: 2 },
        { name: 'property_key', type: 'VARCHAR(255)', notnull: 0, pk: 3 },
        { name: 'property_value', type: 'VARCHAR(1000)', notnull: 0, pk: 0 },
      ]);
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal', 'shared file databases run in WAL mode');
    } finally {
      db.close();
    }
  });

  it('writes the rows Java and PyIceberg write', async () => {
    const path = join(dir, 'rows.db');
    const cat = new SqlCatalog({ name: 'prod', uri: path, warehouse: join(dir, 'wh-rows') });
    await cat.createNamespace(['db']);
    await cat.createNamespace(['db', 'sub'], { owner: 'floe' });
    const t0 = await cat.createTable({ namespace: ['db', 'sub'], name: 'events' }, { schema: CONFORMANCE_SCHEMA });
    const t1 = await cat.commitTable({ namespace: ['db', 'sub'], name: 'events' }, [], [{ action: 'set-properties', updates: { a: 'b' } }]);
    await cat.close();

    const db = new Database(path, { readonly: true });
    try {
      assert.deepEqual(db.prepare('SELECT * FROM iceberg_namespace_properties ORDER BY namespace, property_key').all(), [
        { catalog_name: 'prod', namespace: 'db', property_key: 'exists', property_value: 'true' },
        { catalog_name: 'prod', namespace: 'db.sub', property_key: 'owner', property_value: 'floe' },
      ]);
      assert.deepEqual(db.prepare('SELECT * FROM iceberg_tables').all(), [
        {
          catalog_name: 'prod',
          table_namespace: 'db.sub',
          table_name: 'events',
          metadata_location: t1.metadataLocation,
          previous_metadata_location: t0.metadataLocation,
          iceberg_type: 'TABLE',
        },
      ]);
      assert.match(t0.metadataLocation, /\/wh-rows\/db\.sub\/events\/metadata\/00000-[0-9a-f-]{36}\.metadata\.json$/);
      assert.match(t1.metadataLocation, /\/metadata\/00001-[0-9a-f-]{36}\.metadata\.json$/);
    } finally {
      db.close();
    }
  });

  it('keeps catalogs sharing one database apart by catalog_name', async () => {
    const path = join(dir, 'two-catalogs.db');
    const a = new SqlCatalog({ name: 'a', uri: path, warehouse: join(dir, 'wh-a') });
    const b = new SqlCatalog({ name: 'b', uri: path, warehouse: join(dir, 'wh-b') });
    await a.createNamespace(['ns']);
    await a.createTable({ namespace: ['ns'], name: 't' }, { schema: CONFORMANCE_SCHEMA });
    assert.equal(await b.namespaceExists(['ns']), false);
    assert.deepEqual(await b.listNamespaces(), []);
    await b.createNamespace(['ns']);
    assert.deepEqual(await b.listTables(['ns']), []);
    await b.createTable({ namespace: ['ns'], name: 't' }, { schema: CONFORMANCE_SCHEMA });
    assert.notEqual((await a.loadTable({ namespace: ['ns'], name: 't' })).metadata['table-uuid'], (await b.loadTable({ namespace: ['ns'], name: 't' })).metadata['table-uuid']);
    await a.close();
    await b.close();
  });

  it('opens a PyIceberg (V0) database without altering it', async () => {
    const path = join(dir, 'pyiceberg.db');
    // The DDL SQLAlchemy emits for PyIceberg's SqlCatalog models: no iceberg_type column.
    const raw = new Database(path);
    raw.exec(`CREATE TABLE iceberg_tables (
      catalog_name VARCHAR(255) NOT NULL, table_namespace VARCHAR(255) NOT NULL, table_name VARCHAR(255) NOT NULL,
      metadata_location VARCHAR(1000), previous_metadata_location VARCHAR(1000),
      PRIMARY KEY (catalog_name, table_namespace, table_name))`);
    raw.exec(`CREATE TABLE iceberg_namespace_properties (
      catalog_name VARCHAR(255) NOT NULL, namespace VARCHAR(255) NOT NULL, property_key VARCHAR(255) NOT NULL,
      property_value VARCHAR(1000) NOT NULL, PRIMARY KEY (catalog_name, namespace, property_key))`);
    const md = newTableMetadata({ location: join(dir, 'py-wh', 'default', 'taxis'), schema: CONFORMANCE_SCHEMA });
    const mdLoc = join(dir, 'py-wh', 'default', 'taxis', 'metadata', '00000-0b2dbb3a-bb3f-4f72-9b1d-3a4a9f3e9c11.metadata.json');
    await writeTableMetadataFile(new LocalFileIO(), mdLoc, md);
    raw.prepare("INSERT INTO iceberg_namespace_properties VALUES ('default', 'default', 'exists', 'true')").run();
    raw.prepare("INSERT INTO iceberg_tables VALUES ('default', 'default', 'taxis', ?, NULL)").run(mdLoc);
    raw.close();

    const cat = new SqlCatalog({ name: 'default', uri: `sqlite:///${path}`, warehouse: join(dir, 'py-wh') });
    assert.deepEqual(await cat.listTables(['default']), [{ namespace: ['default'], name: 'taxis' }]);
    const t = await cat.loadTable({ namespace: ['default'], name: 'taxis' });
    assert.equal(t.metadata['table-uuid'], md['table-uuid']);
    const t1 = await cat.commitTable({ namespace: ['default'], name: 'taxis' }, [], [{ action: 'set-properties', updates: { x: 'y' } }]);
    assert.match(t1.metadataLocation, /\/taxis\/metadata\/00001-/);
    await cat.createTable({ namespace: ['default'], name: 'new_one' }, { schema: CONFORMANCE_SCHEMA });
    await cat.close();

    const check = new Database(path, { readonly: true });
    try {
      assert.ok(!columns(check, 'iceberg_tables').some((c) => c.name === 'iceberg_type'), 'schema left as PyIceberg made it');
      assert.deepEqual(check.prepare('SELECT table_name FROM iceberg_tables ORDER BY table_name').all(), [{ table_name: 'new_one' }, { table_name: 'taxis' }]);
    } finally {
      check.close();
    }
  });

  it('ignores Java view rows for table operations but keeps their names taken', async () => {
    const path = join(dir, 'views.db');
    const cat = new SqlCatalog({ name: 'c', uri: path, warehouse: join(dir, 'wh-views') });
    const raw = new Database(path);
    raw.prepare("INSERT INTO iceberg_tables VALUES ('c', 'vs', 'v', '/nowhere/v.metadata.json', NULL, 'VIEW')").run();
    raw.close();
    assert.equal(await cat.namespaceExists(['vs']), true, 'a namespace holding only a view exists');
    assert.deepEqual(await cat.listTables(['vs']), []);
    assert.equal(await cat.tableExists({ namespace: ['vs'], name: 'v' }), false);
    await assert.rejects(cat.loadTable({ namespace: ['vs'], name: 'v' }), NoSuchTableError);
    await assert.rejects(cat.createTable({ namespace: ['vs'], name: 'v' }, { schema: CONFORMANCE_SCHEMA }), AlreadyExistsError);
    await assert.rejects(cat.dropTable({ namespace: ['vs'], name: 'v' }), NoSuchTableError);
    await cat.close();
  });
});
