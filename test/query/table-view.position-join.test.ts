/**
 * Position deletes read as one anti-join over all the files (`scanToSql` when every delete is a
 * position delete: an upsert table after `maintenance.convert_deletes`) against the reference
 * form, one anti-join per data file (`perFileDeletes`), and against the rows the test expects:
 * a position delete applies only to a data file of its own partition with a data sequence number
 * not above its own (a file named before it was committed keeps its rows; so does a file of
 * another partition that a malformed delete file names). With equality deletes as well, the
 * positions are one more anti-join of the equality deletes' joined form (no NOT EXISTS per file).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { batchFromRows } from '../../src/data/column-batch.js';
import { toDataFile } from '../../src/data/data-file.js';
import { writeParquetFile } from '../../src/data/parquet-writer.js';
import { DuckDB } from '../../src/duckdb/instance.js';
import { FileContent, type DataFile } from '../../src/iceberg/manifest-types.js';
import type { IcebergValue, Schema } from '../../src/iceberg/types.js';
import { planTableScan } from '../../src/query/table-scan.js';
import { scanToSql } from '../../src/query/table-view.js';
import type { Table } from '../../src/table/table.js';
import { dataLocation, writeDataFiles } from '../../src/table/write.js';
import { BY_DAY, commitDeletes, equalityDeleteFile, rows, withTable } from '../maintenance/helpers.js';

const POS_SCHEMA: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 2147483546, name: 'file_path', required: true, type: 'string' },
    { id: 2147483545, name: 'pos', required: true, type: 'long' },
  ],
};

/** A position delete file naming `(path, pos)` pairs, recorded in `partition`. */
async function positionDeletes(table: Table, named: [string, number][], partition: IcebergValue[]): Promise<DataFile> {
  const path = join(dataLocation(table.metadata), `pos-${Math.random().toString(36).slice(2)}.parquet`);
  const result = await writeParquetFile({ schema: POS_SCHEMA, rows: batchFromRows(POS_SCHEMA, named.map(([p, n]) => [p, BigInt(n)])), path });
  return { ...toDataFile(result, partition, 0, path).file, content: FileContent.POSITION_DELETES };
}

/** Writes rows `from..from+n-1` (one file per day) without committing them. */
async function dataFiles(table: Table, from: number, n: number): Promise<DataFile[]> {
  await table.refresh();
  return (await writeDataFiles(table.io, table.metadata, batchFromRows(table.schema(), rows(from, n)))).files;
}

async function read(db: DuckDB, table: Table, perFileDeletes: boolean): Promise<{ rows: string[]; sql: string }> {
  await table.refresh();
  const scan = await planTableScan(table.io, table.metadata, { ref: 'main' });
  const sql = await scanToSql({ duckdb: db, io: table.io, metadata: table.metadata, schema: scan.schema, tasks: scan.tasks, perFileDeletes });
  const out = await db.all(`SELECT event_id FROM (${sql}) AS t`);
  return { rows: out.map((r) => String(r.event_id)).sort(), sql };
}

test('position deletes: one anti-join reads what the per-file anti-joins read; sequence numbers and partitions respected', async () => {
  const db = await DuckDB.open({ threads: 1 });
  try {
    await withTable(
      async ({ table }) => {
        // Two days of rows (72 a day): files A (day 0) and B (day 1).
        const first = await dataFiles(table, 0, 144);
        await table.newAppend().appendFiles(first).commit();
        const [a, b] = first;
        assert.ok(a && b);
        // A position delete of day 0 naming rows 0 and 5 of A, and (malformed) row 0 of B, a
        // file of day 1: that one must not apply.
        await commitDeletes(table, [await positionDeletes(table, [[a.file_path, 0], [a.file_path, 5], [b.file_path, 0]], a.partition)]);
        // A delete of day 1 naming row 3 of B; one of day 2 naming row 1 of a file C not committed yet …
        await commitDeletes(table, [await positionDeletes(table, [[b.file_path, 3]], b.partition)]);
        // (and row 0 of a file E of day 2 committed before it, so the delete is read for day 2)
        const e = (await dataFiles(table, 160, 2))[0]!;
        await table.newAppend().appendFiles([e]).commit();
        const later = await dataFiles(table, 144, 10);
        const c = later[0]!;
        await commitDeletes(table, [await positionDeletes(table, [[c.file_path, 1], [e.file_path, 0]], c.partition)]);
        // … which, committed afterwards (a higher sequence number), keeps its row 1.
        await table.newAppend().appendFiles(later).commit();
        // And a delete of day 2 naming row 2 of C, committed after it: applies.
        await commitDeletes(table, [await positionDeletes(table, [[c.file_path, 2]], c.partition)]);

        const joined = await read(db, table, false);
        const perFile = await read(db, table, true);
        assert.match(joined.sql, /ANTI JOIN/, 'the joined form is used');
        assert.doesNotMatch(perFile.sql, /ANTI JOIN/);
        assert.deepEqual(joined.rows, perFile.rows);
        const id = (i: number) => String(rows(i, 1)[0]![0]);
        const expected = [...Array.from({ length: 154 }, (_, i) => i), 160, 161]
          .filter((i) => ![0, 5, 72 + 3, 144 + 2, 160].includes(i))
          .map(id)
          .sort();
        assert.deepEqual(joined.rows, expected);

        // With an equality delete too (an upsert committed since the last conversion): the
        // position deletes are one more anti-join of the equality deletes' joined form.
        await commitDeletes(table, [await equalityDeleteFile(table, [id(10), id(75)], a.partition)]);
        const mixed = await read(db, table, false);
        assert.equal(mixed.sql.match(/ANTI JOIN/g)?.length, 2, 'one for the key, one for the positions');
        assert.doesNotMatch(mixed.sql, /NOT EXISTS/);
        assert.deepEqual(mixed.rows, (await read(db, table, true)).rows);
        // Row 10 (day 0) goes; row 75 is of day 1, out of the delete's partition (and deleted anyway).
        assert.deepEqual(mixed.rows, expected.filter((x) => x !== id(10)));
      },
      { spec: BY_DAY },
    );
  } finally {
    db.close();
  }
});
