/** Snapshot summaries: mergeSummary totals (checked against Spark/Java-written summaries) and summarizeFiles. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ValidationError } from '../../src/errors.js';
import type { DataFile } from '../../src/iceberg/manifest-types.js';
import { mergeSummary, summarizeFiles, type SnapshotChanges } from '../../src/iceberg/snapshot.js';
import { parseTableMetadata } from '../../src/iceberg/table-metadata.js';
import { fixturePath, SKIP_NO_SHARED } from '../helpers/shared.js';

test('first snapshot: totals start from zero, zero counts are omitted', () => {
  const s = mergeSummary('append', { addedDataFiles: 2, addedRecords: 10, addedFilesSize: 1234, deletedDataFiles: 0, changedPartitionCount: 1 }, undefined, {
    'floe.checkpoint.shard-0': '4959',
  });
  assert.deepEqual(s, {
    operation: 'append',
    'floe.checkpoint.shard-0': '4959',
    'added-data-files': '2',
    'added-records': '10',
    'added-files-size': '1234',
    'changed-partition-count': '1',
    'total-records': '10',
    'total-files-size': '1234',
    'total-data-files': '2',
    'total-delete-files': '0',
    'total-position-deletes': '0',
    'total-equality-deletes': '0',
  });
});

test('totals carry forward from the parent; unknown parent totals stay unknown', () => {
  const parent = { operation: 'append', 'total-records': '100', 'total-files-size': '5000', 'total-data-files': '3', 'total-delete-files': 'x' };
  const s = mergeSummary('overwrite', { addedDataFiles: 1, deletedDataFiles: 2, addedRecords: 5, deletedRecords: 60, addedFilesSize: 100, removedFilesSize: 3000 }, parent);
  assert.equal(s['total-records'], '45');
  assert.equal(s['total-files-size'], '2100');
  assert.equal(s['total-data-files'], '2');
  assert.equal(s['total-delete-files'], undefined, 'unparseable parent total');
  assert.equal(s['total-position-deletes'], undefined, 'missing parent total');
  // A total that would go negative is dropped rather than written wrong.
  assert.equal(mergeSummary('delete', { deletedRecords: 500 }, parent)['total-records'], undefined);
});

test('extra keys cannot override operation or standard counts; bad counts are rejected', () => {
  const s = mergeSummary('append', { addedRecords: 1 }, undefined, { operation: 'delete', 'added-records': '99', 'total-records': '7', custom: 'x' });
  assert.equal(s.operation, 'append');
  assert.equal(s['added-records'], '1');
  assert.equal(s['total-records'], '1');
  assert.equal(s.custom, 'x');
  assert.throws(() => mergeSummary('append', { addedRecords: -1 }, undefined), ValidationError);
  assert.throws(() => mergeSummary('append', { addedFilesSize: 1.5 }, undefined), ValidationError);
});

test('sizes beyond 2^53 are summed exactly', () => {
  const s = mergeSummary('append', { addedFilesSize: 9007199254740993n }, { operation: 'append', 'total-files-size': '9007199254740993' });
  assert.equal(s['total-files-size'], '18014398509481986');
});

const CHANGE_FIELDS: [string, keyof SnapshotChanges][] = [
  ['added-data-files', 'addedDataFiles'],
  ['deleted-data-files', 'deletedDataFiles'],
  ['added-records', 'addedRecords'],
  ['deleted-records', 'deletedRecords'],
  ['added-files-size', 'addedFilesSize'],
  ['removed-files-size', 'removedFilesSize'],
  ['added-delete-files', 'addedDeleteFiles'],
  ['removed-delete-files', 'removedDeleteFiles'],
  ['added-position-delete-files', 'addedPositionDeleteFiles'],
  ['removed-position-delete-files', 'removedPositionDeleteFiles'],
  ['added-equality-delete-files', 'addedEqualityDeleteFiles'],
  ['removed-equality-delete-files', 'removedEqualityDeleteFiles'],
  ['added-position-deletes', 'addedPositionDeletes'],
  ['removed-position-deletes', 'removedPositionDeletes'],
  ['added-equality-deletes', 'addedEqualityDeletes'],
  ['removed-equality-deletes', 'removedEqualityDeletes'],
];

for (const table of [
  ['spark_v2_posdeletes_schemaevol', 'pyspark_iceberg_table', 'metadata', 'v9.metadata.json'],
  ['java_eq_deletes_partitioned', 'metadata', 'v6.metadata.json'],
]) {
  test(`mergeSummary reproduces every summary of ${table[0]} from its counts and the parent`, { skip: SKIP_NO_SHARED }, () => {
    const md = parseTableMetadata(readFileSync(fixturePath('iceberg-tables', ...table), 'utf8'));
    assert.ok(md.snapshots.length >= 5);
    for (const snap of md.snapshots) {
      const actual = snap.summary;
      const changes: SnapshotChanges = {};
      const extra: Record<string, string> = {};
      for (const [k, v] of Object.entries(actual)) {
        const field = CHANGE_FIELDS.find(([key]) => key === k)?.[1];
        if (field !== undefined) (changes as Record<string, number>)[field] = Number(v);
        else if (k === 'changed-partition-count') changes.changedPartitionCount = Number(v);
        else if (k !== 'operation' && !k.startsWith('total-')) extra[k] = v;
      }
      const parentId = snap['parent-snapshot-id'];
      const parent = parentId === undefined ? undefined : md.snapshots.find((s) => s['snapshot-id'] === parentId)?.summary;
      assert.deepEqual(mergeSummary(actual.operation, changes, parent, extra), actual, `snapshot ${snap['snapshot-id']}`);
    }
  });
}

const file = (content: 0 | 1 | 2, records: number, size: number, partition: DataFile['partition'], format = 'PARQUET', extra: Partial<DataFile> = {}): DataFile => ({
  content: content as DataFile['content'],
  file_path: `f-${Math.random()}`,
  file_format: format,
  partition,
  record_count: records,
  file_size_in_bytes: size,
  ...extra,
});

test('summarizeFiles counts data files, delete files and DVs like Java', () => {
  const c = summarizeFiles(
    [
      file(0, 10, 100, [1, 'a']),
      file(0, 5, 50, [2, 'a']),
      file(1, 3, 30, [1, 'a']),
      file(2, 2, 20, [3n, null]),
      file(1, 4, 900, [1, 'a'], 'PUFFIN', { content_offset: 4, content_size_in_bytes: 40 }),
    ],
    [file(0, 7, 70, [new Uint8Array([1, 2]), 'b']), file(1, 1, 11, [1, 'a'])],
  );
  assert.deepEqual(c, {
    addedDataFiles: 2,
    deletedDataFiles: 1,
    addedRecords: 15n,
    deletedRecords: 7n,
    addedFilesSize: 240n, // a DV counts its blob (40), not the Puffin file (900)
    removedFilesSize: 81n,
    addedDeleteFiles: 3,
    removedDeleteFiles: 1,
    addedPositionDeleteFiles: 1,
    removedPositionDeleteFiles: 1,
    addedEqualityDeleteFiles: 1,
    removedEqualityDeleteFiles: 0,
    addedDVs: 1,
    removedDVs: 0,
    addedPositionDeletes: 7n,
    removedPositionDeletes: 1n,
    addedEqualityDeletes: 2n,
    removedEqualityDeletes: 0n,
    changedPartitionCount: 4,
  });
  const s = mergeSummary('overwrite', c, undefined);
  assert.equal(s['added-dvs'], '1');
  assert.equal(s['total-delete-files'], '2');
  assert.equal(s['total-records'], '8');
  assert.equal(s['removed-equality-delete-files'], undefined);
});
