/**
 * The two Java-written manifest lists in vectors/avro (vectors.md §6): same layout, but the older
 * writer names 504–506 `added_data_files_count`…; both must read the same by field id.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { readAvroFile } from '../../../src/iceberg/avro/container.js';
import { readManifestList } from '../../../src/iceberg/avro/manifest-list.js';
import type { ManifestFile } from '../../../src/iceberg/manifest-types.js';
import { fixturePath, SKIP_NO_SHARED } from '../../helpers/shared.js';

const file = (n: 1 | 2) => readFileSync(fixturePath('vectors', 'avro', `manifest-list-v2-${n}.avro`));

function namesById(n: 1 | 2): Map<number, string> {
  const f = readAvroFile(file(n), `manifest-list-v2-${n}.avro`);
  assert.equal(f.schema.node.kind, 'record');
  if (f.schema.node.kind !== 'record') return new Map();
  return new Map(f.schema.node.fields.map((x) => [x.fieldId!, x.name]));
}

test('vectors: manifest-list-v2-1 and -2 differ only in the names of 504–506', { skip: SKIP_NO_SHARED }, () => {
  const a = namesById(1);
  const b = namesById(2);
  assert.deepEqual([...a.keys()], [...b.keys()]);
  assert.deepEqual(
    [504, 505, 506].map((id) => [a.get(id), b.get(id)]),
    [
      ['added_data_files_count', 'added_files_count'],
      ['existing_data_files_count', 'existing_files_count'],
      ['deleted_data_files_count', 'deleted_files_count'],
    ],
  );
  for (const id of a.keys()) if (![504, 505, 506].includes(id)) assert.equal(a.get(id), b.get(id));
});

test('vectors: file metadata of the Java manifest lists', { skip: SKIP_NO_SHARED }, () => {
  for (const [n, snapshotId] of [
    [1, '6653143792592159268'],
    [2, '3083072880052097243'],
  ] as const) {
    const f = readAvroFile(file(n), `v2-${n}`);
    assert.equal(f.codec, 'deflate');
    assert.equal(f.metadata.get('snapshot-id'), snapshotId);
    assert.equal(f.metadata.get('parent-snapshot-id'), 'null');
    assert.equal(f.metadata.get('sequence-number'), '1');
    assert.equal(f.metadata.get('format-version'), '2');
    assert.ok(f.metadata.get('iceberg.schema')?.includes('"type":"struct"'));
  }
});

test('vectors: both decode to the same shape, resolved by field id', { skip: SKIP_NO_SHARED }, () => {
  const expected = (path: string, length: number, snapshotId: bigint): ManifestFile => ({
    manifest_path: path,
    manifest_length: length,
    partition_spec_id: 0,
    content: 0,
    sequence_number: 1n,
    min_sequence_number: 1n,
    added_snapshot_id: snapshotId,
    added_files_count: 1,
    existing_files_count: 0,
    deleted_files_count: 0,
    added_rows_count: 1,
    existing_rows_count: 0,
    deleted_rows_count: 0,
    partitions: [],
  });
  assert.deepEqual(readManifestList(file(1), 'v2-1'), [
    expected('iceberg-warehouse/people/metadata/794bd2ee-052c-449c-9a6f-3a88857c747f-m0.avro', 6658, 6653143792592159268n),
  ]);
  assert.deepEqual(readManifestList(file(2), 'v2-2'), [
    expected('iceberg-warehouse_2/people/metadata/80064d99-bd75-4cf3-9b27-13a60f189039-m0.avro', 6660, 3083072880052097243n),
  ]);
});
