/**
 * End to end on S3: the embedded catalog with an `s3://` warehouse on a real s3rver, configured
 * only through the environment (AWS_ENDPOINT_URL_S3, credentials), as a user would. Tables are
 * created and appended to with the Table API (data files written locally, then uploaded), and
 * read back through the query engine and `floe query`, which read the files through the local
 * cache of the S3 FileIO.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { batchFromRows } from '../../src/data/column-batch.js';
import type { Schema } from '../../src/iceberg/types.js';
import { defaultS3CacheDir } from '../../src/io/s3-cache.js';
import { LazyS3FileIO } from '../../src/io/s3-lazy.js';
import { fileIOFor } from '../../src/io/resolve.js';
import { QueryEngine } from '../../src/query/engine.js';
import { Table } from '../../src/table/table.js';
import { writeDataFiles } from '../../src/table/write.js';
import { cliJson } from '../cli/helpers.js';
import { S3RVER_CREDENTIALS, startS3rver, type S3rver } from './s3rver.js';

const SCHEMA: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', type: 'long', required: true },
    { id: 2, name: 'name', type: 'string', required: false },
    { id: 3, name: 'price', type: 'double', required: false },
  ],
};

let server: S3rver;
let dir: string;
const saved: Record<string, string | undefined> = {};
const ENV_KEYS = ['AWS_ENDPOINT_URL_S3', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION'];

before(async () => {
  server = await startS3rver(['lake']);
  dir = await mkdtemp(join(tmpdir(), 'floe-s3-e2e-'));
  for (const k of ENV_KEYS) saved[k] = process.env[k];
  // Before the first S3 call: the process-wide S3 FileIO reads the environment once.
  process.env.AWS_ENDPOINT_URL_S3 = server.endpoint;
  process.env.AWS_ACCESS_KEY_ID = S3RVER_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = S3RVER_CREDENTIALS.secretAccessKey;
  process.env.AWS_REGION = 'us-east-1';
});

after(async () => {
  const io = fileIOFor('s3://lake/x');
  if (io instanceof LazyS3FileIO) await io.close();
  for (const k of ENV_KEYS) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

it('creates, appends to and queries a table stored on S3', async () => {
  const dbPath = join(dir, 'catalog.db');
  const catalog = new SqlCatalog({ name: 'floe', uri: dbPath, warehouse: 's3://lake/warehouse' });
  try {
    await catalog.createNamespace(['shop']);
    const created = await catalog.createTable({ namespace: ['shop'], name: 'orders' }, { schema: SCHEMA });
    assert.equal(created.metadata.location, 's3://lake/warehouse/shop/orders');
    assert.match(created.metadataLocation, /^s3:\/\/lake\/warehouse\/shop\/orders\/metadata\/00000-.*\.metadata\.json$/);

    const table = await Table.load(catalog, { namespace: ['shop'], name: 'orders' });
    for (const rows of [
      [
        [1n, 'apple', 1.5],
        [2n, 'pear', 2.25],
      ],
      [[3n, 'plum', null]],
    ]) {
      await table.refresh();
      const { files, specId } = await writeDataFiles(table.io, table.metadata, batchFromRows(table.schema(), rows));
      assert.ok(files.every((f) => f.file_path.startsWith('s3://lake/warehouse/shop/orders/data/')), 'data files on S3');
      await table.newAppend().appendFiles(files, specId).commit();
    }

    // Everything the table consists of is in the bucket.
    const io = fileIOFor('s3://lake/warehouse');
    const stored: string[] = [];
    for await (const f of io.list('s3://lake/warehouse/shop/orders/')) stored.push(f.location.slice('s3://lake/warehouse/shop/orders/'.length));
    assert.equal(stored.filter((p) => p.startsWith('data/') && p.endsWith('.parquet')).length, 2);
    assert.equal(stored.filter((p) => /^metadata\/\d{5}-.*\.metadata\.json$/.test(p)).length, 3);
    assert.equal(stored.filter((p) => /^metadata\/snap-.*\.avro$/.test(p)).length, 2);

    const engine = await QueryEngine.open({ catalog });
    try {
      const r = await engine.query('SELECT id, name, price FROM shop.orders ORDER BY id');
      assert.deepEqual(r.rows, [
        [1n, 'apple', 1.5],
        [2n, 'pear', 2.25],
        [3n, 'plum', null],
      ]);
    } finally {
      engine.close();
    }

    // DuckDB read the data files through the local cache.
    const loaded = await catalog.loadTable({ namespace: ['shop'], name: 'orders' });
    const cached = await readdir(defaultS3CacheDir());
    const dataFiles = stored.filter((p) => p.startsWith('data/')).map((p) => p.slice('data/'.length));
    for (const f of dataFiles) assert.ok(cached.some((c) => c.endsWith(`-${f}`)), `${f} is in the local cache`);
    assert.ok(loaded.metadataLocation.startsWith('s3://lake/'));
  } finally {
    await catalog.close();
  }

  // The same through the CLI.
  const rows = await cliJson(['query', '--catalog', dbPath, 'SELECT count(*) AS n, sum(price) AS total FROM shop.orders']);
  assert.deepEqual(rows, [{ n: 3, total: 3.75 }]);
});
