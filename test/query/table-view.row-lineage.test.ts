/**
 * `scanToSql({ rowLineage: true })` (format v3, spec §Row Lineage): every row carries `_row_id`
 * and `_last_updated_sequence_number`, the values its data file stores when non-null, else the
 * file's inherited `first_row_id` + the row's position in the file (counted from 0 whatever the
 * deletes) and the file's data sequence number, in every form the scan builds: delete-free files
 * read together, one file with a deletion vector, several (the joined position anti-join), with
 * equality deletes (the joined key form and the per-file form). Without the option the output
 * keeps the schema's columns only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DuckDB, sqlString } from '../../src/duckdb/instance.js';
import { FileContent, type DataFile } from '../../src/iceberg/manifest-types.js';
import { DeletionVectorTable } from '../../src/query/deletion-vectors.js';
import { planTableScan } from '../../src/query/table-scan.js';
import { scanToSql } from '../../src/query/table-view.js';
import type { Table } from '../../src/table/table.js';
import { dataLocation } from '../../src/table/write.js';
import { appendRows, commitDeletes, equalityDeleteFile, liveDataFiles, rows, withTable } from '../maintenance/helpers.js';
import { deletionVectors, lineageOf } from '../maintenance/v3-helpers.js';

const id = (i: number) => String(rows(i, 1)[0]![0]);

/** Rows `from..from+n-1` appended by commit `seq` starting at row id `first`, minus `without`. */
function expected(from: number, n: number, first: number, seq: number, without: number[] = []): [string, string][] {
  const out: [string, string][] = [];
  for (let k = 0; k < n; k++) if (!without.includes(from + k)) out.push([id(from + k), `${first + k}/${seq}`]);
  return out;
}

async function scan(db: DuckDB, table: Table, perFileDeletes = false): Promise<{ lineage: Map<string, string>; sql: string }> {
  await table.refresh();
  const s = await planTableScan(table.io, table.metadata, { ref: 'main' });
  const dvs = new DeletionVectorTable(db, table.io);
  try {
    const sql = await scanToSql({ duckdb: db, io: table.io, metadata: table.metadata, schema: s.schema, tasks: s.tasks, rowLineage: true, perFileDeletes, deletionVectors: dvs });
    return { lineage: await lineageOf(db, sql), sql };
  } finally {
    await dvs.drop();
  }
}

/** A data file storing the lineage columns (some values null), as a rewrite leaves them. */
async function storedLineageFile(db: DuckDB, table: Table): Promise<DataFile> {
  const path = join(dataLocation(table.metadata), 'stored-lineage.parquet');
  const local = join(await mkdtemp(join(tmpdir(), 'floe-lineage-')), 'stored.parquet');
  await db.run(
    `COPY (SELECT * FROM (VALUES ('evt_s0', 100, 1), ('evt_s1', NULL, NULL), ('evt_s2', 102, NULL), ('evt_s3', NULL, 2)) AS v(event_id, _row_id, _last_updated_sequence_number)) ` +
      `TO ${sqlString(local)} (FORMAT parquet, FIELD_IDS {event_id: 1, _row_id: 2147483540, _last_updated_sequence_number: 2147483539})`,
  );
  const bytes = await readFile(local);
  await rm(dirname(local), { recursive: true, force: true });
  await table.io.write(path, bytes);
  return { content: FileContent.DATA, file_path: path, file_format: 'PARQUET', partition: [], record_count: 4, file_size_in_bytes: bytes.length };
}

test('row lineage: stored values first, else inherited, in every form of the scan', async () => {
  const db = await DuckDB.open({ threads: 1 });
  try {
    await withTable(
      async ({ table }) => {
        // Commits 1..4: five rows each, row ids 0..19.
        for (let i = 0; i < 4; i++) await appendRows(table, i * 5, 5);
        const all = [...expected(0, 5, 0, 1), ...expected(5, 5, 5, 2), ...expected(10, 5, 10, 3), ...expected(15, 5, 15, 4)];

        // Delete-free files.
        let r = await scan(db, table);
        assert.deepEqual([...r.lineage].sort(), all.sort());

        // Commit 5: a file storing lineage (row ids 20..23 inherited where null).
        await table.refresh();
        await table.newAppend().appendFiles([await storedLineageFile(db, table)], 0).commit();
        const stored: [string, string][] = [
          ['evt_s0', '100/1'],
          ['evt_s1', '21/5'],
          ['evt_s2', '102/5'],
          ['evt_s3', '23/2'],
        ];
        r = await scan(db, table);
        assert.deepEqual([...r.lineage].sort(), [...all, ...stored].sort());

        // Commit 6: a deletion vector on the first file (the per-file form): positions keep counting.
        const files = new Map((await liveDataFiles(table)).map((f) => [f.first_row_id, f]));
        const [dvA] = await deletionVectors(table, [[files.get(0n)!, [1, 3]]]);
        await table.refresh();
        await table.newRowDelta().addDeletes(dvA!).commit();
        r = await scan(db, table);
        const withA = [...expected(0, 5, 0, 1, [1, 3]), ...expected(5, 5, 5, 2), ...expected(10, 5, 10, 3), ...expected(15, 5, 15, 4), ...stored];
        assert.deepEqual([...r.lineage].sort(), withA.sort());

        // Commit 7: a second vector (same Puffin file as a third, unused one): the joined position form.
        const [dvB] = await deletionVectors(table, [
          [files.get(5n)!, [0]],
          [files.get(10n)!, [4]],
        ]);
        await table.refresh();
        await table.newRowDelta().addDeletes(dvB!).commit();
        r = await scan(db, table);
        const withB = [...expected(0, 5, 0, 1, [1, 3]), ...expected(5, 5, 5, 2, [5]), ...expected(10, 5, 10, 3), ...expected(15, 5, 15, 4), ...stored];
        assert.deepEqual([...r.lineage].sort(), withB.sort());

        // Commit 8: an equality delete: the joined key form, and the per-file form.
        await commitDeletes(table, [await equalityDeleteFile(table, [id(17), 'evt_s2'])]);
        const final = withB.filter(([k]) => k !== id(17) && k !== 'evt_s2').sort();
        r = await scan(db, table);
        assert.match(r.sql, /ANTI JOIN/);
        assert.deepEqual([...r.lineage].sort(), final);
        r = await scan(db, table, true);
        assert.doesNotMatch(r.sql, /ANTI JOIN/);
        assert.deepEqual([...r.lineage].sort(), final);
      },
      { formatVersion: 3 },
    );
  } finally {
    await db.close();
  }
});

test('row lineage: off by default; an empty scan has the columns; a schema column of that name is refused', async () => {
  const db = await DuckDB.open({ threads: 1 });
  try {
    await withTable(
      async ({ table }) => {
        const empty = await scanToSql({ duckdb: db, io: table.io, metadata: table.metadata, schema: table.schema(), tasks: [], rowLineage: true });
        assert.deepEqual(await db.all(`SELECT _row_id, _last_updated_sequence_number FROM (${empty}) AS t`), []);
        await appendRows(table, 0, 3);
        const s = await planTableScan(table.io, table.metadata, { ref: 'main' });
        const plain = await scanToSql({ duckdb: db, io: table.io, metadata: table.metadata, schema: s.schema, tasks: s.tasks });
        assert.deepEqual(Object.keys((await db.all(`SELECT * FROM (${plain}) AS t`))[0]!), ['event_id', 'user_id', 'event_time', 'amount']);
        const clash = { ...s.schema, fields: [...s.schema.fields, { id: 9, name: '_row_id', required: false, type: 'long' as const }] };
        await assert.rejects(
          scanToSql({ duckdb: db, io: table.io, metadata: table.metadata, schema: clash, tasks: s.tasks, rowLineage: true }),
          /query: column _row_id of schema 0 has the name of a row lineage column/,
        );
      },
      { formatVersion: 3 },
    );
  } finally {
    await db.close();
  }
});
