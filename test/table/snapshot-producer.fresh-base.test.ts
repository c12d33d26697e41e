import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { batchFromRows } from '../../src/data/column-batch.js';
import type { Schema } from '../../src/iceberg/types.js';
import { Table } from '../../src/table/table.js';
import { writeDataFiles } from '../../src/table/write.js';

// `CommitOptions.freshBase` (workers of one `source.application`): the commit reloads the table
// before its first attempt, so a writer whose metadata another writer moved past does not send a
// commit bound to fail (a manifest list written for nothing, a refused request, a backoff wait).

const SCHEMA: Schema = { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'id', required: true, type: 'string' }] };
const ID = { namespace: ['db'], name: 't' };

/** A catalog whose commit requests are counted (what reaches the catalog, refused or not). */
async function withCatalog(fn: (catalog: SqlCatalog, requests: () => number) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'floe-fresh-base-'));
  const catalog = new SqlCatalog({ name: 'test', uri: join(dir, 'catalog.db'), warehouse: join(dir, 'wh') });
  let requests = 0;
  const commit = catalog.commitTable.bind(catalog);
  catalog.commitTable = (...args: Parameters<SqlCatalog['commitTable']>) => {
    requests++;
    return commit(...args);
  };
  try {
    await catalog.createNamespace(['db']);
    await catalog.createTable(ID, { schema: SCHEMA });
    await fn(catalog, () => requests);
  } finally {
    await catalog.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function append(table: Table, ids: string[], freshBase: boolean) {
  const { files, specId } = await writeDataFiles(table.io, table.metadata, batchFromRows(table.schema(), ids.map((id) => [id])));
  return table.newAppend({ freshBase, summary: { 'floe.checkpoint.s.p': ids.at(-1)! } }).appendFiles(files, specId).commit();
}

test('freshBase: a writer whose metadata is stale commits at the first attempt, on the other writer\'s snapshot', async () => {
  await withCatalog(async (catalog, requests) => {
    const a = await Table.load(catalog, ID);
    const b = await Table.load(catalog, ID);
    const ra = await append(a, ['a1', 'a2'], true);
    const before = requests();
    const rb = await append(b, ['b1'], true); // b still holds the table as it was before a's commit
    assert.equal(rb.attempts, 1);
    assert.equal(requests() - before, 1, 'one commit request: none refused');
    assert.equal(rb.snapshot['parent-snapshot-id'], ra.snapshot['snapshot-id']);
    assert.equal(rb.snapshot.summary['total-records'], '3');
    const now = await Table.load(catalog, ID);
    assert.equal(now.metadata['current-snapshot-id'], rb.snapshot['snapshot-id']);
  });
});

test('without freshBase the same stale writer sends a commit that is refused, then retries (the cost freshBase saves)', async () => {
  await withCatalog(async (catalog, requests) => {
    const a = await Table.load(catalog, ID);
    const b = await Table.load(catalog, ID);
    await append(a, ['a1', 'a2'], false);
    const before = requests();
    const rb = await append(b, ['b1'], false);
    assert.equal(rb.attempts, 2);
    assert.equal(requests() - before, 2, 'the first request was refused (stale base)');
    assert.equal(rb.snapshot.summary['total-records'], '3');
  });
});

test('freshBase on a table nobody else moved: one request, the same snapshot chain', async () => {
  await withCatalog(async (catalog, requests) => {
    const a = await Table.load(catalog, ID);
    const r1 = await append(a, ['x1'], true);
    const r2 = await append(a, ['x2'], true);
    assert.equal(r2.attempts, 1);
    assert.equal(requests(), 2);
    assert.equal(r2.snapshot['parent-snapshot-id'], r1.snapshot['snapshot-id']);
  });
});
