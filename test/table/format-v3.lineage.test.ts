/**
 * Format v3 tables written by floe: every snapshot carries row lineage (spec §Row Lineage):
 * `first-row-id` taken from the base's `next-row-id` on every attempt (a retry after a conflict
 * takes the range the winner left), `added-rows`, the manifest list's `first_row_id` on new data
 * manifests, and existing/deleted entries written into new manifests keeping their inherited
 * `first_row_id`. Rows read back through the query engine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { batchFromRows } from '../../src/data/column-batch.js';
import { readManifestList } from '../../src/iceberg/avro/manifest-list.js';
import { readManifest, inheritSequenceNumbers } from '../../src/iceberg/avro/manifest.js';
import { EntryStatus, type ManifestFile } from '../../src/iceberg/manifest-types.js';
import type { Snapshot } from '../../src/iceberg/metadata.js';
import type { Schema } from '../../src/iceberg/types.js';
import { rewriteManifests } from '../../src/maintenance/rewrite-manifests.js';
import { QueryEngine } from '../../src/query/engine.js';
import { Table } from '../../src/table/table.js';
import { writeDataFiles } from '../../src/table/write.js';

const SCHEMA: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'name', required: false, type: 'string' },
  ],
};
const ID = { namespace: ['db'], name: 'events' };

async function withCatalog(fn: (catalog: SqlCatalog) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'floe-v3-'));
  const catalog = new SqlCatalog({ name: 'test', uri: join(dir, 'catalog.db'), warehouse: join(dir, 'wh') });
  try {
    await catalog.createNamespace(['db']);
    await fn(catalog);
  } finally {
    await catalog.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function appendRows(table: Table, from: number, n: number) {
  const rows = Array.from({ length: n }, (_, i) => [BigInt(from + i), `row ${from + i}`]);
  const { files, specId } = await writeDataFiles(table.io, table.metadata, batchFromRows(table.schema(), rows));
  return table.newAppend().appendFiles(files, specId).commit();
}

async function manifestList(table: Table, snapshot: Snapshot): Promise<ManifestFile[]> {
  const list = snapshot['manifest-list']!;
  return readManifestList(await table.io.read(list), list);
}

async function queryRows(catalog: SqlCatalog): Promise<unknown[][]> {
  const engine = await QueryEngine.open({ catalog });
  try {
    const r = await engine.query('SELECT count(*) AS n, count(DISTINCT id) AS d, min(id) AS lo, max(id) AS hi FROM db.events');
    return r.rows.map((row) => row.map((v) => (typeof v === 'bigint' ? Number(v) : v)));
  } finally {
    engine.close();
  }
}

test('v3: appends assign row ids; a retried append takes the range after the concurrent commit', async () => {
  await withCatalog(async (catalog) => {
    const created = await catalog.createTable(ID, { schema: SCHEMA, formatVersion: 3 });
    assert.equal(created.metadata['format-version'], 3);
    assert.equal(created.metadata['next-row-id'], 0n);

    const stale = await Table.load(catalog, ID);
    const r1 = await appendRows(stale, 0, 10);
    assert.equal(r1.snapshot['first-row-id'], 0n);
    assert.equal(r1.snapshot['added-rows'], 10n);
    assert.equal(r1.metadata['next-row-id'], 10n);

    // Another writer commits; `stale` still holds the metadata of r1 and must retry.
    const other = await Table.load(catalog, ID);
    const r2 = await appendRows(other, 10, 5);
    assert.equal(r2.snapshot['first-row-id'], 10n);
    assert.equal(r2.snapshot['added-rows'], 5n);

    assert.equal(stale.metadata['next-row-id'], 10n, 'the stale handle has not seen r2');
    const r3 = await appendRows(stale, 15, 7);
    assert.equal(r3.attempts, 2, 'the first attempt conflicted');
    assert.equal(r3.snapshot['first-row-id'], 15n, 'reassigned from the reloaded next-row-id');
    assert.equal(r3.snapshot['added-rows'], 7n);
    assert.equal(r3.metadata['next-row-id'], 22n);
    assert.equal(r3.snapshot['parent-snapshot-id'], r2.snapshot['snapshot-id']);

    // The list: the new manifest first (first_row_id = the snapshot's), then the parent's as they were.
    const list = await manifestList(stale, r3.snapshot);
    assert.deepEqual(list.map((m) => [m.added_snapshot_id, m.first_row_id]), [
      [r3.snapshot['snapshot-id'], 15n],
      [r2.snapshot['snapshot-id'], 10n],
      [r1.snapshot['snapshot-id'], 0n],
    ]);
    // Files inherit first_row_id from their manifest: none written in the file entries.
    for (const m of list) {
      const { entries } = readManifest(await stale.io.read(m.manifest_path));
      assert.ok(entries.every((e) => e.data_file.first_row_id === undefined));
      assert.equal(inheritSequenceNumbers(entries, m)[0]!.data_file.first_row_id, m.first_row_id);
    }
    assert.deepEqual(await queryRows(catalog), [[22, 22, 0, 21]]);
  });
});

test('v3: manifest rewrite and replace write the inherited first_row_id into existing and deleted entries', async () => {
  await withCatalog(async (catalog) => {
    await catalog.createTable(ID, { schema: SCHEMA, formatVersion: 3 });
    const table = await Table.load(catalog, ID);
    const snaps = [await appendRows(table, 0, 10), await appendRows(table, 10, 5), await appendRows(table, 15, 7)];
    const pathsByFirstRowId = new Map<bigint, string>();
    for (const m of await manifestList(table, snaps[2]!.snapshot)) {
      for (const e of inheritSequenceNumbers(readManifest(await table.io.read(m.manifest_path)).entries, m)) {
        pathsByFirstRowId.set(e.data_file.first_row_id!, e.data_file.file_path);
      }
    }
    assert.deepEqual([...pathsByFirstRowId.keys()].sort(), [0n, 10n, 15n]);

    const rewritten = await rewriteManifests(table, { minManifests: 2 });
    assert.equal(rewritten.replacedManifests, 3);
    await table.refresh();
    const head = table.metadata;
    assert.equal(head['current-snapshot-id'], rewritten.snapshotId);
    const snap = head.snapshots.find((s) => s['snapshot-id'] === head['current-snapshot-id'])!;
    assert.equal(snap.summary.operation, 'replace');
    // The merged manifest is new: it gets a range (existing rows count, as the spec's example).
    assert.equal(snap['first-row-id'], 22n);
    assert.equal(snap['added-rows'], 22n);
    assert.equal(head['next-row-id'], 44n);
    const merged = await manifestList(table, snap);
    assert.equal(merged.length, 1);
    assert.equal(merged[0]!.first_row_id, 22n);
    const raw = readManifest(await table.io.read(merged[0]!.manifest_path)).entries;
    assert.equal(raw.length, 3);
    for (const e of raw) {
      assert.equal(e.status, EntryStatus.EXISTING);
      // Written explicitly: the value each file inherited before, not one from the new range.
      assert.equal(pathsByFirstRowId.get(e.data_file.first_row_id!), e.data_file.file_path);
    }
    assert.deepEqual(await queryRows(catalog), [[22, 22, 0, 21]]);

    // Replace the file that held rows 10..14 by a file with the same rows.
    const oldPath = pathsByFirstRowId.get(10n)!;
    const rows = Array.from({ length: 5 }, (_, i) => [BigInt(10 + i), `row ${10 + i}`]);
    const { files, specId } = await writeDataFiles(table.io, table.metadata, batchFromRows(table.schema(), rows));
    // A DataFile carrying a first_row_id (read back from elsewhere) must not keep it when ADDED.
    const replace = table.newReplace().deleteFile(oldPath);
    for (const f of files) replace.addFile({ ...f, first_row_id: 999n }, specId);
    const r = await replace.commit();
    assert.equal(r.snapshot['first-row-id'], 44n);
    const list = await manifestList(table, r.snapshot);
    assert.deepEqual(list.map((m) => m.first_row_id), [44n, 49n]);
    const added = readManifest(await table.io.read(list[0]!.manifest_path)).entries;
    assert.deepEqual(added.map((e) => [e.status, e.data_file.first_row_id]), [[EntryStatus.ADDED, undefined]]);
    const filtered = readManifest(await table.io.read(list[1]!.manifest_path)).entries;
    const byStatus = filtered.map((e) => [e.status, e.data_file.first_row_id]).sort((a, b) => Number(a[1]) - Number(b[1]));
    assert.deepEqual(byStatus, [
      [EntryStatus.EXISTING, 0n],
      [EntryStatus.DELETED, 10n],
      [EntryStatus.EXISTING, 15n],
    ]);
    assert.equal(r.snapshot['added-rows'], 5n + 17n, 'added rows plus the existing rows of the rewritten manifest');
    assert.equal(r.metadata['next-row-id'], 66n);
    assert.deepEqual(await queryRows(catalog), [[22, 22, 0, 21]]);
  });
});

test('v3: equality deletes (row delta) commit with lineage; delete manifests get no first_row_id', async () => {
  await withCatalog(async (catalog) => {
    await catalog.createTable(ID, { schema: { ...SCHEMA, 'identifier-field-ids': [1] }, formatVersion: 3 });
    const table = await Table.load(catalog, ID);
    await appendRows(table, 0, 4);
    const r = await table.upsert([{ id: 1n, name: 'changed' }, { id: 9n, name: 'new' }]);
    assert.ok(r);
    assert.equal(r.snapshot['first-row-id'], 4n);
    assert.equal(r.snapshot['added-rows'], 2n);
    const list = await manifestList(table, r.snapshot);
    for (const m of list) {
      if (m.content === 1) assert.equal(m.first_row_id, undefined, 'delete manifests carry no first_row_id');
      else assert.notEqual(m.first_row_id, undefined);
    }
    assert.deepEqual(await queryRows(catalog), [[5, 5, 0, 9]]);
  });
});
