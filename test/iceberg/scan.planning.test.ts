import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planFiles, planFilesWithStats, type PlanFilesOptions } from '../../src/iceberg/scan.js';
import { equal, greaterThan } from '../../src/iceberg/expressions.js';
import { toBinary } from '../../src/iceberg/conversions.js';
import type { DataFile, ManifestEntry, ManifestFile } from '../../src/iceberg/manifest-types.js';
import type { PartitionSpec, Snapshot, TableMetadata } from '../../src/iceberg/metadata.js';
import type { IcebergValue, Schema } from '../../src/iceberg/types.js';
import { ValidationError } from '../../src/errors.js';

const schema: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'cat', required: false, type: 'string' },
  ],
};
const unpartitioned: PartitionSpec = { 'spec-id': 0, fields: [] };
const byCat: PartitionSpec = { 'spec-id': 1, fields: [{ 'source-id': 2, 'field-id': 1000, name: 'cat', transform: 'identity' }] };

function metadata(formatVersion: 1 | 2 = 2): TableMetadata {
  return {
    'format-version': formatVersion,
    'table-uuid': '00000000-0000-0000-0000-000000000000',
    location: 'mem://t',
    'last-sequence-number': 10n,
    'last-updated-ms': 0,
    'last-column-id': 2,
    schemas: [schema],
    'current-schema-id': 0,
    'partition-specs': [unpartitioned, byCat],
    'default-spec-id': 1,
    'last-partition-id': 1000,
    properties: {},
    snapshots: [],
    'snapshot-log': [],
    'metadata-log': [],
    'sort-orders': [{ 'order-id': 0, fields: [] }],
    'default-sort-order-id': 0,
    refs: {},
  };
}

const snapshot: Snapshot = { 'snapshot-id': 1n, 'timestamp-ms': 0, 'manifest-list': 'mem://list', summary: { operation: 'append' } };

function file(path: string, content: 0 | 1 | 2, partition: IcebergValue[], extra: Partial<DataFile> = {}): DataFile {
  return { content, file_path: path, file_format: 'PARQUET', partition, record_count: 10, file_size_in_bytes: 100, ...extra };
}

function manifest(path: string, specId: number, content: 0 | 1, seq: bigint, extra: Partial<ManifestFile> = {}): ManifestFile {
  return {
    manifest_path: path,
    manifest_length: 1,
    partition_spec_id: specId,
    content,
    sequence_number: seq,
    min_sequence_number: seq,
    added_snapshot_id: 1n,
    added_files_count: null,
    existing_files_count: null,
    deleted_files_count: null,
    added_rows_count: null,
    existing_rows_count: null,
    deleted_rows_count: null,
    ...extra,
  };
}

function entry(status: 0 | 1 | 2, f: DataFile, seq: bigint | null): ManifestEntry {
  return { status, snapshot_id: 1n, sequence_number: seq, file_sequence_number: seq, data_file: f };
}

function options(manifests: [ManifestFile, ManifestEntry[]][], md = metadata()): PlanFilesOptions {
  const byPath = new Map(manifests.map(([m, e]) => [m.manifest_path, e]));
  return {
    metadata: md,
    snapshot,
    loadManifestList: async () => manifests.map(([m]) => m),
    loadManifest: async (m) => byPath.get(m.manifest_path)!,
  };
}

test('DELETED entries are skipped and null sequence numbers are inherited from the manifest', async () => {
  const tasks = await planFiles(
    options([
      [
        manifest('m1', 0, 0, 5n),
        [entry(1, file('a', 0, []), null), entry(2, file('gone', 0, []), 3n), entry(0, file('b', 0, []), 2n)],
      ],
    ]),
  );
  assert.deepEqual(
    tasks.map((t) => [t.file.file_path, t.dataSequenceNumber]),
    [
      ['a', 5n],
      ['b', 2n],
    ],
  );
});

test('v1 manifests (sequence number 0) give every file sequence number 0', async () => {
  const tasks = await planFiles(options([[manifest('m1', 0, 0, 0n), [entry(1, file('a', 0, []), null), entry(0, file('b', 0, []), null)]]], metadata(1)));
  assert.deepEqual(tasks.map((t) => t.dataSequenceNumber), [0n, 0n]);
});

test('position deletes apply to data files with sequence number <= theirs in the same partition', async () => {
  const tasks = await planFiles(
    options([
      [
        manifest('data', 1, 0, 3n),
        [
          entry(0, file('x-old', 0, ['x']), 1n),
          entry(0, file('x-same', 0, ['x']), 2n),
          entry(0, file('x-new', 0, ['x']), 3n),
          entry(0, file('y-old', 0, ['y']), 1n),
        ],
      ],
      [manifest('dels', 1, 1, 2n), [entry(1, file('pos-x', 1, ['x']), null)]],
    ]),
  );
  const deletesOf = (p: string) => tasks.find((t) => t.file.file_path === p)!.deletes.map((d) => d.file.file_path);
  assert.deepEqual(deletesOf('x-old'), ['pos-x']);
  assert.deepEqual(deletesOf('x-same'), ['pos-x']);
  assert.deepEqual(deletesOf('x-new'), []);
  assert.deepEqual(deletesOf('y-old'), []);
  assert.equal(tasks.find((t) => t.file.file_path === 'x-old')!.deletes[0]!.dataSequenceNumber, 2n);
});

test('equality deletes apply only to strictly older data files; unpartitioned ones are global', async () => {
  const tasks = await planFiles(
    options([
      [manifest('data', 1, 0, 3n), [entry(0, file('x1', 0, ['x']), 1n), entry(0, file('x2', 0, ['x']), 2n), entry(0, file('y1', 0, ['y']), 1n)]],
      [manifest('data0', 0, 0, 1n), [entry(0, file('u1', 0, []), 1n)]],
      [manifest('dels', 1, 1, 2n), [entry(1, file('eq-x', 2, ['x'], { equality_ids: [1] }), null)]],
      [manifest('dels0', 0, 1, 2n), [entry(1, file('eq-global', 2, [], { equality_ids: [1] }), null)]],
    ]),
  );
  const deletesOf = (p: string) => tasks.find((t) => t.file.file_path === p)!.deletes.map((d) => d.file.file_path).sort();
  assert.deepEqual(deletesOf('x1'), ['eq-global', 'eq-x']);
  assert.deepEqual(deletesOf('x2'), []);
  assert.deepEqual(deletesOf('y1'), ['eq-global']);
  assert.deepEqual(deletesOf('u1'), ['eq-global']);
});

test('a position delete of an unpartitioned spec applies only within that spec', async () => {
  const tasks = await planFiles(
    options([
      [manifest('data', 1, 0, 1n), [entry(0, file('x1', 0, ['x']), 1n)]],
      [manifest('data0', 0, 0, 1n), [entry(0, file('u1', 0, []), 1n)]],
      [manifest('dels0', 0, 1, 2n), [entry(1, file('pos-global', 1, []), null)]],
    ]),
  );
  const deletesOf = (p: string) => tasks.find((t) => t.file.file_path === p)!.deletes.map((d) => d.file.file_path);
  assert.deepEqual(deletesOf('u1'), ['pos-global']);
  assert.deepEqual(deletesOf('x1'), []);
});

test('referenced_data_file and single-file path bounds scope position deletes to one file', async () => {
  const enc = new TextEncoder();
  const tasks = await planFiles(
    options([
      [manifest('data0', 0, 0, 1n), [entry(0, file('a', 0, []), 1n), entry(0, file('b', 0, []), 1n)]],
      [
        manifest('dels0', 0, 1, 2n),
        [
          entry(1, file('pos-a', 1, [], { referenced_data_file: 'a' }), null),
          entry(
            1,
            file('pos-b', 1, [], {
              lower_bounds: new Map([[2147483546, enc.encode('b')]]),
              upper_bounds: new Map([[2147483546, enc.encode('b')]]),
            }),
            null,
          ),
        ],
      ],
    ]),
  );
  assert.deepEqual(tasks.find((t) => t.file.file_path === 'a')!.deletes.map((d) => d.file.file_path), ['pos-a']);
  assert.deepEqual(tasks.find((t) => t.file.file_path === 'b')!.deletes.map((d) => d.file.file_path), ['pos-b']);
});

const dv = (path: string, target: string | null, partition: IcebergValue[] = [], extra: Partial<DataFile> = {}) =>
  file(path, 1, partition, { file_format: 'PUFFIN', referenced_data_file: target, content_offset: 4, content_size_in_bytes: 40, ...extra });

test('a deletion vector applies to its referenced data file at an equal or higher sequence number, and replaces its position delete files', async () => {
  const tasks = await planFiles(
    options([
      [manifest('data0', 0, 0, 1n), [entry(0, file('a', 0, []), 1n), entry(0, file('b', 0, []), 1n), entry(0, file('c', 0, []), 3n), entry(0, file('d', 0, []), 2n)]],
      [
        manifest('dels0', 0, 1, 2n),
        [
          // Two vectors in one Puffin file, told apart by their offsets.
          entry(0, dv('dvs.puffin', 'a', [], { content_offset: 4 }), 2n),
          entry(0, dv('dvs.puffin', 'c', [], { content_offset: 60 }), 2n),
          entry(0, dv('dv-d.puffin', 'd'), 2n),
          entry(0, file('pos-all', 1, []), 2n),
          entry(0, file('eq', 2, [], { equality_ids: [1] }), 2n),
        ],
      ],
    ]),
  );
  const deletes = (p: string) => tasks.find((t) => t.file.file_path === p)!.deletes.map((d) => `${d.file.file_path}@${d.file.content_offset ?? '-'}`);
  // a: its vector; the position delete file is ignored; the equality delete applies (1 < 2).
  assert.deepEqual(deletes('a'), ['dvs.puffin@4', 'eq@-']);
  // b: no vector: the position delete file applies.
  assert.deepEqual(deletes('b'), ['pos-all@-', 'eq@-']);
  // c is newer (3) than its vector (2): nothing applies.
  assert.deepEqual(deletes('c'), []);
  // d: same sequence number as its vector: the vector applies (deletes of the same commit).
  assert.deepEqual(deletes('d'), ['dv-d.puffin@4']);
});

test('a deletion vector applies only within its data file\'s partition', async () => {
  const tasks = await planFiles(
    options([
      [manifest('data1', 1, 0, 1n), [entry(0, file('x', 0, ['a']), 1n)]],
      [manifest('dels1', 1, 1, 2n), [entry(0, dv('dv.puffin', 'x', ['b']), 2n)]],
    ]),
  );
  assert.deepEqual(tasks[0]!.deletes, []);
});

test('two live deletion vectors for one data file are refused, naming both', async () => {
  await assert.rejects(
    planFiles(
      options([
        [manifest('data0', 0, 0, 1n), [entry(0, file('a', 0, []), 1n)]],
        [manifest('dels0', 0, 1, 2n), [entry(0, dv('one.puffin', 'a'), 2n), entry(0, dv('two.puffin', 'a', [], { content_offset: 9 }), 3n)]],
      ]),
    ),
    (e: unknown) => e instanceof ValidationError && /2 deletion vectors/.test(e.message) && /one\.puffin@4/.test(e.message) && /two\.puffin@9/.test(e.message),
  );
});

test('a deletion vector without its data file or blob location is refused', async () => {
  for (const [bad, why] of [
    [dv('dv.puffin', null), /referenced_data_file/],
    [dv('dv.puffin', 'a', [], { content_offset: null }), /content_offset/],
    [dv('dv.puffin', 'a', [], { content: 2 }), /not position deletes/],
    [file('pos.parquet', 1, [], { content_offset: 4 }), /content_offset but is PARQUET/],
  ] as const) {
    await assert.rejects(
      planFiles(
        options([
          [manifest('data0', 0, 0, 1n), [entry(0, file('a', 0, []), 1n)]],
          [manifest('dels0', 0, 1, 2n), [entry(0, bad, 2n)]],
        ]),
      ),
      (e: unknown) => e instanceof ValidationError && why.test(e.message),
    );
  }
});

test('a filter prunes manifests by partition summaries, files by partition and by metrics', async () => {
  const str = (s: string) => toBinary('string', s);
  const long = (n: bigint) => toBinary('long', n);
  const summary = (lo: string, hi: string) => [{ contains_null: false, contains_nan: false, lower_bound: str(lo), upper_bound: str(hi) }];
  const withMetrics = (path: string, cat: string, lo: bigint, hi: bigint) =>
    file(path, 0, [cat], {
      value_counts: new Map([[1, 10]]),
      null_value_counts: new Map([[1, 0]]),
      lower_bounds: new Map([[1, long(lo)]]),
      upper_bounds: new Map([[1, long(hi)]]),
    });
  const opts = options([
    [manifest('m-ab', 1, 0, 1n, { partitions: summary('a', 'b') }), [entry(0, withMetrics('a-low', 'a', 0n, 9n), 1n), entry(0, withMetrics('b-high', 'b', 100n, 200n), 1n)]],
    [manifest('m-yz', 1, 0, 1n, { partitions: summary('y', 'z') }), [entry(0, withMetrics('z', 'z', 0n, 9n), 1n)]],
  ]);
  let loaded: string[] = [];
  const loadManifest = opts.loadManifest;
  opts.loadManifest = async (m) => {
    loaded.push(m.manifest_path);
    return loadManifest(m);
  };

  const all = await planFilesWithStats(opts);
  assert.equal(all.tasks.length, 3);

  loaded = [];
  const byCatFilter = await planFilesWithStats({ ...opts, filter: equal('cat', 'b') });
  assert.deepEqual(loaded, ['m-ab'], 'manifest m-yz is skipped by its partition summary');
  assert.deepEqual(byCatFilter.tasks.map((t) => t.file.file_path), ['b-high']);
  assert.equal(byCatFilter.stats.manifestsSkipped, 1);

  const byId = await planFilesWithStats({ ...opts, filter: greaterThan('id', 50) });
  assert.deepEqual(byId.tasks.map((t) => t.file.file_path), ['b-high']);
  assert.equal(byId.stats.dataFilesSkipped, 2);
});

test('a manifest naming an unknown partition spec is an error', async () => {
  await assert.rejects(planFiles(options([[manifest('m', 7, 0, 1n), []]])), /partition spec 7/);
});
