/**
 * `floe table create --format-version 3` on a local warehouse and through floe's REST catalog
 * server (on 127.0.0.1, in-process): the table is v3, appends through the REST client commit row
 * lineage (a concurrent commit forcing a retry included), and `floe query` reads the rows back.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openCatalog } from '../../src/catalog/open.js';
import { RestCatalog } from '../../src/catalog/rest/rest-catalog.js';
import { startRestCatalogServer, type RestCatalogServer } from '../../src/catalog/rest/rest-server.js';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { batchFromRows } from '../../src/data/column-batch.js';
import { Table } from '../../src/table/table.js';
import { writeDataFiles } from '../../src/table/write.js';
import { cliJson } from './helpers.js';

const SCHEMA = 'id long not null, item string';
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'floe-cli-v3-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function append(table: Table, from: number, n: number) {
  const rows = Array.from({ length: n }, (_, i) => [BigInt(from + i), `item ${from + i}`]);
  const { files, specId } = await writeDataFiles(table.io, table.metadata, batchFromRows(table.schema(), rows));
  return table.newAppend().appendFiles(files, specId).commit();
}

test('local warehouse: create --format-version 3, describe, append, query', async () => {
  const warehouse = join(dir, 'local');
  await cliJson(['table', 'create', 'db.events', '--schema', SCHEMA, '--format-version', '3', '--warehouse', warehouse]);
  const [described] = await cliJson(['table', 'describe', 'db.events', '--warehouse', warehouse]);
  assert.equal(described!['format-version'], 3);

  const catalog = await openCatalog({ warehouse });
  try {
    const table = await Table.load(catalog, { namespace: ['db'], name: 'events' });
    assert.equal(table.metadata['format-version'], 3);
    const r = await append(table, 0, 3);
    assert.equal(r.snapshot['first-row-id'], 0n);
    assert.equal(r.metadata['next-row-id'], 3n);
  } finally {
    await catalog.close();
  }
  assert.deepEqual(await cliJson(['query', '--warehouse', warehouse, 'SELECT count(*) AS n, max(id) AS hi FROM db.events']), [{ n: 3, hi: 2 }]);
});

test('REST server: create --format-version 3 through it, commits with lineage (one retried), query', async () => {
  const backing = new SqlCatalog({ name: 'floe', uri: join(dir, 'rest.db'), warehouse: join(dir, 'rest-wh') });
  let server: RestCatalogServer | undefined;
  try {
    server = await startRestCatalogServer({ catalog: backing });
    await cliJson(['table', 'create', 'shop.orders', '--schema', SCHEMA, '--format-version', '3', '--catalog', server.url]);
    const id = { namespace: ['shop'], name: 'orders' };
    assert.equal((await backing.loadTable(id)).metadata['format-version'], 3);

    const rest = new RestCatalog({ uri: server.url });
    const a = await Table.load(rest, id);
    const b = await Table.load(rest, id);
    const r1 = await append(a, 0, 4);
    const r2 = await append(b, 4, 6); // b's base is stale: a conflict, then a retry on r1
    assert.equal(r2.attempts, 2);
    assert.deepEqual(
      [r1.snapshot['first-row-id'], r1.snapshot['added-rows'], r2.snapshot['first-row-id'], r2.snapshot['added-rows']],
      [0n, 4n, 4n, 6n],
    );
    const stored = (await backing.loadTable(id)).metadata;
    assert.equal(stored['next-row-id'], 10n);
    assert.deepEqual(
      stored.snapshots.map((s) => [s['first-row-id'], s['added-rows']]),
      [
        [0n, 4n],
        [4n, 6n],
      ],
    );
    assert.deepEqual(await cliJson(['query', '--catalog', server.url, 'SELECT count(*) AS n, count(DISTINCT id) AS d FROM shop.orders']), [{ n: 10, d: 10 }]);
  } finally {
    await server?.close();
    await backing.close();
  }
});
