/**
 * Tables on S3 through the REST catalog: the server hands storage settings to clients with each
 * table (`tableConfig`: endpoint, path style, vended credentials), and the client's table FileIO
 * uses them, so a client with no S3 configuration of its own reads and writes the table on a real
 * s3rver. Also the precedence of `storage-credentials` over `config`.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { RestCatalog } from '../../src/catalog/rest/rest-catalog.js';
import { effectiveTableConfig, tableFileIO } from '../../src/catalog/rest/rest-fileio.js';
import { startRestCatalogServer, type RestCatalogServer } from '../../src/catalog/rest/rest-server.js';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { batchFromRows } from '../../src/data/column-batch.js';
import { fileIOFor } from '../../src/io/resolve.js';
import { LazyS3FileIO } from '../../src/io/s3-lazy.js';
import type { S3FileIO } from '../../src/io/s3.js';
import { QueryEngine } from '../../src/query/engine.js';
import { Table } from '../../src/table/table.js';
import { writeDataFiles } from '../../src/table/write.js';
import { S3RVER_CREDENTIALS, startS3rver, testS3FileIO, type S3rver } from '../io/s3rver.js';

let s3: S3rver;
let serverIO: S3FileIO;
let dir: string;
let backing: SqlCatalog;
let server: RestCatalogServer;

before(async () => {
  s3 = await startS3rver(['lake']);
  serverIO = testS3FileIO(s3.endpoint);
  dir = await mkdtemp(join(tmpdir(), 'floe-rest-storage-'));
  // The server side reaches s3rver through its own FileIO; the client only through what it is told.
  backing = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: 's3://lake/wh', io: serverIO });
  server = await startRestCatalogServer({
    catalog: backing,
    tableConfig: {
      's3.endpoint': s3.endpoint,
      's3.path-style-access': 'true',
      'client.region': 'us-east-1',
      's3.access-key-id': S3RVER_CREDENTIALS.accessKeyId,
      's3.secret-access-key': S3RVER_CREDENTIALS.secretAccessKey,
    },
  });
});

after(async () => {
  await server.close();
  await backing.close();
  serverIO.close();
  await s3.close();
  await rm(dir, { recursive: true, force: true });
});

it('writes and reads a table on S3 with the storage settings the server vends', async () => {
  const rest = new RestCatalog({ uri: server.url });
  await rest.createNamespace(['db']);
  const created = await rest.createTable(
    { namespace: ['db'], name: 'events' },
    {
      schema: {
        type: 'struct',
        'schema-id': 0,
        fields: [
          { id: 1, name: 'id', type: 'long', required: true },
          { id: 2, name: 'kind', type: 'string', required: false },
        ],
      },
    },
  );
  assert.match(created.metadataLocation, /^s3:\/\/lake\/wh\/db\/events\/metadata\//);
  assert.ok(created.io instanceof LazyS3FileIO);
  assert.notEqual(created.io, fileIOFor('s3://lake/wh'), 'not the environment-configured S3 FileIO');
  assert.ok(await created.io.exists(created.metadataLocation));

  const table = await Table.load(rest, { namespace: ['db'], name: 'events' });
  const { files, specId } = await writeDataFiles(table.io, table.metadata, batchFromRows(table.schema(), [[7n, 'click'], [8n, 'view']]));
  await table.newAppend().appendFiles(files, specId).commit();
  assert.ok(await serverIO.exists(files[0]!.file_path), 'the data file landed in s3rver');

  const engine = await QueryEngine.open({ catalog: rest });
  try {
    assert.deepEqual((await engine.query('SELECT id, kind FROM db.events ORDER BY id')).rows, [
      [7n, 'click'],
      [8n, 'view'],
    ]);
  } finally {
    engine.close();
  }
});

it('prefers the longest matching storage-credentials prefix over the table config', () => {
  const config = { 's3.access-key-id': 'from-config', 's3.secret-access-key': 'x', 'client.region': 'eu-west-1' };
  const creds = [
    { prefix: 's3://lake/', config: { 's3.access-key-id': 'bucket-wide', 's3.secret-access-key': 'y' } },
    { prefix: 's3://lake/wh/db/', config: { 's3.access-key-id': 'db-scoped', 's3.secret-access-key': 'z' } },
    { prefix: 's3://other/', config: { 's3.access-key-id': 'elsewhere', 's3.secret-access-key': 'w' } },
  ];
  const eff = effectiveTableConfig('s3://lake/wh/db/t', config, creds);
  assert.equal(eff['s3.access-key-id'], 'db-scoped');
  assert.equal(eff['client.region'], 'eu-west-1');
  assert.deepEqual(effectiveTableConfig('s3://nowhere/t', config, creds), config);
  assert.throws(() => effectiveTableConfig('s3://x/t', config, { not: 'a list' }), /must be a list/);
  // Identical settings share one FileIO; local tables ignore S3 settings.
  assert.equal(tableFileIO('s3://lake/a', eff), tableFileIO('s3a://lake/b', eff));
  assert.equal(tableFileIO('/tmp/t', eff), fileIOFor('/tmp/t'));
  assert.throws(() => tableFileIO('s3://lake/a', { 's3.access-key-id': 'only-half' }), /only one of s3\.access-key-id/);
});
