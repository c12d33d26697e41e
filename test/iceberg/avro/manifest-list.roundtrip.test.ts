import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError } from '../../../src/errors.js';
import { readAvroFile } from '../../../src/iceberg/avro/container.js';
import {
  assignFirstRowIds,
  readManifestList,
  UNASSIGNED_SEQUENCE_NUMBER,
  writeManifestList,
  type WriteManifestListOptions,
} from '../../../src/iceberg/avro/manifest-list.js';
import type { ManifestFile } from '../../../src/iceberg/manifest-types.js';

const SNAP = 6653143792592159268n;

const mf = (over: Partial<ManifestFile>): ManifestFile => ({
  manifest_path: 's3://b/t/metadata/m.avro',
  manifest_length: 6658,
  partition_spec_id: 0,
  content: 0,
  sequence_number: 3n,
  min_sequence_number: 2n,
  added_snapshot_id: 77n,
  added_files_count: 0,
  existing_files_count: 4,
  deleted_files_count: 1,
  added_rows_count: 0,
  existing_rows_count: 4000,
  deleted_rows_count: 2 ** 40,
  ...over,
});

const manifests: ManifestFile[] = [
  mf({
    manifest_path: 'new-data.avro',
    sequence_number: UNASSIGNED_SEQUENCE_NUMBER,
    min_sequence_number: UNASSIGNED_SEQUENCE_NUMBER,
    added_snapshot_id: SNAP,
    added_files_count: 2,
    added_rows_count: 20,
    partition_spec_id: 1,
    partitions: [
      { contains_null: true, contains_nan: false, lower_bound: Uint8Array.of(1, 0, 0, 0), upper_bound: Uint8Array.of(9, 0, 0, 0) },
      { contains_null: true, contains_nan: false },
      { contains_null: false },
    ],
  }),
  mf({ manifest_path: 'new-deletes.avro', content: 1, sequence_number: UNASSIGNED_SEQUENCE_NUMBER, min_sequence_number: 1n, added_snapshot_id: SNAP, partitions: [] }),
  mf({ manifest_path: 'old.avro', key_metadata: Uint8Array.of(1, 2, 3) }),
];

const opts = (over: Partial<WriteManifestListOptions>): WriteManifestListOptions => ({
  formatVersion: 2,
  snapshotId: SNAP,
  parentSnapshotId: 12n,
  sequenceNumber: 9n,
  manifests,
  ...over,
});

test('manifest list: v2 round trip assigns the commit sequence number to this snapshot’s manifests', () => {
  for (const codec of ['null', 'deflate'] as const) {
    const read = readManifestList(writeManifestList(opts({ codec })), 'l.avro');
    assert.deepEqual(read, [
      { ...manifests[0]!, sequence_number: 9n, min_sequence_number: 9n },
      { ...manifests[1]!, sequence_number: 9n, min_sequence_number: 1n },
      manifests[2],
    ]);
  }
});

test('manifest list: metadata keys and values', () => {
  const f = readAvroFile(writeManifestList(opts({})));
  assert.deepEqual(
    [...f.metadata].filter(([k]) => k !== 'avro.schema'),
    [
      ['avro.codec', 'deflate'],
      ['snapshot-id', '6653143792592159268'],
      ['parent-snapshot-id', '12'],
      ['sequence-number', '9'],
      ['format-version', '2'],
    ],
  );
  const root = readAvroFile(writeManifestList(opts({ parentSnapshotId: null })));
  assert.equal(root.metadata.get('parent-snapshot-id'), 'null');
  const node = f.schema.node;
  assert.ok(node.kind === 'record');
  assert.equal(node.name, 'manifest_file');
  assert.equal(node.byId.get(504)!.name, 'added_files_count');
});

test('manifest list: v1 drops sequence numbers, keeps the historical names, allows null counts', () => {
  const v1 = [mf({ added_files_count: null, existing_rows_count: null, partitions: [{ contains_null: false, contains_nan: true }] })];
  const bytes = writeManifestList(opts({ formatVersion: 1, manifests: v1, sequenceNumber: undefined }));
  const f = readAvroFile(bytes);
  assert.equal(f.metadata.get('sequence-number'), undefined);
  assert.equal(f.metadata.get('format-version'), '1');
  const node = f.schema.node;
  assert.ok(node.kind === 'record');
  assert.equal(node.byId.get(504)!.name, 'added_data_files_count');
  assert.equal(node.byId.get(515), undefined);
  assert.deepEqual(readManifestList(bytes), [{ ...v1[0]!, sequence_number: 0n, min_sequence_number: 0n }]);
});

test('manifest list: v3 assigns first_row_id to data manifests in order', () => {
  const ms = [
    mf({ manifest_path: 'a', added_rows_count: 100, existing_rows_count: 25, sequence_number: UNASSIGNED_SEQUENCE_NUMBER, added_snapshot_id: SNAP }),
    mf({ manifest_path: 'kept', first_row_id: 925n, existing_rows_count: 75 }),
    mf({ manifest_path: 'del', content: 1 }),
    mf({ manifest_path: 'b', added_rows_count: 0, existing_rows_count: 100 }),
  ];
  const { manifests: assigned, nextRowId } = assignFirstRowIds(ms, 1000n);
  assert.deepEqual(
    assigned.map((m) => m.first_row_id ?? null),
    [1000n, 925n, null, 1125n],
  );
  assert.equal(nextRowId, 1225n);
  const bytes = writeManifestList(opts({ formatVersion: 3, manifests: ms, firstRowId: 1000n }));
  assert.equal(readAvroFile(bytes).metadata.get('first-row-id'), '1000');
  assert.deepEqual(
    readManifestList(bytes).map((m) => [m.manifest_path, m.sequence_number, m.first_row_id ?? null]),
    [
      ['a', 9n, 1000n],
      ['kept', 3n, 925n],
      ['del', 3n, null],
      ['b', 3n, 1125n],
    ],
  );
  assert.throws(() => writeManifestList(opts({ formatVersion: 3, manifests: ms })), /manifest 0 \(a\): format v3 data manifests need a first_row_id/);
});

test('manifest list: write errors', () => {
  const bad = (o: Partial<WriteManifestListOptions>, re: RegExp) =>
    assert.throws(() => writeManifestList(opts(o)), (e: unknown) => e instanceof ValidationError && re.test(e.message), String(re));
  bad(
    { manifests: [mf({ sequence_number: UNASSIGNED_SEQUENCE_NUMBER, added_snapshot_id: 5n })] },
    /manifest 0 \(s3:\/\/b\/t\/metadata\/m.avro\): unassigned sequence number on a manifest added by snapshot 5/,
  );
  bad({ sequenceNumber: undefined }, /^avro: manifest list: format v2 needs the commit's sequenceNumber$/);
  bad({ manifests: [mf({ deleted_rows_count: null })] }, /format v2 requires all file and row counts/);
  bad({ formatVersion: 1, manifests: [mf({ content: 1 })] }, /format v1 has no delete manifests/);
  bad({ manifests: [mf({ min_sequence_number: -5n })] }, /invalid sequence numbers 3 \/ -5/);
  bad({ formatVersion: 4 as 2 }, /unsupported format version 4/);
});

test('manifest list: read errors name the manifest and the field', () => {
  const bytes = writeManifestList(opts({ formatVersion: 1, manifests: [mf({})], sequenceNumber: undefined }));
  assert.equal(readManifestList(bytes, 'x').length, 1);
  assert.throws(() => readManifestList(bytes.subarray(0, bytes.length - 3), 's3://b/snap-1.avro'), /^ValidationError: avro: s3:\/\/b\/snap-1.avro: truncated file/);
  assert.throws(() => readManifestList(Uint8Array.of(1, 2, 3, 4, 5), 's3://b/snap-1.avro'), /avro: s3:\/\/b\/snap-1.avro: invalid magic bytes/);
});
