/**
 * Delete conversion on format v3 tables (`convertEqualityDeletes` → deletion vectors), partitioned
 * and not: rows read the same before and after, no equality delete file stays live, each affected
 * data file has exactly one vector holding exactly the positions of its deleted rows (decoded from
 * the Puffin file), all vectors of a conversion share one Puffin file with the entries Iceberg
 * Java writes, and the `replace` summary counts them. A second round replaces the old vectors by
 * merged ones (removed by identity). A concurrent vector for an affected data file (added, or
 * replacing one the conversion replaces) abandons the conversion with nothing committed and its
 * Puffin file deleted; one for another data file does not. A failed commit deletes the Puffin file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { ValidationError } from '../../src/errors.js';
import { batchFromRows } from '../../src/data/column-batch.js';
import { decodeDeletionVector } from '../../src/iceberg/deletion-vector.js';
import { EntryStatus, FileContent, ManifestContent, type DataFile } from '../../src/iceberg/manifest-types.js';
import type { PartitionSpec } from '../../src/iceberg/metadata.js';
import { readPuffinFooter } from '../../src/iceberg/puffin.js';
import { snapshotForRef } from '../../src/iceberg/snapshot.js';
import type { IcebergValue } from '../../src/iceberg/types.js';
import { fileUriToPath } from '../../src/io/location.js';
import { convertEqualityDeletes } from '../../src/maintenance/convert-deletes.js';
import { ManifestCache } from '../../src/maintenance/files.js';
import { Table } from '../../src/table/table.js';
import { dataLocation, writeDataFiles } from '../../src/table/write.js';
import { BY_DAY, equalityDeleteFile, ID, interleaving, positionDeleteFile, row, rows, sortedRows, withTable, type TableEnv } from './helpers.js';
import { deletionVectors } from './v3-helpers.js';

const FIRST_DAY = 20461; // 2026-01-08, the day of row 0 (72 rows a day)
const dayOf = (i: number) => FIRST_DAY + Math.floor(i / 72);
const eventId = (i: number) => String(row(i)[0]);

/** The rows a data file holds, in order: an appended range, restricted to the file's day when partitioned. */
interface Written {
  file: DataFile;
  rows: number[];
}

/** Appends `ids` (as `row(i)`, or upserted values) in one data file per partition; returns them. */
async function writeRows(table: Table, ids: number[], partitioned: boolean, upserted = false): Promise<{ written: Written[]; specId: number }> {
  await table.refresh();
  const values = ids.map((i): IcebergValue[] => (upserted ? [row(i)[0]!, 'upserted', row(i)[2]!, 999n] : row(i)));
  const { files, specId } = await writeDataFiles(table.io, table.metadata, batchFromRows(table.schema(), values));
  const written = files.map((file) => ({ file, rows: ids.filter((i) => !partitioned || dayOf(i) === file.partition[0]) }));
  assert.equal(
    written.reduce((s, w) => s + w.rows.length, 0),
    ids.length,
  );
  for (const w of written) assert.equal(w.file.record_count, w.rows.length);
  return { written, specId };
}

async function append(table: Table, from: number, n: number, partitioned: boolean): Promise<Written[]> {
  const { written, specId } = await writeRows(table, rows(from, n).map((_, k) => from + k), partitioned);
  await table.newAppend().appendFiles(written.map((w) => w.file), specId).commit();
  return written;
}

/**
 * An upsert as a row delta commits it: the new rows of `ids` and an equality delete of their keys
 * in one snapshot (global when unpartitioned, one per day otherwise, as floe's upserts place them).
 */
async function upsert(table: Table, ids: number[], partitioned: boolean): Promise<Written[]> {
  const { written, specId } = await writeRows(table, ids, partitioned, true);
  const op = table.newRowDelta();
  for (const w of written) op.addRows(w.file, specId);
  const days = partitioned ? [...new Set(ids.map(dayOf))] : [undefined];
  for (const d of days) {
    const keys = ids.filter((i) => d === undefined || dayOf(i) === d).map(eventId);
    op.addDeletes(await equalityDeleteFile(table, keys, d === undefined ? [] : [d]), specId);
  }
  await op.commit();
  return written;
}

/** The live delete files of the current snapshot, with their manifest's spec id. */
async function liveDeletes(table: Table): Promise<{ file: DataFile; specId: number }[]> {
  await table.refresh();
  const snapshot = snapshotForRef(table.metadata, 'main')!;
  const cache = new ManifestCache(table.io, table.name);
  const out: { file: DataFile; specId: number }[] = [];
  for (const m of await cache.snapshotManifests(snapshot)) {
    if (m.content !== ManifestContent.DELETES) continue;
    for (const e of await cache.entries(m)) if (e.status !== EntryStatus.DELETED) out.push({ file: e.data_file, specId: m.partition_spec_id });
  }
  return out;
}

/** The live deletion vectors by data file path, each decoded. */
async function vectorsByFile(table: Table): Promise<Map<string, { dv: DataFile; specId: number; positions: number[] }>> {
  const out = new Map<string, { dv: DataFile; specId: number; positions: number[] }>();
  for (const { file, specId } of await liveDeletes(table)) {
    if (file.file_format !== 'PUFFIN') continue;
    const target = file.referenced_data_file!;
    assert.ok(!out.has(target), `one live vector per data file (${target})`);
    const bytes = await table.io.read(file.file_path);
    const blob = bytes.subarray(file.content_offset!, file.content_offset! + file.content_size_in_bytes!);
    out.set(target, { dv: file, specId, positions: Array.from(decodeDeletionVector(blob, file.file_path)) });
  }
  return out;
}

/** Expected positions per data file: where each deleted row sits in the file holding it. */
function expectedPositions(files: Written[], deleted: Map<string, number[]>): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const w of files) {
    const gone = deleted.get(w.file.file_path) ?? [];
    const positions = gone.map((i) => w.rows.indexOf(i)).filter((p) => p >= 0).sort((a, b) => a - b);
    if (positions.length > 0) out.set(w.file.file_path, positions);
  }
  return out;
}

function summary(table: Table): Record<string, string> {
  return snapshotForRef(table.metadata, 'main')!.summary;
}

async function puffinFiles(table: Table): Promise<string[]> {
  const dir = fileUriToPath(dataLocation(table.metadata));
  return (await readdir(dir)).filter((n) => n.endsWith('.puffin'));
}

for (const [label, spec] of [
  ['unpartitioned', undefined],
  ['partitioned by day', BY_DAY],
] as [string, PartitionSpec | undefined][]) {
  const partitioned = spec !== undefined;
  test(`v3 ${label}: upserts → vectors, one per affected data file, exactly the deleted positions; a second round merges them`, async () => {
    await withTable(
      async ({ table, catalog }: TableEnv) => {
        // 300 rows over 5 days (unpartitioned: 2 files), then upserts touching both appends.
        const a1 = await append(table, 0, 200, partitioned);
        const a2 = await append(table, 200, 100, partitioned);
        const firstKeys = [5, 80, 150, 210, 250];
        const u1 = await upsert(table, firstKeys, partitioned);
        const before = await sortedRows(catalog);
        assert.equal(before.length, 300);

        const r1 = await convertEqualityDeletes(table);
        await table.refresh();
        const s1 = summary(table);
        assert.equal(s1['operation'], 'replace');
        assert.equal(r1.snapshotId, snapshotForRef(table.metadata, 'main')!['snapshot-id']);
        assert.deepEqual(await sortedRows(catalog), before, 'rows identical after the first conversion');
        const live1 = await liveDeletes(table);
        assert.ok(!live1.some((d) => d.file.content === FileContent.EQUALITY_DELETES), 'no equality delete file live');

        // Where each upserted key's old row sits: the appended files, never the upsert's own.
        const fileOf = (i: number, files: Written[]) => files.find((w) => w.rows.includes(i))!.file.file_path;
        const deleted1 = new Map<string, number[]>();
        for (const i of firstKeys) {
          const f = fileOf(i, [...a1, ...a2]);
          deleted1.set(f, [...(deleted1.get(f) ?? []), i]);
        }
        const expected1 = expectedPositions([...a1, ...a2], deleted1);
        const dvs1 = await vectorsByFile(table);
        assert.deepEqual(new Map([...dvs1].map(([k, v]) => [k, v.positions])), expected1, 'one vector per affected data file, exactly its positions');
        assert.equal(s1['added-dvs'], String(expected1.size));
        assert.equal(s1['removed-dvs'] ?? '0', '0');
        assert.equal(s1['added-position-deletes'], String(firstKeys.length));
        assert.equal(s1['removed-equality-delete-files'], String(partitioned ? new Set(firstKeys.map(dayOf)).size : 1));
        assert.equal(s1['removed-equality-deletes'], String(firstKeys.length));
        assert.equal(r1.addedDeletionVectors, expected1.size);
        assert.equal(r1.replacedDeletionVectors, 0);
        assert.equal(r1.positions, firstKeys.length);
        assert.equal(r1.addedPositionDeleteFiles, 0);

        // The entries: one Puffin file, as Java's BaseDVFileWriter describes its vectors.
        const paths = new Set([...dvs1.values()].map((v) => v.dv.file_path));
        assert.equal(paths.size, 1, 'all vectors of a conversion in one Puffin file');
        const puffin = await table.io.read([...paths][0]!);
        const footer = readPuffinFooter(puffin, 'test');
        assert.equal(footer.blobs.length, expected1.size);
        for (const [target, { dv, specId, positions }] of dvs1) {
          const data = [...a1, ...a2].find((w) => w.file.file_path === target)!.file;
          assert.equal(dv.content, FileContent.POSITION_DELETES);
          assert.equal(dv.file_size_in_bytes, puffin.length);
          assert.equal(dv.record_count, positions.length);
          assert.deepEqual(dv.partition, data.partition);
          assert.equal(specId, 0);
          const blob = footer.blobs.find((b) => b.offset === dv.content_offset)!;
          assert.ok(blob, 'content_offset is a blob of the footer');
          assert.equal(blob.length, dv.content_size_in_bytes);
          assert.equal(blob.type, 'deletion-vector-v1');
          assert.deepEqual(blob.properties, { 'referenced-data-file': target, cardinality: String(positions.length) });
          assert.equal(blob['snapshot-id'], -1n);
          assert.equal(dv.lower_bounds, undefined, 'no metrics, as Java');
        }
        // The vectors' data sequence number: the highest of the affected data files (the appends').
        assert.equal(r1.dataSequenceNumber, 2n);

        // Round two: the same data files again (6, 81, 211), and key 5 whose live row is now the
        // first upsert's file (no vector yet).
        const secondKeys = [5, 6, 81, 211];
        await upsert(table, secondKeys, partitioned);
        const before2 = await sortedRows(catalog);
        const r2 = await convertEqualityDeletes(table);
        await table.refresh();
        assert.deepEqual(await sortedRows(catalog), before2, 'rows identical after the second conversion');
        const deleted2 = new Map(deleted1);
        for (const i of [6, 81, 211]) {
          const f = fileOf(i, [...a1, ...a2]);
          deleted2.set(f, [...(deleted2.get(f) ?? []), i]);
        }
        deleted2.set(fileOf(5, u1), [5]);
        const expected2 = expectedPositions([...a1, ...a2, ...u1], deleted2);
        const dvs2 = await vectorsByFile(table);
        assert.deepEqual(new Map([...dvs2].map(([k, v]) => [k, v.positions])), expected2, 'merged vectors: old positions and new, one per data file');
        const replaced = [...expected1.keys()].filter((f) => (deleted2.get(f) ?? []).length > (deleted1.get(f) ?? []).length).length;
        const s2 = summary(table);
        assert.equal(s2['operation'], 'replace');
        assert.equal(s2['removed-dvs'], String(replaced), 'the replaced vectors removed');
        assert.equal(s2['added-dvs'], String(replaced + 1));
        assert.equal(r2.replacedDeletionVectors, replaced);
        assert.equal(r2.positions, secondKeys.length);
        // Vectors not replaced still live in the first Puffin file (removal was by identity).
        const untouched = [...expected1.keys()].filter((f) => (deleted2.get(f) ?? []).length === (deleted1.get(f) ?? []).length);
        for (const f of untouched) assert.equal(dvs2.get(f)!.dv.file_path, dvs1.get(f)!.dv.file_path);
        if (untouched.length > 0) assert.ok(replaced > 0, 'the test replaces some vectors of a shared Puffin file and keeps others');
        assert.ok(!(await liveDeletes(table)).some((d) => d.file.content === FileContent.EQUALITY_DELETES));
        assert.equal(before2.length, 300);
      },
      { formatVersion: 3, ...(spec ? { spec } : {}) },
    );
  });
}

test('v3: a vector committed meanwhile for an affected data file abandons the conversion (nothing committed, Puffin file deleted); one for another file does not', async () => {
  await withTable(
    async ({ table, catalog }) => {
      const [a] = await append(table, 0, 100, false);
      const [b] = await append(table, 100, 50, false);
      await upsert(table, [3, 4], false); // only file a is affected
      const before = await sortedRows(catalog);

      // Added for the affected file a: two live vectors would be invalid.
      const writer = await Table.load(catalog, ID);
      const concurrent = interleaving(catalog, async () => {
        await writer.refresh();
        const [dv] = await deletionVectors(writer, [[a!.file, [50]]]);
        await writer.newRowDelta().addDeletes(dv!).commit();
      });
      const racing = await Table.load(concurrent, ID);
      const head = async () => (await Table.load(catalog, ID)).metadata['current-snapshot-id'];
      await assert.rejects(convertEqualityDeletes(racing), (e: unknown) => e instanceof ValidationError && /already has a deletion vector/.test(e.message));
      const afterRace = await Table.load(catalog, ID);
      assert.equal(summary(afterRace)['operation'], 'delete', 'the concurrent row delta is the head: nothing committed');
      assert.ok((await liveDeletes(afterRace)).some((d) => d.file.content === FileContent.EQUALITY_DELETES), 'the equality deletes stay');
      assert.deepEqual((await puffinFiles(table)).filter((n) => !n.startsWith('dv-test-')), [], "the conversion's Puffin file is deleted");
      const racedRows = await sortedRows(catalog);
      assert.equal(racedRows.length, before.length - 1, 'the concurrent vector deletes its row');

      // Now a has a vector, which the next conversion merges; a vector added meanwhile for b
      // (not affected) is kept beside the conversion's.
      const writer2 = await Table.load(catalog, ID);
      const other = interleaving(catalog, async () => {
        await writer2.refresh();
        const [dv] = await deletionVectors(writer2, [[b!.file, [7]]]);
        await writer2.newRowDelta().addDeletes(dv!).commit();
      });
      const headBefore = await head();
      const r = await convertEqualityDeletes(await Table.load(other, ID));
      assert.ok(r.snapshotId !== undefined && r.snapshotId !== headBefore);
      assert.equal(r.replacedDeletionVectors, 1);
      await table.refresh();
      const dvs = await vectorsByFile(table);
      assert.deepEqual(dvs.get(a!.file.file_path)?.positions, [3, 4, 50], 'merged with the vector committed by the race');
      assert.deepEqual(dvs.get(b!.file.file_path)?.positions, [7]);
      assert.equal((await sortedRows(catalog)).length, before.length - 2);
    },
    { formatVersion: 3 },
  );
});

test('v3: a concurrent commit replacing a vector the conversion replaces abandons it', async () => {
  await withTable(
    async ({ table, catalog }) => {
      const [a] = await append(table, 0, 100, false);
      const [dv] = await deletionVectors(table, [[a!.file, [1]]]);
      await table.refresh();
      await table.newRowDelta().addDeletes(dv!).commit();
      await upsert(table, [3], false);
      const writer = await Table.load(catalog, ID);
      const concurrent = interleaving(catalog, async () => {
        await writer.refresh();
        const [merged] = await deletionVectors(writer, [[a!.file, [1, 2]]]);
        await writer.newRowDelta().removeDeletes(dv!).addDeletes(merged!).commit();
      });
      await assert.rejects(convertEqualityDeletes(await Table.load(concurrent, ID)), (e: unknown) => e instanceof ValidationError && /no longer in the table/.test(e.message));
      const after = await Table.load(catalog, ID);
      assert.equal(summary(after)['operation'], 'delete');
      assert.deepEqual((await vectorsByFile(after)).get(a!.file.file_path)?.positions, [1, 2]);
      assert.deepEqual((await puffinFiles(table)).filter((n) => !n.startsWith('dv-test-')), []);
    },
    { formatVersion: 3 },
  );
});

test('v3: a failed commit deletes the written Puffin file; the table is unchanged and converts later', async () => {
  await withTable(
    async ({ table, catalog, io }) => {
      await append(table, 0, 100, false);
      await upsert(table, [3, 9], false);
      await table.refresh();
      const head = table.metadata['current-snapshot-id'];
      const before = await sortedRows(catalog);
      io.writesLeft = 1; // the Puffin file is written, the first manifest is not
      await assert.rejects(convertEqualityDeletes(table), /injected write failure/);
      assert.equal(io.writes > 0, true);
      io.heal();
      assert.deepEqual(await puffinFiles(table), [], 'the Puffin file is deleted');
      await table.refresh();
      assert.equal(table.metadata['current-snapshot-id'], head, 'nothing committed');
      assert.deepEqual(await sortedRows(catalog), before);
      const r = await convertEqualityDeletes(table);
      assert.equal(r.addedDeletionVectors, 1);
      assert.deepEqual(await sortedRows(catalog), before);
    },
    { formatVersion: 3 },
  );
});

test('v3 upgraded from v2: position delete files of affected data files are merged into the vectors, file-scoped ones removed', async () => {
  await withTable(async ({ table, catalog }) => {
    const [a] = await append(table, 0, 100, false);
    const [b] = await append(table, 100, 50, false);
    // v2 deletes: a partition-wide position delete file for a, a file-scoped one for b.
    const wide = await positionDeleteFile(table, a!.file, [1, 2]);
    const scoped = { ...(await positionDeleteFile(table, b!.file, [0])), referenced_data_file: b!.file.file_path };
    await table.refresh();
    await table.newOverwrite().addFile(wide).addFile(scoped).commit();
    await upsert(table, [10, 120], false);
    await table.refresh();
    await table.commitRaw([], [{ action: 'upgrade-format-version', 'format-version': 3 }]);
    await table.refresh();
    assert.equal(table.metadata['format-version'], 3);
    const before = await sortedRows(catalog);
    assert.equal(before.length, 150 - 3, 'rows 1, 2 and 100 deleted by position, the upserted keys replaced');

    const r = await convertEqualityDeletes(table);
    assert.equal(r.addedDeletionVectors, 2);
    assert.equal(r.positions, 2, 'the new positions only');
    await table.refresh();
    assert.deepEqual(await sortedRows(catalog), before, 'rows identical');
    const dvs = await vectorsByFile(table);
    assert.deepEqual(dvs.get(a!.file.file_path)?.positions, [1, 2, 10], "a's position deletes merged");
    assert.deepEqual(dvs.get(b!.file.file_path)?.positions, [0, 20], "b's file-scoped position deletes merged");
    const live = (await liveDeletes(table)).map((d) => d.file.file_path);
    assert.ok(live.includes(wide.file_path), 'the partition-wide position delete file stays (it may serve other data files)');
    assert.ok(!live.includes(scoped.file_path), 'the file-scoped one is removed, as Java discards it');
    assert.equal(summary(table)['removed-position-delete-files'], '1');
  });
});
