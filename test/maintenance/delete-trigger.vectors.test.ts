/**
 * The delete-file trigger on deletion vectors (`maintenance/delete-trigger.ts`): vectors count by
 * the rows they delete, each once (several share a Puffin file), against `minVectorRatio`; a
 * partition with other delete files keeps the file-count and ratio rule.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deleteLoad, deleteTriggered } from '../../src/maintenance/delete-trigger.js';
import { FileContent, type DataFile } from '../../src/iceberg/manifest-types.js';
import type { FileScanTask } from '../../src/iceberg/scan.js';

const data = (path: string, rows: number): DataFile => ({ content: FileContent.DATA, file_path: path, file_format: 'PARQUET', partition: [], record_count: rows, file_size_in_bytes: 1000 });
const vector = (puffin: string, offset: number, target: string, rows: number): DataFile => ({
  content: FileContent.POSITION_DELETES,
  file_path: puffin,
  file_format: 'PUFFIN',
  partition: [],
  record_count: rows,
  file_size_in_bytes: 5000,
  referenced_data_file: target,
  content_offset: offset,
  content_size_in_bytes: 100,
});
const task = (file: DataFile, deletes: DataFile[]): FileScanTask => ({
  file,
  specId: 0,
  dataSequenceNumber: 1n,
  fileSequenceNumber: 1n,
  partition: [],
  deletes: deletes.map((d) => ({ file: d, specId: 0, dataSequenceNumber: 2n, fileSequenceNumber: 2n })),
});

test('delete trigger: deletion vectors count by their rows against minVectorRatio, no file count', () => {
  // Two data files of 100 rows, their vectors in one Puffin file: 25 + 20 deleted = 22.5%.
  const tasks = [task(data('a', 100), [vector('dv.puffin', 4, 'a', 25)]), task(data('b', 100), [vector('dv.puffin', 104, 'b', 20)]), task(data('c', 50), [])];
  assert.deepEqual(deleteLoad(tasks), { deleteFiles: 0, deleteRows: 45, dataRows: 250 });
  const thresholds = { minDeleteFiles: 1, minDeleteRatio: 0.05, minVectorRatio: 0.3 };
  assert.deepEqual(deleteTriggered(tasks, thresholds), [], '18% < 30%, whatever minDeleteFiles and minDeleteRatio say');
  assert.deepEqual(
    deleteTriggered(tasks, { ...thresholds, minVectorRatio: 0.15 }).map((t) => t.file.file_path),
    ['a', 'b'],
    'over the ratio: the files with a vector',
  );
  // Without minVectorRatio, minDeleteRatio applies.
  assert.equal(deleteTriggered(tasks, { minDeleteFiles: 1, minDeleteRatio: 0.15 }).length, 2);
  // An equality delete in the partition: the file-count rule again.
  const eq: DataFile = { content: FileContent.EQUALITY_DELETES, file_path: 'eq.parquet', file_format: 'PARQUET', partition: [], record_count: 1, file_size_in_bytes: 10, equality_ids: [1] };
  const mixed = [...tasks.slice(0, 2), task(data('c', 50), [eq])];
  assert.deepEqual(deleteLoad(mixed), { deleteFiles: 1, deleteRows: 46, dataRows: 250 });
  assert.equal(deleteTriggered(mixed, thresholds).length, 3, 'one delete file reaches minDeleteFiles 1');
});
