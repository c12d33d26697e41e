/**
 * Deletion vectors (v3) in the SQL of a scan: a vector's positions are removed from its data
 * file and from no other, in each form `scanToSql` builds (one data file with deletes: the
 * per-file form; several: the joined position anti-join; with equality deletes: the joined key
 * form), beside Parquet position delete files of other data files; several vectors share one
 * Puffin file as Iceberg Java writes them. A vector that contradicts its manifest entry or its
 * data file, or is corrupt, fails the scan naming the Puffin file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { batchFromRows } from '../../src/data/column-batch.js';
import { DuckDB } from '../../src/duckdb/instance.js';
import type { DataFile } from '../../src/iceberg/manifest-types.js';
import type { FileScanTask } from '../../src/iceberg/scan.js';
import { DeletionVectorTable } from '../../src/query/deletion-vectors.js';
import { scanToSql } from '../../src/query/table-view.js';
import type { Table } from '../../src/table/table.js';
import { writeDataFiles } from '../../src/table/write.js';
import { equalityDeleteFile, positionDeleteFile, rows, withTable } from '../maintenance/helpers.js';
import { deletionVectors } from '../maintenance/v3-helpers.js';

/** Writes rows `from..from+n-1` of the unpartitioned test table as one uncommitted data file. */
async function dataFile(table: Table, from: number, n: number): Promise<DataFile> {
  const files = (await writeDataFiles(table.io, table.metadata, batchFromRows(table.schema(), rows(from, n)))).files;
  assert.equal(files.length, 1);
  return files[0]!;
}


function task(file: DataFile, seq: bigint, deletes: DataFile[]): FileScanTask {
  return {
    file,
    specId: 0,
    dataSequenceNumber: seq,
    fileSequenceNumber: seq,
    partition: file.partition,
    deletes: deletes.map((d) => ({ file: d, specId: 0, dataSequenceNumber: seq + 1n })),
  };
}

async function read(db: DuckDB, table: Table, tasks: FileScanTask[], perFileDeletes = false): Promise<{ ids: string[]; sql: string }> {
  const dvs = new DeletionVectorTable(db, table.io);
  try {
    const sql = await scanToSql({ duckdb: db, io: table.io, metadata: table.metadata, schema: table.schema(), tasks, perFileDeletes, deletionVectors: dvs });
    const out = await db.all(`SELECT event_id FROM (${sql}) AS t`);
    return { ids: out.map((r) => String(r.event_id)).sort(), sql };
  } finally {
    await dvs.drop();
  }
}

const id = (i: number) => String(rows(i, 1)[0]![0]);
const ids = (from: number, n: number, without: number[]) =>
  Array.from({ length: n }, (_, i) => from + i)
    .filter((i) => !without.includes(i))
    .map(id)
    .sort();

test('deletion vectors remove their positions from their data file only, in every form of the scan', async () => {
  const db = await DuckDB.open({ threads: 1 });
  try {
    await withTable(async ({ table }) => {
      const a = await dataFile(table, 0, 3000);
      const b = await dataFile(table, 3000, 100);
      const c = await dataFile(table, 4000, 50);
      // Two vectors in one Puffin file (a: sparse, a long run, the last row; b: its first rows).
      const run = Array.from({ length: 1500 }, (_, i) => 1000 + i);
      const [dvA, dvB] = await deletionVectors(table, [
        [a, [0, 7, ...run, 2999]],
        [b, [0, 1, 2]],
      ]);
      const aDeleted = [0, 7, ...run, 2999];

      // One data file with deletes: the per-file form.
      const one = await read(db, table, [task(a, 1n, [dvA!])]);
      assert.doesNotMatch(one.sql, /ANTI JOIN/);
      assert.deepEqual(one.ids, ids(0, 3000, aDeleted));

      // Several, beside a Parquet position delete file of another data file: the joined form.
      const posC = await positionDeleteFile(table, c, [4, 5]);
      const tasks = [task(a, 1n, [dvA!]), task(b, 1n, [dvB!]), task(c, 1n, [posC])];
      const joined = await read(db, table, tasks);
      assert.match(joined.sql, /ANTI JOIN/);
      const expected = [...ids(0, 3000, aDeleted), ...ids(3000, 100, [3000, 3001, 3002]), ...ids(4000, 50, [4004, 4005])].sort();
      assert.deepEqual(joined.ids, expected);
      assert.deepEqual((await read(db, table, tasks, true)).ids, expected, 'the per-file reference form agrees');

      // With an equality delete as well: the key anti-join plus the positions.
      const eq = await equalityDeleteFile(table, [id(10), id(3050)]);
      const withEq = tasks.map((t) => ({ ...t, deletes: [...t.deletes, { file: eq, specId: 0, dataSequenceNumber: 5n }] }));
      const mixed = await read(db, table, withEq);
      assert.equal(mixed.sql.match(/ANTI JOIN/g)?.length, 2, 'one for the key, one for the positions');
      assert.deepEqual(mixed.ids, expected.filter((x) => x !== id(10) && x !== id(3050)));
      assert.deepEqual((await read(db, table, withEq, true)).ids, mixed.ids);
    });
  } finally {
    db.close();
  }
});

test('a deletion vector that contradicts its entry or its data file, or is corrupt, fails the scan naming it', async () => {
  const db = await DuckDB.open({ threads: 1 });
  try {
    await withTable(async ({ table }) => {
      const a = await dataFile(table, 0, 10);
      const [dv] = await deletionVectors(table, [[a, [1, 2]]]);
      const cases: [string, DataFile, RegExp][] = [
        ['cardinality', { ...dv!, record_count: 3 }, /holds 2 positions, the manifest says 3/],
        ['outside the file', { ...dv!, content_offset: dv!.file_size_in_bytes }, /outside the file/],
      ];
      for (const [what, bad, why] of cases) {
        await assert.rejects(read(db, table, [task(a, 1n, [bad])]), (e: unknown) => e instanceof Error && why.test(e.message) && e.message.includes(dv!.file_path), what);
      }
      // A vector naming row 10 of a 10-row file.
      const [beyond] = await deletionVectors(table, [[a, [10]]]);
      await assert.rejects(read(db, table, [task(a, 1n, [beyond!])]), /deletes position 10, beyond the data file's 10 rows/);
      // A flipped byte inside the blob: the CRC fails.
      const bytes = await table.io.read(dv!.file_path);
      const corrupt = Uint8Array.from(bytes);
      corrupt[dv!.content_offset! + 12]! ^= 0xff;
      const path = `${dv!.file_path}.corrupt.puffin`;
      await table.io.write(path, corrupt);
      await assert.rejects(read(db, table, [task(a, 1n, [{ ...dv!, file_path: path }])]), (e: unknown) => e instanceof Error && e.message.includes(path) && /deletion vector/.test(e.message));
    });
  } finally {
    db.close();
  }
});
