/**
 * Compaction of format v3 tables (spec §Row Lineage): the rows read the same afterwards, and the
 * rewritten files store each row's `_row_id` and `_last_updated_sequence_number` as the rows had
 * them (reserved field ids); a second compaction of a compacted file keeps the stored values. The
 * deletion vectors of rewritten files are removed by their identity: the vector of a file left
 * alone, in the same Puffin file, stays live and keeps deleting its row. Upserts on a v3 table
 * (equality deletes) compacted give the last state of each key.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DuckDB, sqlString } from '../../src/duckdb/instance.js';
import type { DataFile } from '../../src/iceberg/manifest-types.js';
import { snapshotForRef } from '../../src/iceberg/snapshot.js';
import { compactTable } from '../../src/maintenance/compact.js';
import { parseWhere } from '../../src/maintenance/where.js';
import { DeletionVectorTable } from '../../src/query/deletion-vectors.js';
import { planTableScan } from '../../src/query/table-scan.js';
import { scanToSql } from '../../src/query/table-view.js';
import { deleteFileKey } from '../../src/table/delete-file-rules.js';
import type { Table } from '../../src/table/table.js';
import { appendRows, commitDeletes, equalityDeleteFile, liveDataFiles, rows, sortedRows, withTable } from './helpers.js';
import { deletionVectors, lineageOf } from './v3-helpers.js';

const id = (i: number) => String(rows(i, 1)[0]![0]);

/** The table's rows with their lineage, read through the scan (`event_id → row id/sequence number`). */
async function tableLineage(db: DuckDB, table: Table): Promise<Map<string, string>> {
  await table.refresh();
  const s = await planTableScan(table.io, table.metadata, { ref: 'main' });
  const dvs = new DeletionVectorTable(db, table.io);
  try {
    return await lineageOf(db, await scanToSql({ duckdb: db, io: table.io, metadata: table.metadata, schema: s.schema, tasks: s.tasks, rowLineage: true, deletionVectors: dvs }));
  } finally {
    await dvs.drop();
  }
}

/** What a data file stores, read by DuckDB directly: `event_id → row id/sequence number`, and the columns' field ids. */
async function stored(db: DuckDB, table: Table, file: DataFile): Promise<{ lineage: Map<string, string>; ids: Map<string, number> }> {
  const local = await table.io.localPath(file.file_path);
  const lineage = await lineageOf(db, `SELECT * FROM read_parquet(${sqlString(local)})`);
  const schema = await db.all(`SELECT name, field_id FROM parquet_schema(${sqlString(local)}) WHERE field_id IS NOT NULL`);
  return { lineage, ids: new Map(schema.map((r) => [String(r.name), Number(r.field_id)])) };
}

/** The keys (`deleteFileKey`) of the live delete files of the current snapshot, as the planner attaches them. */
async function liveDeleteKeys(table: Table): Promise<Set<string>> {
  await table.refresh();
  const s = await planTableScan(table.io, table.metadata, { ref: 'main' });
  return new Set(s.tasks.flatMap((t) => t.deletes.map((d) => deleteFileKey(d.file))));
}

const only = (m: Map<string, string>, keys: Iterable<string>) => new Map([...keys].map((k) => [k, m.get(k)]));

test('v3 compaction keeps row lineage and removes the rewritten files\' vectors by identity', async () => {
  const db = await DuckDB.open({ threads: 1 });
  try {
    await withTable(
      async ({ catalog, table }) => {
        // Six commits of five rows: row ids 0..29, sequence numbers 1..6.
        for (let i = 0; i < 6; i++) await appendRows(table, i * 5, 5);
        const files = new Map((await liveDataFiles(table)).map((f) => [Number(f.first_row_id), f]));
        // An equality delete (commit 7) and one Puffin file with vectors for the second and the last file (commit 8).
        await commitDeletes(table, [await equalityDeleteFile(table, [id(7), id(21)])]);
        const [dv5, dv25] = await deletionVectors(table, [
          [files.get(5)!, [0, 2]],
          [files.get(25)!, [1]],
        ]);
        await table.refresh();
        await table.newRowDelta().addDeletes(dv5!).addDeletes(dv25!).commit();

        const rowsBefore = await sortedRows(catalog);
        assert.equal(rowsBefore.length, 30 - 4); // rows 5, 7, 21, 26
        const before = await tableLineage(db, table);
        assert.equal(before.get(id(3)), '3/1');
        assert.equal(before.get(id(29)), '29/6');

        // The files of rows 0..24 only: the last file (and its vector) is left alone.
        const r = await compactTable(table, { minInputFiles: 2, filter: parseWhere(`event_id < '${id(25)}'`, table.schema()) });
        assert.equal(r.rewrittenDataFiles, 5);
        assert.equal(r.addedDataFiles, 1);
        assert.equal(await table.refresh().then(() => table.metadata['format-version']), 3);
        assert.deepEqual(await sortedRows(catalog), rowsBefore, 'rows unchanged (the last file\'s vector still applies)');
        assert.deepEqual(await tableLineage(db, table), before, 'lineage unchanged');

        const live = await liveDataFiles(table);
        const compacted = live.find((f) => !Array.from(files.values()).some((o) => o.file_path === f.file_path))!;
        const inFile = await stored(db, table, compacted);
        assert.equal(inFile.ids.get('_row_id'), 2147483540);
        assert.equal(inFile.ids.get('_last_updated_sequence_number'), 2147483539);
        assert.equal(inFile.lineage.size, 25 - 3);
        assert.deepEqual(inFile.lineage, only(before, inFile.lineage.keys()), 'stored = the rows\' lineage before');
        // Its manifest entry got a new range; the stored ids win on read.
        assert.ok(compacted.first_row_id !== undefined && compacted.first_row_id !== null && compacted.first_row_id >= 30n);

        // The rewritten file's vector is gone; the other one of its Puffin file stays live.
        const keys = await liveDeleteKeys(table);
        assert.ok(!keys.has(deleteFileKey(dv5!)), 'vector of a rewritten file removed');
        assert.ok(keys.has(deleteFileKey(dv25!)), 'vector of the file left alone still live');
        assert.equal(snapshotForRef(table.metadata, 'main')!.summary['total-delete-files'], '2');

        // A second compaction of the compacted file (a delete makes it a candidate) with the last file.
        await commitDeletes(table, [await equalityDeleteFile(table, [id(3)])]);
        const beforeTwo = await tableLineage(db, table);
        const rowsTwo = await sortedRows(catalog);
        const r2 = await compactTable(table, { minInputFiles: 2 });
        assert.equal(r2.rewrittenDataFiles, 2);
        assert.deepEqual(await sortedRows(catalog), rowsTwo);
        assert.deepEqual(await tableLineage(db, table), beforeTwo);
        const [twice] = await liveDataFiles(table);
        const inTwice = await stored(db, table, twice!);
        assert.equal(inTwice.lineage.size, 30 - 5);
        assert.deepEqual(inTwice.lineage, beforeTwo);
        assert.equal(inTwice.lineage.get(id(0)), '0/1');
        assert.equal(inTwice.lineage.get(id(27)), '27/6');
        assert.deepEqual(await liveDeleteKeys(table), new Set(), 'every delete file applied and removed');
      },
      { formatVersion: 3 },
    );
  } finally {
    db.close();
  }
});

test('v3 upserts (equality deletes) then compaction: the last state of each key, with lineage', async () => {
  const db = await DuckDB.open({ threads: 1 });
  try {
    await withTable(
      async ({ catalog, table }) => {
        const ev = (k: number, v: string) => ({ event_id: `k${k}`, user_id: v });
        await table.upsert([ev(1, 'a'), ev(2, 'a'), ev(3, 'a')], { key: ['event_id'] });
        await table.upsert([ev(2, 'b'), ev(4, 'b')]);
        await table.upsert([ev(3, 'c'), ev(2, 'c')], { deletes: [{ event_id: 'k1' }] });
        await table.upsert([ev(5, 'd')]);
        await table.upsert([ev(4, 'e')]);
        const last = ['k2|c', 'k3|c', 'k4|e', 'k5|d'];
        const read = async () => (await sortedRows(catalog)).map((r) => r.split('|').slice(0, 2).join('|'));
        assert.deepEqual(await read(), last);
        const before = await tableLineage(db, table);
        const r = await compactTable(table, { minInputFiles: 2 });
        assert.notEqual(r.snapshotId, undefined);
        assert.ok(r.removedDeleteFiles > 0);
        assert.deepEqual(await read(), last);
        assert.deepEqual(await tableLineage(db, table), before);
        // An upsert after the compaction still replaces a compacted row.
        await table.upsert([ev(3, 'f')]);
        assert.deepEqual(await read(), ['k2|c', 'k3|f', 'k4|e', 'k5|d']);
      },
      { formatVersion: 3 },
    );
  } finally {
    db.close();
  }
});
