/**
 * An independent client against floe's REST catalog server: the `iceberg-js` package
 * (IcebergRestCatalog) creates, lists, loads and commits, and floe's own client and Table API
 * see the same tables (and the other way round).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { IcebergError, IcebergRestCatalog } from 'iceberg-js';
import { RestCatalog } from '../../src/catalog/rest/rest-catalog.js';
import { startRestCatalogServer, type RestCatalogServer } from '../../src/catalog/rest/rest-server.js';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { batchFromRows } from '../../src/data/column-batch.js';
import { QueryEngine } from '../../src/query/engine.js';
import { Table } from '../../src/table/table.js';
import { writeDataFiles } from '../../src/table/write.js';

let dir: string;
let backing: SqlCatalog;
let server: RestCatalogServer;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'floe-rest-icebergjs-'));
  backing = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: join(dir, 'warehouse') });
  server = await startRestCatalogServer({ catalog: backing, prefix: 'floe' });
});

after(async () => {
  await server.close();
  await backing.close();
  await rm(dir, { recursive: true, force: true });
});

const SCHEMA = {
  type: 'struct' as const,
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', type: 'long', required: true },
    { id: 2, name: 'region', type: 'string', required: false },
    { id: 3, name: 'amount', type: 'double', required: false },
  ],
};

async function rejectsWith(p: Promise<unknown>, status: number, type: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof IcebergError, `expected IcebergError, got ${String(e)}`);
    assert.equal(e.status, status, e.message);
    assert.equal(e.icebergType, type, e.message);
    return true;
  });
}

it('manages namespaces through iceberg-js', async () => {
  const client = new IcebergRestCatalog({ baseUrl: server.url, warehouse: 'floe' });
  await client.createNamespace({ namespace: ['sales'] }, { properties: { owner: 'ops' } });
  await client.createNamespace({ namespace: ['sales', 'eu'] });
  await rejectsWith(client.createNamespace({ namespace: ['sales'] }), 409, 'AlreadyExistsException');

  const top = await client.listNamespaces();
  assert.ok(top.namespaces.some((n) => n.namespace.join('.') === 'sales'));
  const children = await client.listNamespaces({ parent: { namespace: ['sales'] } });
  assert.deepEqual(children.namespaces, [{ namespace: ['sales', 'eu'] }]);
  await rejectsWith(client.listNamespaces({ parent: { namespace: ['nope'] } }), 404, 'NoSuchNamespaceException');

  assert.equal(await client.namespaceExists({ namespace: ['sales', 'eu'] }), true);
  assert.equal(await client.namespaceExists({ namespace: ['nope'] }), false);
  assert.deepEqual((await client.loadNamespaceMetadata({ namespace: ['sales'] })).properties, { owner: 'ops' });
  const updated = await client.updateNamespaceProperties({ namespace: ['sales'] }, { removals: ['owner', 'ghost'], updates: { tier: 'gold' } });
  assert.deepEqual(updated, { updated: ['tier'], removed: ['owner'], missing: ['ghost'] });
  assert.deepEqual(await backing.loadNamespaceProperties(['sales']), { tier: 'gold' });

  await client.dropNamespace({ namespace: ['sales', 'eu'] });
  assert.equal(await backing.namespaceExists(['sales', 'eu']), false);
});

it('creates, loads, commits, renames and drops tables through iceberg-js', async () => {
  const client = new IcebergRestCatalog({ baseUrl: server.url, warehouse: 'floe' });
  await client.createNamespace({ namespace: ['shop'] });
  const created = await client.createTable(
    { namespace: ['shop'] },
    {
      name: 'orders',
      schema: SCHEMA,
      'partition-spec': { 'spec-id': 0, fields: [{ 'source-id': 2, 'field-id': 1000, name: 'region', transform: 'identity' }] },
      'write-order': { 'order-id': 1, fields: [{ 'source-id': 1, transform: 'identity', direction: 'asc', 'null-order': 'nulls-first' }] },
      properties: { 'write.format.default': 'parquet' },
    },
  );
  assert.equal(created['format-version'], 2);
  assert.equal(created.location, join(dir, 'warehouse', 'shop', 'orders'));
  await rejectsWith(client.createTable({ namespace: ['shop'] }, { name: 'orders', schema: SCHEMA }), 409, 'AlreadyExistsException');
  await rejectsWith(client.createTable({ namespace: ['nope'] }, { name: 'x', schema: SCHEMA }), 404, 'NoSuchNamespaceException');

  const id = { namespace: ['shop'], name: 'orders' };
  const first = await client.loadTableResult(id);
  assert.ok(first?.etag, 'load answers with an ETag');
  assert.equal(await client.loadTable(id, { ifNoneMatch: first.etag! }), null, '304 when unchanged');
  assert.equal(await client.tableExists(id), true);
  assert.equal(await client.tableExists({ namespace: ['shop'], name: 'nope' }), false);

  const committed = await client.commitTable(id, {
    requirements: [{ type: 'assert-table-uuid', uuid: created['table-uuid'] }],
    updates: [
      { action: 'set-properties', updates: { owner: 'iceberg-js' } },
      {
        action: 'add-schema',
        schema: { type: 'struct', 'schema-id': 1, fields: [...SCHEMA.fields, { id: 4, name: 'note', type: 'string', required: false }] },
      },
      { action: 'set-current-schema', 'schema-id': -1 },
    ],
  });
  assert.equal(committed.metadata.properties?.owner, 'iceberg-js');
  assert.equal(committed.metadata['current-schema-id'], 1);
  assert.notEqual(committed['metadata-location'], first['metadata-location']);
  // The etag moved with the metadata.
  assert.ok((await client.loadTable(id, { ifNoneMatch: first.etag! })) !== null);
  await rejectsWith(
    client.commitTable(id, { requirements: [{ type: 'assert-current-schema-id', 'current-schema-id': 0 }], updates: [{ action: 'set-properties', updates: { a: 'b' } }] }),
    409,
    'CommitFailedException',
  );

  // floe sees what iceberg-js did.
  const floe = new RestCatalog({ uri: server.url, warehouse: 'floe' });
  const seen = await floe.loadTable(id);
  assert.equal(seen.metadata.properties.owner, 'iceberg-js');
  assert.deepEqual(
    seen.metadata.schemas.find((s) => s['schema-id'] === 1)?.fields.map((f) => f.name),
    ['id', 'region', 'amount', 'note'],
  );

  const listed = await client.listTables({ namespace: ['shop'] });
  assert.deepEqual(listed.identifiers, [id]);
  await client.renameTable({ source: id, destination: { namespace: ['shop'], name: 'orders_v2' } });
  assert.equal(await floe.tableExists(id), false);
  const registered = await client.registerTable({ namespace: ['shop'] }, { name: 'orders_copy', 'metadata-location': committed['metadata-location'] });
  assert.equal(registered['table-uuid'], created['table-uuid']);
  await client.dropTable({ namespace: ['shop'], name: 'orders_copy' });
  await client.dropTable({ namespace: ['shop'], name: 'orders_v2' }, { purge: true });
  await rejectsWith(client.loadTable({ namespace: ['shop'], name: 'orders_v2' }), 404, 'NoSuchTableException');
  assert.deepEqual((await client.listTables({ namespace: ['shop'] })).identifiers, []);
});

it('reads data floe appended through the REST catalog', async () => {
  const client = new IcebergRestCatalog({ baseUrl: server.url, warehouse: 'floe' });
  await client.createNamespace({ namespace: ['lake'] });
  await client.createTable({ namespace: ['lake'] }, { name: 'events', schema: SCHEMA });

  const floe = new RestCatalog({ uri: server.url, warehouse: 'floe' });
  const table = await Table.load(floe, { namespace: ['lake'], name: 'events' });
  const { files, specId } = await writeDataFiles(
    table.io,
    table.metadata,
    batchFromRows(table.schema(), [
      [1n, 'eu', 10.5],
      [2n, 'us', 20],
    ]),
  );
  await table.newAppend({ summary: { 'floe.test': 'rest' } }).appendFiles(files, specId).commit();

  const md = await client.loadTable({ namespace: ['lake'], name: 'events' });
  const current = md.snapshots?.find((s) => s['snapshot-id'] === md['current-snapshot-id']);
  assert.equal(current?.summary.operation, 'append');
  assert.equal(current?.summary['floe.test'], 'rest');
  assert.equal(current?.summary['added-records'], '2');

  const engine = await QueryEngine.open({ catalog: floe });
  try {
    const r = await engine.query('SELECT sum(amount) AS total FROM lake.events');
    assert.deepEqual(r.rows, [[30.5]]);
  } finally {
    engine.close();
  }
});
