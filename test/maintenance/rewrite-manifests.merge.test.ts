import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readManifestList } from '../../src/iceberg/avro/manifest-list.js';
import { ManifestContent, type ManifestFile } from '../../src/iceberg/manifest-types.js';
import { planManifestMerge, rewriteManifests } from '../../src/maintenance/rewrite-manifests.js';
import { planTableScan } from '../../src/query/table-scan.js';
import type { Table } from '../../src/table/table.js';
import { appendRows, assertRows, BY_DAY, commitDeletes, equalityDeleteFile, liveDataFiles, positionDeleteFile, sortedRows, withTable } from './helpers.js';

async function manifests(table: Table): Promise<ManifestFile[]> {
  await table.refresh();
  const list = table.currentSnapshot()!['manifest-list']!;
  return readManifestList(await table.io.read(list), list);
}

test('rewrite-manifests: many small manifests become one per spec and content; rows, deletes and sequence numbers unchanged', async () => {
  await withTable(async ({ catalog, table }) => {
    for (let i = 0; i < 8; i++) await appendRows(table, i * 10, 10, { 'floe.checkpoint.s.shard-0': String(i) });
    const target = (await liveDataFiles(table))[3]!;
    await commitDeletes(table, [await positionDeleteFile(table, target, [2])]);
    for (let i = 8; i < 12; i++) await appendRows(table, i * 10, 10);
    // An equality delete at sequence 14 applies to rows appended before it only.
    await commitDeletes(table, [await equalityDeleteFile(table, ['evt_000005', 'evt_000115'])]);
    await appendRows(table, 115, 1); // re-adds evt_000115 after the delete: it must stay visible
    const before = await sortedRows(catalog);
    assert.equal(before.length, 120 - 1 - 2 + 1);
    await table.refresh();
    const seqBefore = (await planTableScan(table.io, table.metadata, { ref: 'main' })).tasks
      .map((t) => `${t.file.file_path}:${t.dataSequenceNumber}:${t.fileSequenceNumber}:${t.deletes.length}`)
      .sort();
    assert.equal((await manifests(table)).length, 15);

    const r = await rewriteManifests(table);
    assert.equal(r.manifestsBefore, 15);
    assert.equal(r.manifestsAfter, 2, 'one data and one delete manifest');
    assert.equal(r.replacedManifests, 15);
    assert.equal(r.createdManifests, 2);
    await assertRows(catalog, before, 'after rewriting manifests');
    const after = await manifests(table);
    assert.deepEqual(after.map((m) => m.content).sort(), [ManifestContent.DATA, ManifestContent.DELETES]);
    const seqAfter = (await planTableScan(table.io, table.metadata, { ref: 'main' })).tasks
      .map((t) => `${t.file.file_path}:${t.dataSequenceNumber}:${t.fileSequenceNumber}:${t.deletes.length}`)
      .sort();
    assert.deepEqual(seqAfter, seqBefore, 'data/file sequence numbers and applicable deletes are preserved');
    const snap = table.currentSnapshot()!;
    assert.equal(snap.summary.operation, 'replace');
    assert.equal(snap.summary['manifests-replaced'], '15');
    assert.equal(snap.summary['floe.checkpoint.s.shard-0'], '7');
    assert.equal(snap.summary['total-records'], table.metadata.snapshots.find((s) => s['snapshot-id'] === snap['parent-snapshot-id'])!.summary['total-records']);

    // Nothing left to merge: no new snapshot.
    const again = await rewriteManifests(table);
    assert.equal(again.snapshotId, undefined);
  });
});

test('rewrite-manifests: min-manifests and the target size limit the merge', async () => {
  await withTable(
    async ({ catalog, table }) => {
      for (let i = 0; i < 6; i++) await appendRows(table, i * 40, 40);
      const before = await sortedRows(catalog);
      assert.equal((await rewriteManifests(table, { minManifests: 10 })).snapshotId, undefined);
      const ms = await manifests(table);
      const size = Math.max(...ms.map((m) => m.manifest_length));
      const r = await rewriteManifests(table, { targetManifestSizeBytes: size * 2 + 1 });
      assert.equal(r.manifestsAfter, 3);
      await assertRows(catalog, before, 'after a bounded merge');
    },
    { spec: BY_DAY },
  );
});

test('planManifestMerge: groups by spec and content, skips big manifests and single ones', () => {
  const m = (path: string, spec: number, content: ManifestContent, length: number): ManifestFile => ({
    manifest_path: path,
    manifest_length: length,
    partition_spec_id: spec,
    content,
    sequence_number: 1n,
    min_sequence_number: 1n,
    added_snapshot_id: 1n,
    added_files_count: 1,
    existing_files_count: 0,
    deleted_files_count: 0,
    added_rows_count: 1,
    existing_rows_count: 0,
    deleted_rows_count: 0,
  });
  const bins = planManifestMerge(
    [
      m('a', 0, ManifestContent.DATA, 10),
      m('b', 0, ManifestContent.DATA, 10),
      m('c', 0, ManifestContent.DELETES, 10),
      m('d', 1, ManifestContent.DATA, 10),
      m('e', 1, ManifestContent.DATA, 100),
      m('f', 0, ManifestContent.DATA, 95),
    ],
    100,
  );
  assert.deepEqual(bins.map((b) => b.map((x) => x.manifest_path)), [['b', 'a']]);
});
