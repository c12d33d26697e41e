/**
 * Compaction of tables with equality deletes (upserts): the rows deleted disappear, a delete file
 * is dropped only when no data file it may still apply to remains (its partition's older files, or
 * every partition's for an unpartitioned spec's delete), and an upsert committed while the
 * compaction runs keeps applying to the rewritten rows (they get the read snapshot's data sequence
 * number, below the upsert's) and does not abandon the compaction.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Catalog } from '../../src/catalog/catalog.js';
import { batchFromRows } from '../../src/data/column-batch.js';
import { FileContent, type DataFile } from '../../src/iceberg/manifest-types.js';
import type { IcebergValue } from '../../src/iceberg/types.js';
import { compactTable } from '../../src/maintenance/compact.js';
import { parseWhere } from '../../src/maintenance/where.js';
import { planTableScan } from '../../src/query/table-scan.js';
import { Table } from '../../src/table/table.js';
import { writeDataFiles } from '../../src/table/write.js';
import { appendRows, BY_DAY, equalityDeleteFile, ID, interleaving, liveDataFiles, row, sortedRows, withTable } from './helpers.js';


/** Row `i` as an upsert changes it: same key and time, user `upserted`, amount 999. */
function upserted(i: number): IcebergValue[] {
  const r = row(i);
  return [r[0]!, 'upserted', r[2]!, 999n];
}

/**
 * An upsert as a row delta commits it (operation `overwrite`): the new rows of `ids` and an
 * equality delete of their keys in one snapshot, so the delete removes the older rows only.
 */
async function upsert(table: Table, ids: number[], deleteSpecId?: number, deletePartition: IcebergValue[] = []) {
  await table.refresh();
  const { files, specId } = await writeDataFiles(table.io, table.metadata, batchFromRows(table.schema(), ids.map(upserted)));
  const del = await equalityDeleteFile(table, ids.map((i) => String(row(i)[0])), deletePartition);
  const op = table.newOverwrite();
  for (const f of files) op.addFile(f, specId);
  op.addFile(del, deleteSpecId);
  return op.commit();
}

/** Commits delete files alone (an overwrite snapshot adding them). */
async function commitDeletes(table: Table, files: DataFile[], specId?: number) {
  await table.refresh();
  const op = table.newOverwrite();
  for (const f of files) op.addFile(f, specId);
  return op.commit();
}

/** event_id → the rows' user column, for the keys in `ids`. */
async function usersOf(catalog: Catalog, ids: number[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const line of await sortedRows(catalog)) {
    const [id, user] = line.split('|');
    if (!ids.some((i) => String(row(i)[0]) === id)) continue;
    out.set(id!, [...(out.get(id!) ?? []), user!]);
  }
  return out;
}

async function deleteFilePaths(table: Table): Promise<string[]> {
  await table.refresh();
  const scan = await planTableScan(table.io, table.metadata, { ref: 'main' });
  return [...new Set(scan.tasks.flatMap((t) => t.deletes.map((d) => d.file.file_path)))].sort();
}

test('compact: an upsert committed while compacting is not abandoned, and its delete applies to the rewritten rows', async () => {
  await withTable(async ({ catalog }) => {
    const writer = await Table.load(catalog, ID);
    for (let i = 0; i < 6; i++) await appendRows(writer, i * 10, 10);
    // An upsert before the compaction reads: its delete is dropped by the compaction.
    await upsert(writer, [3]);
    const early = await deleteFilePaths(writer);
    assert.equal(early.length, 1);
    await writer.refresh();
    const readSeq = writer.currentSnapshot()!['sequence-number']!;

    const compactor = await Table.load(
      interleaving(catalog, async () => {
        // The pipeline's next upsert lands between the compaction's read and its commit.
        await upsert(writer, [4, 10, 3]);
      }),
      ID,
    );
    const r = await compactTable(compactor, { minInputFiles: 5 });
    assert.ok(r.snapshotId !== undefined, 'the compaction committed');
    assert.equal(r.attempts, 2, 'the first attempt conflicted with the upsert and was rebuilt on it');
    assert.equal(r.removedDeleteFiles, 1);

    // Each upserted key exactly once, with its new value: the old rows of 4 and 10, rewritten by
    // the compaction, are deleted by the upsert committed after the compaction's read snapshot.
    const users = await usersOf(catalog, [3, 4, 10]);
    assert.deepEqual(Object.fromEntries(users), { evt_000003: ['upserted'], evt_000004: ['upserted'], evt_000010: ['upserted'] });
    assert.equal((await sortedRows(catalog)).length, 60);

    const left = await deleteFilePaths(writer);
    assert.equal(left.length, 1, 'the concurrent upsert’s delete file is kept');
    assert.ok(!left.includes(early[0]!), 'the delete file the compaction applied is dropped');
    const scan = await planTableScan(writer.io, writer.metadata, { ref: 'main' });
    const rewritten = scan.tasks.filter((t) => t.dataSequenceNumber === readSeq);
    assert.equal(rewritten.length, 1, 'one rewritten file, with the read snapshot’s data sequence number');
    assert.equal(rewritten[0]!.deletes.length, 1, 'the later upsert’s delete applies to it');
  });
});

test('compact: a partition’s equality delete is kept while an older data file of its partition is not rewritten', async () => {
  await withTable(
    async ({ catalog, table }) => {
      // Day 2026-01-08 (rows 0..71) in 6 files of 12 rows, day 2026-01-09 in one file.
      for (let i = 0; i < 6; i++) await appendRows(table, i * 12, 12);
      await appendRows(table, 72, 12);
      const day = (await liveDataFiles(table)).find((f) => f.partition[0] === 20461)!.partition;
      await commitDeletes(table, [await equalityDeleteFile(table, ['evt_000005', 'evt_000050', 'evt_000073'], day)]);
      const before = await sortedRows(catalog);
      assert.equal(before.length, 84 - 2, 'the delete is scoped to its partition: evt_000073 stays');

      // Only the files holding the first 8 hours (rows 0..23) are rewritten: the delete still
      // applies to the other 4 files of its partition, so it must stay.
      const where = parseWhere("event_time < '2026-01-08T08:00:00Z'", table.schema());
      const one = await compactTable(table, { minInputFiles: 2, filter: where });
      assert.equal(one.rewrittenDataFiles, 2);
      assert.equal(one.removedDeleteFiles, 0);
      assert.deepEqual(await sortedRows(catalog), before, 'evt_000050 (a file not rewritten) stays deleted');
      assert.equal((await deleteFilePaths(table)).length, 1);

      // The whole partition: now no file it applies to remains.
      const all = await compactTable(table, { minInputFiles: 2 });
      assert.equal(all.removedDeleteFiles, 1);
      assert.deepEqual(await sortedRows(catalog), before);
      assert.deepEqual(await deleteFilePaths(table), []);
      await table.refresh();
      assert.equal(table.currentSnapshot()!.summary['total-delete-files'], '0');
    },
    { spec: BY_DAY },
  );
});

test('compact: an unpartitioned spec’s equality delete (every partition) is kept until all partitions are rewritten', async () => {
  await withTable(
    async ({ catalog, table }) => {
      // The layout of an upsert keyed on event_id in a table partitioned by day: the deletes get
      // an unpartitioned spec of their own, added beside the default.
      await table.update(() => ({ requirements: [], updates: [{ action: 'add-spec', spec: { 'spec-id': 0, fields: [] } }] }));
      const globalSpec = table.metadata['partition-specs'].find((s) => s.fields.length === 0)!['spec-id'];
      assert.notEqual(globalSpec, table.metadata['default-spec-id']);
      // A delete committed before any row applies to nothing (only older rows): it is dropped by
      // the first compaction, whichever partition it rewrites.
      await commitDeletes(table, [await equalityDeleteFile(table, ['evt_000001'])], globalSpec);
      for (let i = 0; i < 4; i++) await appendRows(table, i * 36, 36); // 2 days, 2 files each
      await commitDeletes(table, [await equalityDeleteFile(table, ['evt_000002', 'evt_000100'])], globalSpec);
      const before = await sortedRows(catalog);
      assert.equal(before.length, 144 - 2, 'evt_000001 was deleted before it was written: it stays');

      const day1 = parseWhere("event_time < '2026-01-09'", table.schema());
      const one = await compactTable(table, { minInputFiles: 2, filter: day1 });
      assert.equal(one.partitions, 1);
      assert.equal(one.removedDeleteFiles, 1, 'only the delete that applies to nothing');
      assert.deepEqual(await sortedRows(catalog), before, 'evt_000100 (the other day) stays deleted');
      assert.equal((await deleteFilePaths(table)).length, 1);

      const all = await compactTable(table, { minInputFiles: 2 });
      assert.equal(all.removedDeleteFiles, 1);
      assert.deepEqual(await sortedRows(catalog), before);
      await table.refresh();
      assert.equal(table.currentSnapshot()!.summary['total-delete-files'], '0');
    },
    { spec: BY_DAY },
  );
});

test('compact: delete trigger compacts only partitions over a threshold, only their files with deletes', async () => {
  await withTable(
    async ({ catalog, table }) => {
      // Three days of 36 rows in two files each.
      for (let i = 0; i < 6; i++) await appendRows(table, i * 36, 36);
      const part = async (d: number) => (await liveDataFiles(table)).find((f) => f.partition[0] === d)!.partition;
      const [d1, d2, d3] = [await part(20461), await part(20462), await part(20463)];
      // Day 1: 3 delete files of one key (the file count triggers); day 2: one file deleting 40 of
      // its 72 rows (the ratio triggers); day 3: one key in one file (neither).
      for (const k of ['evt_000001', 'evt_000002', 'evt_000003']) await commitDeletes(table, [await equalityDeleteFile(table, [k], d1)]);
      const many = Array.from({ length: 40 }, (_, k) => String(row(72 + k)[0]));
      await commitDeletes(table, [await equalityDeleteFile(table, many, d2)]);
      await commitDeletes(table, [await equalityDeleteFile(table, ['evt_000150'], d3)]);
      // Rows appended after the deletes: a file no delete applies to, left alone.
      await appendRows(table, 0 + 216, 1);
      const before = await sortedRows(catalog);
      const untouched = (await liveDataFiles(table)).filter((f) => f.record_count === 1).map((f) => f.file_path);
      assert.equal(untouched.length, 1);

      const r = await compactTable(table, { minInputFiles: 100, deleteTrigger: { minDeleteFiles: 3, minDeleteRatio: 0.5 } });
      assert.equal(r.partitions, 2);
      assert.equal(r.rewrittenDataFiles, 4);
      assert.equal(r.removedDeleteFiles, 4);
      assert.deepEqual(await sortedRows(catalog), before);
      const live = (await liveDataFiles(table)).map((f) => f.file_path);
      assert.ok(live.includes(untouched[0]!), 'a file without deletes is not rewritten');
      const left = await deleteFilePaths(table);
      assert.equal(left.length, 1, 'day 3’s delete stays');

      // Under both thresholds now: nothing to do, no snapshot.
      const again = await compactTable(table, { minInputFiles: 100, deleteTrigger: { minDeleteFiles: 2, minDeleteRatio: 0.5 } });
      assert.equal(again.snapshotId, undefined);
    },
    { spec: BY_DAY },
  );
});

test('compact: delete trigger on a table without delete files commits nothing', async () => {
  await withTable(async ({ table }) => {
    for (let i = 0; i < 6; i++) await appendRows(table, i * 10, 10);
    const r = await compactTable(table, { minInputFiles: 2, deleteTrigger: { minDeleteFiles: 1, minDeleteRatio: 0.01 } });
    assert.equal(r.snapshotId, undefined);
    assert.equal((await liveDataFiles(table)).length, 6, 'small files are the regular compaction’s');
    assert.ok((await liveDataFiles(table)).every((f) => f.content === FileContent.DATA));
  });
});

test('compact: compactions running while a writer upserts and deletes keep every change (Table.upsert, real concurrency)', async () => {
  await withTable(async ({ catalog }) => {
    const writer = await Table.load(catalog, ID);
    for (let i = 0; i < 6; i++) await appendRows(writer, i * 10, 10);
    // The model: event_id → user_id, as the writer leaves it.
    const model = new Map<string, string | null>();
    for (const line of await sortedRows(catalog)) {
      const [id, user] = line.split('|');
      model.set(id!, user === 'null' ? null : user!);
    }
    let writing = true;
    let upserts = 0;
    const committed: number[] = [];
    const write = (async () => {
      let seed = 7;
      const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
      try {
        // At least 40 rounds, and on until compactions that removed delete files committed meanwhile.
        for (let round = 0; round < 400 && (round < 40 || committed.filter((n) => n > 0).length < 2); round++) {
          const ids = [0, 1, 2].map(() => `evt_${String(Math.floor(next() * 70)).padStart(6, '0')}`);
          const gone = next() < 0.3 ? [`evt_${String(Math.floor(next() * 70)).padStart(6, '0')}`] : [];
          const rows = ids.map((event_id) => ({ event_id, user_id: `round_${round}` }));
          await writer.upsert(rows, { key: ['event_id'], deletes: gone.map((event_id) => ({ event_id })) });
          // A key both upserted and deleted keeps its row (the deletes come first).
          for (const g of gone) model.delete(g);
          for (const r of rows) model.set(r.event_id, r.user_id);
          upserts++;
          await new Promise((r) => setTimeout(r, 20));
        }
      } finally {
        writing = false;
      }
    })();
    const compactor = await Table.load(catalog, ID);
    while (writing) {
      const r = await compactTable(compactor, { minInputFiles: 2 });
      if (r.snapshotId !== undefined) committed.push(r.removedDeleteFiles);
    }
    await write;
    // One more after the writer stopped: every delete file can go.
    const last = await compactTable(compactor, { minInputFiles: 2 });
    assert.ok(last.snapshotId !== undefined);
    assert.ok(upserts >= 40);
    assert.ok(committed.filter((n) => n > 0).length >= 2, `compactions removing delete files committed while the writer ran (${committed.join(', ')})`);
    const expected = [...model].map(([id, user]) => `${id}|${user}`).sort();
    const got = (await sortedRows(catalog)).map((l) => l.split('|').slice(0, 2).join('|'));
    assert.deepEqual(got, expected);
    assert.deepEqual(await deleteFilePaths(writer), [], 'no delete file left after the last compaction');
  });
});
