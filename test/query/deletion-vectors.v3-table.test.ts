/**
 * Deletion vectors end to end on a format v3 table: vectors written as Puffin (as Iceberg Java
 * lays them out, two in one file), committed by a row delta, listed in a v3 delete manifest, and
 * read back through the query engine (planning from the real manifests, the vector applied to
 * its data file only); then one vector replaced by a merged one in the same commit that removes
 * it, the other one (same Puffin file) still applied; and a partitioned table, where a vector
 * applies only in its data file's partition.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { snapshotForRef } from '../../src/iceberg/snapshot.js';
import { BY_DAY, rows, sortedRows, withTable } from '../maintenance/helpers.js';
import { appendFiles, deletionVectors } from '../maintenance/v3-helpers.js';



/** `all` (rows as `sortedRows` prints them: event id first) without the rows of the given numbers. */
function expectedRows(all: string[], deleted: number[]): string[] {
  const gone = new Set(deleted.map((i) => `${String(rows(i, 1)[0]![0])}|`));
  const out = all.filter((r) => ![...gone].some((prefix) => r.startsWith(prefix)));
  assert.equal(out.length, all.length - deleted.length, 'every deleted row was in the table');
  return out;
}

test('v3: deletion vectors committed by a row delta are applied by the query engine, and a replaced vector is merged', async () => {
  await withTable(
    async ({ table, catalog }) => {
      const [a] = await appendFiles(table, 0, 40);
      const [b] = await appendFiles(table, 40, 30);
      assert.ok(a && b);
      const before = await sortedRows(catalog);
      assert.equal(before.length, 70);

      // Positions are row numbers in each file (the writer keeps the rows' order).
      const [dvA, dvB] = await deletionVectors(table, [
        [a, [0, 1, 39]],
        [b, [5]],
      ]);
      await table.refresh();
      await table.newRowDelta().addDeletes(dvA!).addDeletes(dvB!).commit();
      const summary = snapshotForRef(table.metadata, 'main')!.summary;
      assert.equal(summary['added-dvs'], '2');
      assert.equal(summary['added-position-deletes'], '4');
      const once = await sortedRows(catalog);
      assert.equal(once.length, 66);
      assert.deepEqual(once, expectedRows(before, [0, 1, 39, 45]));

      // A second delete for file a: the vector is replaced by the merged one in one commit.
      const [merged] = await deletionVectors(table, [[a, [0, 1, 2, 39]]]);
      await table.refresh();
      await table.newRowDelta().removeDeletes(dvA!).addDeletes(merged!).commit();
      const twice = await sortedRows(catalog);
      assert.deepEqual(twice, expectedRows(before, [0, 1, 2, 39, 45]), 'a merged, b (same Puffin file as the removed vector) still applied');
    },
    { formatVersion: 3 },
  );
});

test('v3: a deletion vector applies only to its data file, in its partition', async () => {
  await withTable(
    async ({ table, catalog }) => {
      // 144 rows over two days: one data file per day.
      const files = await appendFiles(table, 0, 144);
      assert.equal(files.length, 2);
      const before = await sortedRows(catalog);
      const [day0, day1] = files;
      const [dv] = await deletionVectors(table, [[day1!, [0, 3]]]);
      await table.refresh();
      await table.newRowDelta().addDeletes(dv!, 0).commit();
      const after = await sortedRows(catalog);
      assert.equal(after.length, 142);
      // Rows 0 and 3 of day 1's file are rows 72 and 75 of the stream; day 0 keeps all its rows.
      assert.deepEqual(after, expectedRows(before, [72, 75]));
      assert.ok(day0);
    },
    { formatVersion: 3, spec: BY_DAY },
  );
});
