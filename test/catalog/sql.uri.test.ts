/** Catalog URIs and default table locations. */
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { ValidationError } from '../../src/errors.js';
import { sqlitePathFromUri } from '../../src/catalog/sql/db.js';
import { childNamespacePattern, namespaceToString, stringToNamespace } from '../../src/catalog/sql/schema.js';
import { openSqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { defaultTableLocation } from '../../src/catalog/warehouse.js';

describe('sqlitePathFromUri', () => {
  it('understands plain paths, file:, SQLAlchemy and JDBC forms', () => {
    assert.equal(sqlitePathFromUri('/var/floe/catalog.db'), '/var/floe/catalog.db');
    assert.equal(sqlitePathFromUri(':memory:'), ':memory:');
    assert.equal(sqlitePathFromUri('file:///var/floe/c.db'), '/var/floe/c.db');
    assert.equal(sqlitePathFromUri('file:/var/floe/c.db'), '/var/floe/c.db');
    assert.equal(sqlitePathFromUri('sqlite:////tmp/warehouse/pyiceberg_catalog.db'), '/tmp/warehouse/pyiceberg_catalog.db');
    assert.equal(sqlitePathFromUri('sqlite:///pyiceberg_catalog.db'), 'pyiceberg_catalog.db');
    assert.equal(sqlitePathFromUri('sqlite+pysqlite:////tmp/c.db'), '/tmp/c.db');
    assert.equal(sqlitePathFromUri('sqlite://'), ':memory:');
    assert.equal(sqlitePathFromUri('sqlite:///:memory:'), ':memory:');
    assert.equal(sqlitePathFromUri('jdbc:sqlite:/tmp/c.db'), '/tmp/c.db');
    assert.equal(sqlitePathFromUri('jdbc:sqlite:file:/tmp/c.db'), '/tmp/c.db');
    assert.equal(sqlitePathFromUri('jdbc:sqlite::memory:'), ':memory:');
  });

  it('rejects what is not SQLite', () => {
    for (const bad of ['', 'jdbc:postgresql://h/db', 'postgresql://h/db', 'sqlite:relative.db']) {
      assert.throws(() => sqlitePathFromUri(bad), ValidationError, bad);
    }
  });
});

describe('namespace strings', () => {
  it('joins levels with dots and escapes LIKE patterns', () => {
    assert.equal(namespaceToString(['a', 'b_c']), 'a.b_c');
    assert.deepEqual(stringToNamespace('a.b_c'), ['a', 'b_c']);
    assert.equal(childNamespacePattern('a_b%c!'), 'a!_b!%c!!.%');
  });
});

describe('defaultTableLocation', () => {
  it('is <warehouse>/<namespace>/<table>, or under the namespace location', () => {
    assert.equal(defaultTableLocation('s3://bucket/wh/', ['db'], 'events'), 's3://bucket/wh/db/events');
    assert.equal(defaultTableLocation('/wh', ['a', 'b'], 't'), '/wh/a.b/t');
    assert.equal(defaultTableLocation('/wh', ['db'], 't', { location: 's3://other/db/' }), 's3://other/db/t');
    assert.throws(() => defaultTableLocation('', ['db'], 't'), ValidationError);
  });
});

describe('openSqlCatalog', () => {
  it("opens an in-memory catalog named 'floe' with an absolute warehouse", async () => {
    const cat = openSqlCatalog(':memory:', { warehouse: 'relative-wh/' });
    assert.equal(cat.name, 'floe');
    assert.equal(cat.warehouse, resolve('relative-wh'));
    await cat.close();
  });
});
