import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import avsc from 'avsc';
import { ValidationError } from '../../../src/errors.js';
import { readAvroFile, writeAvroFile } from '../../../src/iceberg/avro/container.js';
import { inheritSequenceNumbers, readManifest, writeManifest, type WriteManifestOptions } from '../../../src/iceberg/avro/manifest.js';
import { stringifyJson } from '../../../src/iceberg/json.js';
import { partitionType as partitionTypeOf } from '../../../src/iceberg/partitioning.js';
import type { DataFile, ManifestEntry, ManifestFile } from '../../../src/iceberg/manifest-types.js';
import type { PartitionSpec } from '../../../src/iceberg/metadata.js';
import type { IcebergValue, Schema, StructType } from '../../../src/iceberg/types.js';

const SYNC = Uint8Array.from({ length: 16 }, (_, i) => i * 7);

const schema: Schema = {
  type: 'struct',
  'schema-id': 3,
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'name', required: false, type: 'string' },
    { id: 3, name: 'ts', required: false, type: 'timestamptz' },
    { id: 4, name: 'price', required: false, type: 'decimal(9,2)' },
    { id: 5, name: 'u', required: false, type: 'uuid' },
    { id: 6, name: 'b', required: false, type: 'binary' },
    { id: 7, name: 'f', required: false, type: 'fixed[4]' },
    { id: 8, name: 'cost', required: false, type: 'decimal(9,2)' },
    { id: 9, name: 'big', required: false, type: 'decimal(38,10)' },
    { id: 10, name: 'x', required: false, type: 'double' },
    { id: 11, name: 'ok', required: false, type: 'boolean' },
    { id: 12, name: 't', required: false, type: 'time' },
    { id: 13, name: 'n', required: false, type: 'int' },
  ],
};

/** Spec field: transform, source column, result type (what partitionType(spec, schema) gives). */
const partitioned: [string, string, number, string][] = [
  ['id_bucket', 'bucket[16]', 1, 'int'],
  ['name', 'identity', 2, 'string'],
  ['ts_day', 'day', 3, 'date'],
  ['price', 'identity', 4, 'decimal(9,2)'],
  ['u', 'identity', 5, 'uuid'],
  ['ts', 'identity', 3, 'timestamptz'],
  ['b', 'identity', 6, 'binary'],
  ['f', 'identity', 7, 'fixed[4]'],
  ['cost', 'identity', 8, 'decimal(9,2)'],
  ['big', 'identity', 9, 'decimal(38,10)'],
  ['x', 'identity', 10, 'double'],
  ['ok', 'identity', 11, 'boolean'],
  ['t', 'identity', 12, 'time'],
  ['id', 'identity', 1, 'long'],
  ['n-1', 'truncate[10]', 13, 'int'],
  ['gone', 'void', 2, 'string'],
];

const spec: PartitionSpec = {
  'spec-id': 2,
  fields: partitioned.map(([name, transform, source], i) => ({ name, transform, 'source-id': source, 'field-id': 1000 + i })),
};
/** The hand-written result types, checked against partitioning.ts below. */
const expectedTypes: StructType = {
  type: 'struct',
  fields: partitioned.map(([name, , , type], i) => ({ id: 1000 + i, name, required: false, type: type as 'int' })),
};
const partitionType = partitionTypeOf(spec, schema);

test('manifest: partitionType(spec, schema) gives the result types these tests expect', () => {
  assert.deepEqual(partitionType, expectedTypes);
});

const tupleA: IcebergValue[] = [
  7,
  'Flopsy 🐇',
  19723,
  12345n,
  'f79c3e09-677c-4bbd-a479-3f349cb785e7',
  1677698700000000n,
  Uint8Array.of(0, 1, 255),
  Uint8Array.of(1, 2, 3, 4),
  -500n,
  -12345678901234567890123456789n,
  -0.5,
  true,
  45045500000n,
  2n ** 62n,
  -10,
  null,
];
const tupleNulls: IcebergValue[] = partitioned.map(() => null);

function dataFile(path: string, partition: IcebergValue[], extra: Partial<DataFile> = {}): DataFile {
  return {
    content: 0,
    file_path: path,
    file_format: 'PARQUET',
    partition,
    record_count: 100,
    file_size_in_bytes: 4096,
    ...extra,
  };
}

const metrics: Partial<DataFile> = {
  column_sizes: new Map([
    [1, 10],
    [2, 2 ** 40],
  ]),
  value_counts: new Map([[1, 100]]),
  null_value_counts: new Map([[2, 0]]),
  nan_value_counts: new Map([[10, 3]]),
  lower_bounds: new Map([[1, Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0)]]),
  upper_bounds: new Map([[2, new TextEncoder().encode('zz')]]),
  key_metadata: Uint8Array.of(9, 9),
  split_offsets: [4, 2 ** 33],
  sort_order_id: 0,
};

const v2Entries: ManifestEntry[] = [
  { status: 1, snapshot_id: null, sequence_number: null, file_sequence_number: null, data_file: dataFile('s3://b/t/data/a.parquet', tupleA, metrics) },
  { status: 1, snapshot_id: 42n, sequence_number: 3n, file_sequence_number: null, data_file: dataFile('s3://b/t/data/n.parquet', tupleNulls) },
  {
    status: 0,
    snapshot_id: 6653143792592159268n,
    sequence_number: 4n,
    file_sequence_number: 5n,
    data_file: dataFile('s3://b/t/data/e.parquet', tupleA, { record_count: 0, file_size_in_bytes: 1 }),
  },
  { status: 2, snapshot_id: -9n, sequence_number: 1n, file_sequence_number: 1n, data_file: dataFile('s3://b/t/data/d.parquet', tupleNulls) },
];

const base = (over: Partial<WriteManifestOptions>): WriteManifestOptions => ({
  formatVersion: 2,
  spec,
  schema,
  partitionType,
  content: 'data',
  entries: v2Entries,
  sync: SYNC,
  ...over,
});

test('manifest: v2 partitioned data manifest round trips (every partition type, nulls, metrics)', () => {
  for (const codec of ['null', 'deflate'] as const) {
    const bytes = writeManifest(base({ codec }));
    const read = readManifest(bytes, 'm.avro');
    assert.deepEqual(read.entries, v2Entries);
    assert.deepEqual(read.meta, {
      schemaJson: stringifyJson(schema),
      schemaId: 3,
      partitionSpecJson: stringifyJson(spec.fields),
      partitionSpecId: 2,
      formatVersion: 2,
      content: 'data',
    });
  }
});

test('manifest: output is deterministic for a fixed sync marker', () => {
  assert.deepEqual(writeManifest(base({})), writeManifest(base({})));
});

test('manifest: v2 delete manifest with position and equality deletes round trips', () => {
  const entries: ManifestEntry[] = [
    {
      status: 1,
      snapshot_id: null,
      sequence_number: null,
      file_sequence_number: null,
      data_file: dataFile('s3://b/t/data/pos.parquet', tupleA, { content: 1, referenced_data_file: 's3://b/t/data/a.parquet', ...metrics }),
    },
    {
      status: 1,
      snapshot_id: null,
      sequence_number: null,
      file_sequence_number: null,
      data_file: dataFile('s3://b/t/data/eq.parquet', tupleNulls, { content: 2, equality_ids: [2, 1], sort_order_id: 1 }),
    },
  ];
  const read = readManifest(writeManifest(base({ content: 'deletes', entries })), 'd.avro');
  assert.deepEqual(read.entries, entries);
  assert.equal(read.meta.content, 'deletes');
});

test('manifest: unpartitioned v2 and v1 round trip; v1 fills snapshot ids and reads no sequence numbers', () => {
  const unpartitioned: PartitionSpec = { 'spec-id': 0, fields: [] };
  const empty: StructType = { type: 'struct', fields: [] };
  const entries: ManifestEntry[] = [
    { status: 1, snapshot_id: null, sequence_number: null, file_sequence_number: null, data_file: dataFile('a.parquet', [], metrics) },
    { status: 2, snapshot_id: 5n, sequence_number: null, file_sequence_number: null, data_file: dataFile('b.parquet', []) },
  ];
  const v2 = readManifest(writeManifest(base({ spec: unpartitioned, partitionType: empty, entries: entries.slice(0, 1) })));
  assert.deepEqual(v2.entries, entries.slice(0, 1));
  assert.equal(v2.meta.partitionSpecJson, '[]');

  const v1bytes = writeManifest(base({ formatVersion: 1, spec: unpartitioned, partitionType: empty, entries, snapshotId: 77n }));
  const v1 = readManifest(v1bytes, 'v1.avro');
  assert.deepEqual(v1.entries, [{ ...entries[0]!, snapshot_id: 77n }, entries[1]]);
  assert.equal(v1.meta.formatVersion, 1);
  assert.equal(v1.meta.content, undefined, 'v1 manifests carry no content key');
  // v1 files keep the deprecated block_size_in_bytes, with Java's default.
  const raw = readAvroFile(v1bytes);
  const node = raw.schema.node;
  assert.ok(node.kind === 'record');
  const df = node.byId.get(2)!.node;
  assert.ok(df.kind === 'record');
  const block = df.byId.get(105)!;
  assert.equal((raw.records[0] as Record<string, Record<string, unknown>>)[node.byId.get(2)!.key]![block.key], 67108864n);
});

test('manifest: v1 partitioned round trip', () => {
  const entries: ManifestEntry[] = [
    { status: 1, snapshot_id: 1n, sequence_number: null, file_sequence_number: null, data_file: dataFile('a.parquet', tupleA, metrics) },
    { status: 0, snapshot_id: 2n, sequence_number: null, file_sequence_number: null, data_file: dataFile('b.parquet', tupleNulls) },
  ];
  assert.deepEqual(readManifest(writeManifest(base({ formatVersion: 1, entries }))).entries, entries);
});

test('manifest: v3 round trip with row lineage and a deletion vector', () => {
  const entries: ManifestEntry[] = [
    { status: 1, snapshot_id: null, sequence_number: null, file_sequence_number: null, data_file: dataFile('a.parquet', tupleA, { first_row_id: 1000n }) },
    {
      status: 1,
      snapshot_id: null,
      sequence_number: null,
      file_sequence_number: null,
      data_file: dataFile('dv.puffin', tupleA, {
        content: 1,
        file_format: 'PUFFIN',
        referenced_data_file: 'a.parquet',
        content_offset: 4,
        content_size_in_bytes: 44,
      }),
    },
  ];
  const data = entries.slice(0, 1);
  const dvs = entries.slice(1);
  assert.deepEqual(readManifest(writeManifest(base({ formatVersion: 3, entries: data }))).entries, data);
  assert.deepEqual(readManifest(writeManifest(base({ formatVersion: 3, content: 'deletes', entries: dvs }))).entries, dvs);
});

test('manifest: an independent decoder (avsc BlockDecoder, writer schema) sees the spec layout', async () => {
  const bytes = writeManifest(base({ entries: v2Entries.slice(0, 1), snapshotId: 8n }));
  const longType = avsc.types.LongType.__with({
    fromBuffer: (b: Buffer) => b.readBigInt64LE(0),
    toBuffer: (n: bigint) => {
      const b = Buffer.alloc(8);
      b.writeBigInt64LE(n);
      return b;
    },
    fromJSON: BigInt,
    toJSON: (n: bigint) => n.toString(),
    isValid: (n: unknown) => typeof n === 'bigint',
    compare: () => 0,
  });
  let writerSchema: unknown;
  const decoder = new avsc.streams.BlockDecoder({
    parseHook: (s: unknown) => {
      writerSchema = s;
      return avsc.Type.forSchema(s as avsc.Schema, { registry: { long: longType } });
    },
  });
  const header: Record<string, string> = {};
  decoder.on('metadata', (_t: unknown, codec: string, h: { meta: Record<string, Buffer> }) => {
    for (const [k, v] of Object.entries(h.meta)) header[k] = v.toString();
    assert.equal(codec, 'deflate');
  });
  const records: Record<string, unknown>[] = [];
  await new Promise<void>((resolve, reject) => {
    decoder.on('data', (r: Record<string, unknown>) => records.push(r));
    decoder.on('end', resolve);
    decoder.on('error', reject);
    Readable.from([Buffer.from(bytes)]).pipe(decoder);
  });
  assert.deepEqual(Object.keys(header).sort(), [
    'avro.codec',
    'avro.schema',
    'content',
    'format-version',
    'partition-spec',
    'partition-spec-id',
    'schema',
    'schema-id',
  ]);
  assert.equal(header['format-version'], '2');
  assert.equal(header['partition-spec-id'], '2');
  assert.equal(header['schema-id'], '3');
  const ws = writerSchema as { name: string; fields: { name: string; type: { name?: string; fields?: { name: string; type: unknown }[] } }[] };
  assert.equal(ws.name, 'manifest_entry');
  assert.deepEqual(
    ws.fields.map((f) => f.name),
    ['status', 'snapshot_id', 'sequence_number', 'file_sequence_number', 'data_file'],
  );
  const df = ws.fields[4]!.type;
  assert.equal(df.name, 'r2');
  const partition = df.fields!.find((f) => f.name === 'partition')!.type as { name: string; fields: { name: string; 'field-id': number }[] };
  assert.equal(partition.name, 'r102');
  assert.deepEqual(partition.fields.map((f) => f['field-id']), spec.fields.map((f) => f['field-id']));
  assert.equal(partition.fields[14]!.name, 'n_x2D1', 'sanitized Avro name');

  assert.equal(records.length, 1);
  const r = records[0]! as { status: number; snapshot_id: bigint; data_file: Record<string, unknown> };
  assert.equal(r.status, 1);
  assert.equal(r.snapshot_id, 8n, 'snapshotId fills a null snapshot_id');
  const p = r.data_file.partition as Record<string, unknown>;
  assert.equal(p.id_bucket, 7);
  assert.equal(p.ts_day, 19723);
  assert.deepEqual([...(p.price as Buffer)], [0, 0, 0x30, 0x39], 'decimal(9,2) as 4-byte fixed');
  assert.deepEqual([...(p.cost as Buffer)], [0xff, 0xff, 0xfe, 0x0c], 'negative decimal sign-extended');
  assert.equal((p.u as Buffer).toString('hex'), 'f79c3e09677c4bbda4793f349cb785e7');
  // (avsc decodes a long in object form — with a logicalType — as a plain number.)
  assert.equal(p.ts, 1677698700000000);
  assert.equal(p.gone, null);
  assert.deepEqual((r.data_file.column_sizes as object[]).map((kv) => ({ ...kv })), [
    { key: 1, value: 10n },
    { key: 2, value: 2n ** 40n },
  ]);
  assert.deepEqual(r.data_file.split_offsets, [4n, 2n ** 33n]);
});

test('manifest: plain fixed(16) uuid partitions (no logical type) are read as uuids via the metadata', () => {
  const partition = { type: 'record', name: 'r102', fields: [{ name: 'u', type: ['null', { type: 'fixed', name: 'f16', size: 16 }], 'field-id': 1000 }] };
  const avroSchema = {
    type: 'record',
    name: 'manifest_entry',
    fields: [
      { name: 'status', type: 'int', 'field-id': 0 },
      { name: 'snapshot_id', type: ['null', 'long'], 'field-id': 1 },
      {
        name: 'data_file',
        'field-id': 2,
        type: {
          type: 'record',
          name: 'r2',
          fields: [
            { name: 'file_path', type: 'string', 'field-id': 100 },
            { name: 'file_format', type: 'string', 'field-id': 101 },
            { name: 'partition', type: partition, 'field-id': 102 },
            { name: 'record_count', type: 'long', 'field-id': 103 },
            { name: 'file_size_in_bytes', type: 'long', 'field-id': 104 },
          ],
        },
      },
    ],
  };
  const uuid = 'f79c3e09-677c-4bbd-a479-3f349cb785e7';
  const record = {
    status: 1,
    snapshot_id: 1n,
    data_file: { file_path: 'p', file_format: 'PARQUET', partition: { u: Buffer.from(uuid.replace(/-/g, ''), 'hex') }, record_count: 1n, file_size_in_bytes: 2n },
  };
  const write = (meta: [string, string][]) => writeAvroFile({ schema: avroSchema, metadata: meta, records: [record] });
  const withHints = write([
    ['schema', JSON.stringify({ type: 'struct', 'schema-id': 0, fields: [{ id: 5, name: 'u', required: false, type: 'uuid' }] })],
    ['partition-spec', JSON.stringify([{ name: 'u', transform: 'identity', 'source-id': 5, 'field-id': 1000 }])],
  ]);
  assert.deepEqual(readManifest(withHints).entries[0]!.data_file.partition, [uuid]);
  const without = write([]);
  assert.deepEqual(readManifest(without).entries[0]!.data_file.partition, [Buffer.from(uuid.replace(/-/g, ''), 'hex')].map((b) => new Uint8Array(b)));
});

test('manifest: void of a dropped column has type unknown: Avro null, read as null', () => {
  const dropped: PartitionSpec = {
    'spec-id': 5,
    fields: [
      { name: 'gone', transform: 'void', 'source-id': 99, 'field-id': 1000 },
      { name: 'id', transform: 'identity', 'source-id': 1, 'field-id': 1001 },
    ],
  };
  const pt = partitionTypeOf(dropped, schema);
  assert.deepEqual(
    pt.fields.map((f) => f.type),
    ['unknown', 'long'],
  );
  const entries: ManifestEntry[] = [
    { status: 1, snapshot_id: null, sequence_number: null, file_sequence_number: null, data_file: dataFile('a.parquet', [null, 1n]) },
  ];
  const bytes = writeManifest(base({ spec: dropped, partitionType: pt, entries }));
  assert.deepEqual(readManifest(bytes).entries, entries);
  const f = readAvroFile(bytes);
  const r2 = (JSON.parse(f.metadata.get('avro.schema')!) as { fields: { name: string; type: { fields: { name: string; type: unknown }[] } }[] }).fields[4]!.type;
  const partition = r2.fields.find((x) => x.name === 'partition')!.type as { fields: { type: unknown }[] };
  assert.deepEqual(
    partition.fields.map((x) => x.type),
    ['null', ['null', 'long']],
  );
});

test('manifest: write errors name the entry and the field', () => {
  const bad = (over: Partial<WriteManifestOptions>, re: RegExp) =>
    assert.throws(() => writeManifest(base(over)), (e: unknown) => e instanceof ValidationError && re.test(e.message), String(re));
  const added = v2Entries[0]!;
  const withFile = (d: Partial<DataFile>, e: Partial<ManifestEntry> = {}): ManifestEntry[] => [{ ...added, ...e, data_file: { ...added.data_file, ...d } }];

  bad({ formatVersion: 1, content: 'deletes', entries: [] }, /^avro: manifest: format v1 has no delete manifests$/);
  bad({ formatVersion: 1, snapshotId: undefined, entries: withFile({}) }, /entry 0 \(s3:\/\/b\/t\/data\/a.parquet\): format v1 entries need a snapshot_id/);
  bad({ entries: withFile({}, { status: 0 }) }, /EXISTING and DELETED entries must carry sequence_number/);
  bad({ entries: withFile({ content: 1 }) }, /data manifests hold only data files/);
  bad({ content: 'deletes', entries: withFile({ content: 0 }) }, /delete manifests hold only delete files/);
  bad({ content: 'deletes', entries: withFile({ content: 2 }) }, /equality delete files need equality_ids/);
  bad({ entries: withFile({ first_row_id: 1n }) }, /first_row_id requires format v3/);
  bad({ formatVersion: 1, snapshotId: 1n, entries: withFile({ referenced_data_file: 'x' }) }, /referenced_data_file requires format v2/);
  bad({ entries: withFile({ partition: [1, 2] }) }, /partition tuple has 2 values, spec 2 has 16 fields/);
  bad({ entries: withFile({ partition: tupleA.map((v, i) => (i === 13 ? 5 : v)) }) }, /partition field 'id': expected a bigint for type long, got number 5/);
  bad({ entries: withFile({ partition: tupleA.map((v, i) => (i === 3 ? 10n ** 10n : v)) }) }, /partition field 'price': decimal 10000000000 does not fit in 4 bytes/);
  bad({ entries: withFile({ partition: tupleA.map((v, i) => (i === 4 ? 'not-a-uuid' : v)) }) }, /partition field 'u': expected a uuid string/);
  bad({ entries: withFile({ partition: tupleA.map((v, i) => (i === 7 ? Uint8Array.of(1) : v)) }) }, /partition field 'f': expected a Uint8Array of 4 bytes/);
  bad({ entries: withFile({ record_count: 1.5 }) }, /record_count must be an integer, got 1.5/);
  bad({ entries: withFile({ column_sizes: new Map([[1.5, 1]]) }) }, /column_sizes key must be a 32-bit integer/);
  bad({ partitionType: { type: 'struct', fields: partitionType.fields.slice(1) } }, /partition type has 15 fields but spec 2 has 16/);
  bad(
    { partitionType: { type: 'struct', fields: partitionType.fields.map((f, i) => (i === 0 ? { ...f, id: 999 } : f)) } },
    /partition type field 0 has id 999, spec field 'id_bucket' has 1000/,
  );
});

test('manifest: read errors name the file and field', () => {
  const avroSchema = { type: 'record', name: 'manifest_entry', fields: [{ name: 'status', type: 'int', 'field-id': 0 }] };
  const bytes = writeAvroFile({ schema: avroSchema, metadata: [], records: [{ status: 1 }] });
  assert.throws(() => readManifest(bytes, 's3://x/m.avro'), /^ValidationError: avro: s3:\/\/x\/m.avro: entry 0: field 2 \(data_file\) is missing from the file schema$/);
  const badStatus = writeAvroFile({ schema: avroSchema, metadata: [], records: [{ status: 7 }] });
  assert.throws(() => readManifest(badStatus, 'm'), /avro: m: entry 0: field 0 \(status\) must be 0, 1 or 2, got 7/);
  const badMeta = writeAvroFile({ schema: avroSchema, metadata: [['format-version', 'two']], records: [] });
  assert.throws(() => readManifest(badMeta, 'm'), /avro: m: metadata 'format-version' must be an integer, got 'two'/);
  assert.throws(() => readManifest(new Uint8Array(10), 'm'), /avro: m: invalid magic bytes/);
});

const listEntry = (over: Partial<ManifestFile>): ManifestFile => ({
  manifest_path: 'm.avro',
  manifest_length: 1,
  partition_spec_id: 0,
  content: 0,
  sequence_number: 7n,
  min_sequence_number: 3n,
  added_snapshot_id: 70n,
  added_files_count: 1,
  existing_files_count: 1,
  deleted_files_count: 1,
  added_rows_count: 1,
  existing_rows_count: 1,
  deleted_rows_count: 1,
  ...over,
});

test('inheritSequenceNumbers: v2 ADDED entries inherit, EXISTING/DELETED keep theirs, snapshot ids inherit', () => {
  const entries = v2Entries;
  const out = inheritSequenceNumbers(entries, listEntry({}));
  assert.deepEqual(
    out.map((e) => [e.status, e.snapshot_id, e.sequence_number, e.file_sequence_number]),
    [
      [1, 70n, 7n, 7n],
      [1, 42n, 3n, 7n],
      [0, 6653143792592159268n, 4n, 5n],
      [2, -9n, 1n, 1n],
    ],
  );
  assert.equal(entries[0]!.sequence_number, null, 'inputs are not mutated');
  const existingWithoutSeq: ManifestEntry = { ...entries[2]!, sequence_number: null, file_sequence_number: null };
  assert.deepEqual(inheritSequenceNumbers([existingWithoutSeq], listEntry({}))[0]!.sequence_number, null);
});

test('inheritSequenceNumbers: v1 manifests (sequence number 0) give every entry 0', () => {
  const v1: ManifestEntry[] = [
    { status: 0, snapshot_id: 1n, sequence_number: null, file_sequence_number: null, data_file: dataFile('a', []) },
    { status: 2, snapshot_id: 1n, sequence_number: null, file_sequence_number: null, data_file: dataFile('b', []) },
  ];
  const out = inheritSequenceNumbers(v1, listEntry({ sequence_number: 0n, min_sequence_number: 0n }));
  assert.deepEqual(
    out.map((e) => [e.sequence_number, e.file_sequence_number]),
    [
      [0n, 0n],
      [0n, 0n],
    ],
  );
});

test('inheritSequenceNumbers: v3 first_row_id inheritance counts preceding files without one', () => {
  const es: ManifestEntry[] = [
    { status: 0, snapshot_id: 1n, sequence_number: 1n, file_sequence_number: 1n, data_file: dataFile('a', [], { record_count: 25, first_row_id: 800n }) },
    { status: 1, snapshot_id: null, sequence_number: null, file_sequence_number: null, data_file: dataFile('b', [], { record_count: 50 }) },
    { status: 1, snapshot_id: null, sequence_number: null, file_sequence_number: null, data_file: dataFile('c', [], { record_count: 50 }) },
  ];
  const out = inheritSequenceNumbers(es, listEntry({ first_row_id: 1000n }));
  assert.deepEqual(
    out.map((e) => e.data_file.first_row_id),
    [800n, 1000n, 1050n],
  );
  assert.equal(es[1]!.data_file.first_row_id, undefined, 'inputs are not mutated');
  const deletes = inheritSequenceNumbers(es, listEntry({ content: 1, first_row_id: 1000n }));
  assert.equal(deletes[1]!.data_file.first_row_id, undefined, 'delete manifests never assign row ids');
});
