/**
 * Interop of the format v3 tables floe writes, with an independent reader (`icebird`, see
 * `icebird.test.ts` for how it is served): a v3 table after appends (row lineage in the metadata,
 * the manifest lists and the manifests), after upserts (equality delete files in v3 delete
 * manifests), and after a compaction that applied them and wrote each row's `_row_id` /
 * `_last_updated_sequence_number` into the new file under their reserved field ids, reads the same
 * in icebird as in `floe query`, and as the rows written. The lineage columns are not table
 * columns: a reader that maps columns by the table schema does not return them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative, sep } from 'node:path';
import { after, before, test } from 'node:test';
import { icebergRead } from 'icebird';
import type { Catalog } from '../../src/catalog/catalog.js';
import { openCatalog } from '../../src/catalog/open.js';
import { batchFromRows } from '../../src/data/column-batch.js';
import { compactTable } from '../../src/maintenance/compact.js';
import type { Schema } from '../../src/iceberg/types.js';
import { Table } from '../../src/table/table.js';
import { writeDataFiles } from '../../src/table/write.js';
import { cliJson } from '../cli/helpers.js';
import { serve, withWarehouseFetch, type Served } from './warehouse-server.js';

const SCHEMA: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'v', required: false, type: 'string' },
  ],
};
const ID = { namespace: ['db'], name: 'v3' };

let dir: string;
let warehouse: string;
let catalog: Catalog;
let served: Served;
let table: Table;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'floe-icebird-v3-'));
  warehouse = join(dir, 'wh');
  catalog = await openCatalog({ warehouse });
  await catalog.createNamespace(['db']);
  await catalog.createTable(ID, { schema: SCHEMA, formatVersion: 3 });
  table = await Table.load(catalog, ID);
  served = await serve(warehouse);
});

after(async () => {
  await new Promise<void>((ok) => (served ? served.server.close(() => ok()) : ok()));
  await catalog?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function icebirdRows(): Promise<string[]> {
  await table.refresh();
  const tableUrl = `${served.base}/${relative(warehouse, table.location).split(sep).join('/')}`;
  const rows = await withWarehouseFetch(warehouse, served, () => icebergRead({ tableUrl, metadataFileName: basename(table.metadataLocation) }));
  return rows.map((r) => `${String(r.id)}=${String(r.v)}|${Object.keys(r).sort().join(',')}`).sort();
}

async function floeRows(): Promise<string[]> {
  const rows = await cliJson(['query', '--warehouse', warehouse, 'SELECT * FROM db.v3']);
  return rows.map((r) => `${String(r.id)}=${String(r.v)}|${Object.keys(r).sort().join(',')}`).sort();
}

const expect = (state: Record<number, string>) => Object.entries(state).map(([id, v]) => `${id}=${v}|id,v`).sort();

test('v3 table: appends, upserts and a lineage-preserving compaction read the same in icebird and floe query', async () => {
  const state: Record<number, string> = {};
  for (const from of [0, 10]) {
    const rows = Array.from({ length: 10 }, (_, i) => [BigInt(from + i), `a${from + i}`]);
    const w = await writeDataFiles(table.io, table.metadata, batchFromRows(table.schema(), rows));
    await table.newAppend().appendFiles(w.files, w.specId).commit();
    for (let i = from; i < from + 10; i++) state[i] = `a${i}`;
  }
  await table.refresh();
  assert.equal(table.metadata['format-version'], 3);
  assert.equal(table.metadata['next-row-id'], 20n);
  assert.deepEqual(await icebirdRows(), expect(state));
  assert.deepEqual(await floeRows(), expect(state));

  // Upserts: equality deletes in v3 delete manifests.
  await table.upsert([{ id: 3n, v: 'b3' }, { id: 15n, v: 'b15' }], { key: ['id'], deletes: [{ id: 7n }] });
  state[3] = 'b3';
  state[15] = 'b15';
  delete state[7];
  assert.deepEqual(await floeRows(), expect(state));
  assert.deepEqual(await icebirdRows(), expect(state), 'icebird applies the equality deletes');

  // Compaction: one file holding the lineage columns, the delete files gone.
  const r = await compactTable(table, { minInputFiles: 2 });
  assert.ok(r.snapshotId !== undefined, 'compacted');
  assert.deepEqual(await floeRows(), expect(state));
  assert.deepEqual(await icebirdRows(), expect(state), 'icebird reads the compacted file without the lineage columns');
});
