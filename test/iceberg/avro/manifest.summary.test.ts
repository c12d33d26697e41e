import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { inheritSequenceNumbers, readManifest } from '../../../src/iceberg/avro/manifest.js';
import { readManifestList, UNASSIGNED_SEQUENCE_NUMBER, writeManifestList } from '../../../src/iceberg/avro/manifest-list.js';
import { encodeManifest, partitionSummaries, summarizeManifest } from '../../../src/iceberg/avro/summary.js';
import { partitionType } from '../../../src/iceberg/partitioning.js';
import { parseSchema } from '../../../src/iceberg/schema-parse.js';
import type { DataFile, ManifestEntry } from '../../../src/iceberg/manifest-types.js';
import type { PartitionField, PartitionSpec } from '../../../src/iceberg/metadata.js';
import type { IcebergValue, PrimitiveType, Schema, StructType } from '../../../src/iceberg/types.js';
import { fixturePath, SKIP_NO_SHARED } from '../../helpers/shared.js';

/** The partition type of a spec whose fields come from manifest metadata JSON. */
const partitionTypeOf = (fields: PartitionField[], schema: Schema): StructType => partitionType({ 'spec-id': 0, fields }, schema);

const entry = (status: 0 | 1 | 2, partition: IcebergValue[], rows: number, seq: bigint | null = null): ManifestEntry => ({
  status,
  snapshot_id: null,
  sequence_number: seq,
  file_sequence_number: seq,
  data_file: { content: 0, file_path: `f${rows}.parquet`, file_format: 'PARQUET', partition, record_count: rows, file_size_in_bytes: 10 } as DataFile,
});

test('summary: partition summaries equal what Spark/Java wrote for every fixture manifest', { skip: SKIP_NO_SHARED }, () => {
  let compared = 0;
  const root = fixturePath('iceberg-tables');
  const dirs = [
    'java_eq_deletes_partitioned/metadata',
    'spark_bucket_rename_column/metadata',
    'spark_partition_evolution_missing_cols/metadata',
    'spark_v1_cow_schemaevol/pyspark_iceberg_table/metadata',
    'spark_v2_posdeletes_schemaevol/pyspark_iceberg_table/metadata',
  ];
  for (const dir of dirs) {
    const files = readdirSync(join(root, dir)).filter((f) => f.endsWith('.avro'));
    for (const list of files.filter((f) => f.startsWith('snap-'))) {
      for (const mf of readManifestList(readFileSync(join(root, dir, list)), list)) {
        const name = mf.manifest_path.slice(mf.manifest_path.lastIndexOf('/') + 1);
        const m = readManifest(readFileSync(join(root, dir, name)), name);
        const schema = parseSchema(JSON.parse(m.meta.schemaJson!));
        const pt = partitionTypeOf(JSON.parse(m.meta.partitionSpecJson!) as PartitionField[], schema);
        assert.deepEqual(partitionSummaries(pt, m.entries), mf.partitions, `${dir}/${name}`);
        const s = summarizeManifest({
          spec: { 'spec-id': mf.partition_spec_id, fields: JSON.parse(m.meta.partitionSpecJson!) as PartitionField[] },
          partitionType: pt,
          content: mf.content === 0 ? 'data' : 'deletes',
          entries: m.entries,
          snapshotId: mf.added_snapshot_id,
          path: mf.manifest_path,
          length: mf.manifest_length,
        });
        // Everything but the sequence numbers, which only the list knows.
        assert.deepEqual({ ...s, sequence_number: 0n, min_sequence_number: 0n }, { ...mf, sequence_number: 0n, min_sequence_number: 0n });
        compared++;
      }
    }
  }
  assert.ok(compared >= 40, `compared ${compared} manifests`);
});

test('summary: counts by status, rows, and the minimum explicit sequence number of live entries', () => {
  const spec: PartitionSpec = { 'spec-id': 0, fields: [] };
  const pt: StructType = { type: 'struct', fields: [] };
  const entries = [entry(1, [], 10), entry(1, [], 5), entry(0, [], 7, 4n), entry(2, [], 100, 1n), entry(0, [], 1, 6n)];
  const s = summarizeManifest({ spec, partitionType: pt, content: 'data', entries, snapshotId: 9n, path: 'p', length: 3 });
  assert.deepEqual(s, {
    manifest_path: 'p',
    manifest_length: 3,
    partition_spec_id: 0,
    content: 0,
    sequence_number: UNASSIGNED_SEQUENCE_NUMBER,
    min_sequence_number: 4n,
    added_snapshot_id: 9n,
    added_files_count: 2,
    existing_files_count: 2,
    deleted_files_count: 1,
    added_rows_count: 15,
    existing_rows_count: 8,
    deleted_rows_count: 100,
    partitions: [],
  });
  const onlyAdded = summarizeManifest({ spec, partitionType: pt, content: 'deletes', entries: entries.slice(0, 2), snapshotId: 9n, path: 'p', length: 3 });
  assert.equal(onlyAdded.min_sequence_number, UNASSIGNED_SEQUENCE_NUMBER, 'all inherit: unassigned until the list is written');
  assert.equal(onlyAdded.content, 1);
});

test('summary: nulls, NaN, signed zeros and code-point string order', () => {
  const pt: StructType = {
    type: 'struct',
    fields: [
      { id: 1000, name: 'x', required: false, type: 'double' },
      { id: 1001, name: 's', required: false, type: 'string' },
      { id: 1002, name: 'all_null', required: false, type: 'long' },
      { id: 1003, name: 'd', required: false, type: 'decimal(9,2)' },
    ],
  };
  const es = [
    entry(1, [NaN, '\uE000', null, -5n], 1),
    entry(1, [0, '😀', null, 300n], 1),
    entry(1, [-0, 'a', null, null], 1),
  ];
  const [x, s, allNull, d] = partitionSummaries(pt, es);
  assert.deepEqual(x, {
    contains_null: false,
    contains_nan: true,
    lower_bound: Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0x80),
    upper_bound: Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0),
  });
  assert.deepEqual(s, {
    contains_null: false,
    contains_nan: false,
    lower_bound: new TextEncoder().encode('a'),
    upper_bound: new TextEncoder().encode('😀'),
  });
  assert.deepEqual(allNull, { contains_null: true, contains_nan: false });
  assert.deepEqual(d, { contains_null: true, contains_nan: false, lower_bound: Uint8Array.of(0xfb), upper_bound: Uint8Array.of(0x01, 0x2c) });
});

test('summary: encodeManifest → writeManifestList → read back with inheritance (a commit end to end)', () => {
  const schema: Schema = {
    type: 'struct',
    'schema-id': 0,
    fields: [
      { id: 1, name: 'id', required: true, type: 'long' },
      { id: 2, name: 'day', required: false, type: 'date' },
    ],
  };
  const spec: PartitionSpec = {
    'spec-id': 1,
    fields: [
      { name: 'id_bucket', transform: 'bucket[4]', 'source-id': 1, 'field-id': 1000 },
      { name: 'day', transform: 'identity', 'source-id': 2, 'field-id': 1001 },
    ],
  };
  const pt = partitionType(spec, schema);
  assert.deepEqual(
    pt.fields.map((f) => f.type as PrimitiveType),
    ['int', 'date'],
  );
  const snapshotId = 3083072880052097243n;
  const entries = [entry(1, [0, 18993], 2), entry(1, [3, null], 1), entry(1, [2, 18994], 1)];
  const { bytes, manifest } = encodeManifest({ formatVersion: 2, spec, schema, partitionType: pt, content: 'data', entries, snapshotId, path: 's3://b/t/metadata/x-m0.avro' });
  assert.equal(manifest.manifest_length, bytes.length);
  assert.equal(manifest.sequence_number, UNASSIGNED_SEQUENCE_NUMBER);
  // The same summary Spark wrote for these partitions (spark_bucket_rename_column).
  assert.deepEqual(manifest.partitions, [
    { contains_null: false, contains_nan: false, lower_bound: Uint8Array.of(0, 0, 0, 0), upper_bound: Uint8Array.of(3, 0, 0, 0) },
    { contains_null: true, contains_nan: false, lower_bound: Uint8Array.of(0x31, 0x4a, 0, 0), upper_bound: Uint8Array.of(0x32, 0x4a, 0, 0) },
  ]);

  const old = { ...manifest, manifest_path: 'old.avro', sequence_number: 1n, min_sequence_number: 1n, added_snapshot_id: 1n };
  const list = writeManifestList({ formatVersion: 2, snapshotId, parentSnapshotId: 1n, sequenceNumber: 2n, manifests: [manifest, old] });
  const [mine, theirs] = readManifestList(list);
  assert.deepEqual(mine, { ...manifest, sequence_number: 2n, min_sequence_number: 2n });
  assert.deepEqual(theirs, old);
  const read = inheritSequenceNumbers(readManifest(bytes).entries, mine!);
  assert.deepEqual(
    read.map((e) => [e.snapshot_id, e.sequence_number, e.file_sequence_number, e.data_file.partition]),
    [
      [snapshotId, 2n, 2n, [0, 18993]],
      [snapshotId, 2n, 2n, [3, null]],
      [snapshotId, 2n, 2n, [2, 18994]],
    ],
  );
  assert.throws(
    () => encodeManifest({ formatVersion: 2, spec, schema, partitionType: pt, content: 'data', entries, path: 'p.avro' }),
    /^ValidationError: avro: p.avro: encodeManifest needs the snapshotId adding the manifest$/,
  );
});
