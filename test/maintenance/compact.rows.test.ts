import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../../src/errors.js';
import { FileContent } from '../../src/iceberg/manifest-types.js';
import { compactTable } from '../../src/maintenance/compact.js';
import { parseWhere } from '../../src/maintenance/where.js';
import { planTableScan } from '../../src/query/table-scan.js';
import { Table } from '../../src/table/table.js';
import {
  appendRows,
  assertRows,
  BY_DAY,
  commitDeletes,
  equalityDeleteFile,
  ID,
  interleaving,
  liveDataFiles,
  positionDeleteFile,
  rows,
  sortedRows,
  withTable,
} from './helpers.js';

test('compact: small files become one, rows and checkpoints unchanged, data sequence number of the read snapshot', async () => {
  await withTable(async ({ catalog, table }) => {
    for (let i = 0; i < 12; i++) await appendRows(table, i * 10, 10, { 'floe.checkpoint.s.shard-0': String(i) });
    const before = await sortedRows(catalog);
    assert.equal((await liveDataFiles(table)).length, 12);
    const readSeq = table.currentSnapshot()!['sequence-number'];

    const r = await compactTable(table, { minInputFiles: 5 });
    assert.equal(r.rewrittenDataFiles, 12);
    assert.equal(r.addedDataFiles, 1);
    assert.equal(r.partitions, 1);
    assert.equal(r.records, 120);
    assert.ok(r.snapshotId !== undefined);
    await assertRows(catalog, before, 'after compaction');

    await table.refresh();
    const snap = table.currentSnapshot()!;
    assert.equal(snap.summary.operation, 'replace');
    assert.equal(snap.summary['total-data-files'], '1');
    assert.equal(snap.summary['total-records'], '120');
    assert.equal(snap.summary['floe.checkpoint.s.shard-0'], '11', 'checkpoint carried forward unchanged');
    const scan = await planTableScan(table.io, table.metadata, { ref: 'main' });
    assert.equal(scan.tasks.length, 1);
    assert.equal(scan.tasks[0]!.dataSequenceNumber, readSeq, 'new file carries the read snapshot sequence number');
    assert.ok(scan.tasks[0]!.fileSequenceNumber > readSeq!);
    // Metrics are usable for pruning: a filter outside the bounds skips the file.
    const pruned = await planTableScan(table.io, table.metadata, { ref: 'main', filter: parseWhere("event_id > 'zzz'", table.schema()) });
    assert.equal(pruned.tasks.length, 0);

    // Nothing left to do: no new snapshot.
    const again = await compactTable(table, { minInputFiles: 5 });
    assert.equal(again.snapshotId, undefined);
    assert.equal(table.metadata.snapshots.length, 13);
  });
});

test('compact: too few small files is a no-op; the target size splits the output', async () => {
  await withTable(async ({ catalog, table }) => {
    for (let i = 0; i < 4; i++) await appendRows(table, i * 50, 50);
    assert.equal((await compactTable(table, { minInputFiles: 5 })).snapshotId, undefined);
    const size = (await liveDataFiles(table))[0]!.file_size_in_bytes;
    const before = await sortedRows(catalog);
    // Room for two input files per output file.
    const r = await compactTable(table, { minInputFiles: 2, targetFileSizeBytes: Math.ceil(size * 2.2) });
    assert.equal(r.rewrittenDataFiles, 4);
    assert.equal(r.addedDataFiles, 2);
    await assertRows(catalog, before, 'after split compaction');
  });
});

test('compact: per partition, and --where limits it to matching partitions', async () => {
  await withTable(
    async ({ catalog, table }) => {
      // 6 appends of 36 rows (12 h each) → 3 days, 2 files per day per append pair.
      for (let i = 0; i < 6; i++) await appendRows(table, i * 36, 36);
      const before = await sortedRows(catalog);
      const files = await liveDataFiles(table);
      assert.equal(files.length, 6);

      const where = parseWhere("event_time >= '2026-01-09' AND event_time < '2026-01-10'", table.schema());
      const one = await compactTable(table, { minInputFiles: 2, filter: where });
      assert.equal(one.partitions, 1);
      assert.equal(one.rewrittenDataFiles, 2);
      await assertRows(catalog, before, 'after one partition');
      assert.equal((await liveDataFiles(table)).length, 5);

      const all = await compactTable(table, { minInputFiles: 2 });
      assert.equal(all.partitions, 2);
      await assertRows(catalog, before, 'after all partitions');
      const after = await liveDataFiles(table);
      assert.equal(after.length, 3);
      // Each output file stays in its partition directory with its partition tuple.
      for (const f of after) assert.match(f.file_path, /event_time_day=2026-01-(08|09|10)\//);
      assert.deepEqual(after.map((f) => f.partition[0]).sort(), [20461, 20462, 20463]);
    },
    { spec: BY_DAY },
  );
});

test('compact: applies position and equality deletes and removes the delete files', async () => {
  await withTable(async ({ catalog, table }) => {
    for (let i = 0; i < 6; i++) await appendRows(table, i * 10, 10);
    const files = await liveDataFiles(table);
    const target = files.find((f) => f.record_count === 10)!;
    await commitDeletes(table, [await positionDeleteFile(table, target, [0, 3])]);
    await commitDeletes(table, [await equalityDeleteFile(table, ['evt_000041', 'evt_000042'])]);
    const before = await sortedRows(catalog);
    assert.equal(before.length, 56);

    const r = await compactTable(table, { minInputFiles: 5 });
    assert.equal(r.records, 56);
    assert.equal(r.removedDeleteFiles, 2);
    await assertRows(catalog, before, 'after compaction with deletes');
    await table.refresh();
    const scan = await planTableScan(table.io, table.metadata, { ref: 'main' });
    assert.equal(scan.stats.deleteFiles, 0, 'no delete file left');
    assert.equal(table.currentSnapshot()!.summary['total-delete-files'], '0');
  });
});


test('compact: an append and an equality delete committed meanwhile survive (retry on the new head)', async () => {
  await withTable(async ({ catalog }) => {
    const writer = await Table.load(catalog, ID);
    for (let i = 0; i < 6; i++) await appendRows(writer, i * 10, 10, { 'floe.checkpoint.s.shard-0': String(i) });
    const compactor = await Table.load(
      interleaving(catalog, async () => {
        await appendRows(writer, 100, 10, { 'floe.checkpoint.s.shard-0': '99' });
        await commitDeletes(writer, [await equalityDeleteFile(writer, ['evt_000001', 'evt_000105'])]);
      }),
      ID,
    );
    const r = await compactTable(compactor, { minInputFiles: 5 });
    assert.equal(r.attempts, 2, 'the first attempt conflicted');
    const got = await sortedRows(catalog);
    const expected = rows(0, 60)
      .concat(rows(100, 10))
      .map((x) => String(x[0]))
      .filter((id) => id !== 'evt_000001' && id !== 'evt_000105');
    assert.deepEqual(got.map((l) => l.split('|')[0]).sort(), expected.sort());
    await writer.refresh();
    const snap = writer.currentSnapshot()!;
    assert.equal(snap.summary.operation, 'replace');
    assert.equal(snap.summary['floe.checkpoint.s.shard-0'], '99', 'the concurrent append’s positions are carried');
    // The equality delete committed after the read snapshot still applies: it is kept.
    const scan = await planTableScan(writer.io, writer.metadata, { ref: 'main' });
    assert.equal(scan.stats.deleteFiles, 1);
  });
});

test('compact: a position delete committed meanwhile abandons the compaction and leaves no file behind', async () => {
  await withTable(async ({ catalog, dir }) => {
    const writer = await Table.load(catalog, ID);
    for (let i = 0; i < 6; i++) await appendRows(writer, i * 10, 10);
    const target = (await liveDataFiles(writer))[0]!;
    const compactor = await Table.load(
      interleaving(catalog, async () => {
        await commitDeletes(writer, [await positionDeleteFile(writer, target, [1])]);
      }),
      ID,
    );
    const { readdir } = await import('node:fs/promises');
    const dataDir = `${dir}/wh/db/events/data`;
    const filesBefore = (await readdir(dataDir)).length;
    await assert.rejects(compactTable(compactor, { minInputFiles: 5 }), (e: unknown) => e instanceof ValidationError && /added position deletes/.test(e.message));
    assert.equal((await readdir(dataDir)).length, filesBefore + 1, 'only the delete file was added; compacted output removed');
    assert.equal((await sortedRows(catalog)).length, 59);
    const files = await liveDataFiles(writer);
    assert.equal(files.length, 6);
    assert.ok(files.every((f) => f.content === FileContent.DATA));
  });
});

test('compact: format v1 tables compact too', async () => {
  await withTable(
    async ({ catalog, table }) => {
      for (let i = 0; i < 5; i++) await appendRows(table, i * 7, 7);
      const before = await sortedRows(catalog);
      const r = await compactTable(table, { minInputFiles: 5 });
      assert.equal(r.addedDataFiles, 1);
      await assertRows(catalog, before, 'v1 after compaction');
    },
    { formatVersion: 1 },
  );
});

test('compact: removing delete files is abandoned when another rewrite added files meanwhile', async () => {
  await withTable(
    async ({ catalog }) => {
      const writer = await Table.load(catalog, ID);
      // Day 1 (2026-01-08): rows 0..71; day 2: rows 72..143.
      for (let i = 0; i < 4; i++) await appendRows(writer, i * 18, 18);
      for (let i = 0; i < 4; i++) await appendRows(writer, 72 + i * 18, 18);
      const day1 = (await liveDataFiles(writer)).find((f) => f.partition[0] === 20461)!;
      await commitDeletes(writer, [await positionDeleteFile(writer, day1, [0])], 0);
      const before = await sortedRows(catalog);
      const compactor = await Table.load(
        interleaving(catalog, async () => {
          const other = await Table.load(catalog, ID);
          await compactTable(other, { minInputFiles: 2, filter: parseWhere("event_time >= '2026-01-09'", other.schema()) });
        }),
        ID,
      );
      await assert.rejects(
        compactTable(compactor, { minInputFiles: 2, filter: parseWhere("event_time < '2026-01-09'", compactor.schema()) }),
        /rewrote data files while compacting; abandoned/,
      );
      await assertRows(catalog, before, 'after the abandoned compaction');
      // Run again: it completes and removes the delete file.
      const r = await compactTable(writer, { minInputFiles: 2 });
      assert.equal(r.removedDeleteFiles, 1);
      await assertRows(catalog, before, 'after the re-run');
    },
    { spec: BY_DAY },
  );
});
