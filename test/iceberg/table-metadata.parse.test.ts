/** Table metadata: normalization, validation, serialization details, v3 features, new tables. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UnsupportedError, ValidationError } from '../../src/errors.js';
import { parseJson, stringifyJson } from '../../src/iceberg/json.js';
import type { TableMetadata } from '../../src/iceberg/metadata.js';
import {
  assertNoV3Features,
  newTableMetadata,
  parseTableMetadata,
  serializeTableMetadata,
  tableMetadataToJson,
  v3OnlyFeatures,
  validateTableMetadata,
} from '../../src/iceberg/table-metadata.js';
import type { Schema } from '../../src/iceberg/types.js';

const BIG = 9007199254740993n; // 2^53 + 1: a double would read it as 2^53
const BIG_PARENT = 9223372036854775807n; // the largest long

/** A valid v2 document with two snapshots whose ids exceed 2^53. */
function v2Doc(): Record<string, unknown> {
  return {
    'format-version': 2,
    'table-uuid': '9c12d441-03fe-4693-9a96-a0705ddf69c1',
    location: 's3://b/t',
    'last-sequence-number': 2,
    'last-updated-ms': 1700000000000,
    'last-column-id': 2,
    'current-schema-id': 0,
    schemas: [
      {
        type: 'struct',
        'schema-id': 0,
        fields: [
          { id: 1, name: 'id', required: true, type: 'long' },
          { id: 2, name: 'ts', required: false, type: 'timestamptz' },
        ],
      },
    ],
    'default-spec-id': 0,
    'partition-specs': [{ 'spec-id': 0, fields: [{ name: 'ts_day', transform: 'day', 'source-id': 2, 'field-id': 1000 }] }],
    'last-partition-id': 1000,
    'default-sort-order-id': 0,
    'sort-orders': [{ 'order-id': 0, fields: [] }],
    properties: { owner: 'floe' },
    'current-snapshot-id': BIG,
    snapshots: [
      {
        'snapshot-id': BIG_PARENT,
        'sequence-number': 1,
        'timestamp-ms': 1700000000000 - 1000,
        summary: { operation: 'append', 'added-records': '5' },
        'manifest-list': 's3://b/t/metadata/snap-1.avro',
        'schema-id': 0,
      },
      {
        'snapshot-id': BIG,
        'parent-snapshot-id': BIG_PARENT,
        'sequence-number': 2,
        'timestamp-ms': 1700000000000,
        summary: { operation: 'append' },
        'manifest-list': 's3://b/t/metadata/snap-2.avro',
        'schema-id': 0,
      },
    ],
    'snapshot-log': [
      { 'timestamp-ms': 1700000000000 - 1000, 'snapshot-id': BIG_PARENT },
      { 'timestamp-ms': 1700000000000, 'snapshot-id': BIG },
    ],
    'metadata-log': [],
  };
}

const parse = (doc: Record<string, unknown>) => parseTableMetadata(stringifyJson(doc), 'doc.json');

function throwsMetadata(fn: () => unknown, fragment: string | RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ValidationError, `expected ValidationError, got ${String(e)}`);
    assert.ok(e.message.startsWith('metadata: '), e.message);
    if (typeof fragment === 'string') assert.ok(e.message.includes(fragment), e.message);
    else assert.match(e.message, fragment);
    return true;
  });
}

test('ids beyond 2^53 survive parse and serialize exactly', () => {
  const md = parse(v2Doc());
  assert.equal(md['current-snapshot-id'], BIG);
  assert.equal(md.snapshots[1]?.['parent-snapshot-id'], BIG_PARENT);
  assert.equal(md['snapshot-log'][0]?.['snapshot-id'], BIG_PARENT);
  const text = serializeTableMetadata(md, 0);
  assert.ok(text.includes(`"current-snapshot-id":${BIG}`), text);
  assert.ok(text.includes(`"parent-snapshot-id":${BIG_PARENT}`), text);
  assert.deepEqual(parseTableMetadata(text), md);
});

test('current-snapshot-id -1 and null both mean no current snapshot', () => {
  for (const none of [-1, null]) {
    const doc = { ...v2Doc(), 'current-snapshot-id': none, snapshots: [], 'snapshot-log': [] };
    const md = parse(doc);
    assert.equal(md['current-snapshot-id'], undefined);
    assert.ok(!('current-snapshot-id' in md));
    assert.deepEqual(md.refs, {});
    assert.equal((parseJson(serializeTableMetadata(md)) as Record<string, unknown>)['current-snapshot-id'], -1);
  }
});

test('missing optional lists default to empty, refs get main from current-snapshot-id', () => {
  const doc = v2Doc();
  delete doc['snapshot-log'];
  delete doc['metadata-log'];
  delete doc.properties;
  const md = parse(doc);
  assert.deepEqual(md['snapshot-log'], []);
  assert.deepEqual(md['metadata-log'], []);
  assert.deepEqual(md.properties, {});
  assert.deepEqual(md.statistics, []);
  assert.deepEqual(md['partition-statistics'], []);
  assert.deepEqual(md.refs.main, { 'snapshot-id': BIG, type: 'branch' });
  assert.equal(md['next-row-id'], undefined, 'v2 has no next-row-id');
});

test('explicit refs are kept, with retention settings', () => {
  const doc = {
    ...v2Doc(),
    refs: {
      main: { 'snapshot-id': BIG, type: 'branch', 'min-snapshots-to-keep': 3, 'max-snapshot-age-ms': 86400000 },
      audit: { 'snapshot-id': BIG_PARENT, type: 'tag', 'max-ref-age-ms': 1000 },
    },
  };
  const md = parse(doc);
  assert.deepEqual(md.refs.audit, { 'snapshot-id': BIG_PARENT, type: 'tag', 'max-ref-age-ms': 1000 });
  assert.equal(md.refs.main?.['min-snapshots-to-keep'], 3);
  assert.deepEqual(parseTableMetadata(serializeTableMetadata(md)), md);
});

test('referential integrity errors name the problem', () => {
  throwsMetadata(() => parse({ ...v2Doc(), 'default-spec-id': 7 }), 'Cannot find partition spec with default-spec-id=7');
  throwsMetadata(() => parse({ ...v2Doc(), 'default-sort-order-id': 4 }), 'Cannot find sort order with default-sort-order-id=4');
  throwsMetadata(() => parse({ ...v2Doc(), 'current-snapshot-id': 42 }), 'current-snapshot-id 42 is not in snapshots');
  throwsMetadata(
    () => parse({ ...v2Doc(), refs: { main: { 'snapshot-id': BIG, type: 'branch' }, t: { 'snapshot-id': 5, type: 'tag' } } }),
    'ref t points to snapshot 5',
  );
  throwsMetadata(
    () => parse({ ...v2Doc(), refs: { main: { 'snapshot-id': BIG_PARENT, type: 'branch' } } }),
    `Current snapshot ID does not match main branch (${BIG} != ${BIG_PARENT})`,
  );
  throwsMetadata(
    () => parse({ ...v2Doc(), 'current-snapshot-id': -1, refs: { main: { 'snapshot-id': BIG, type: 'branch' } } }),
    'Current snapshot is not set, but main branch exists',
  );
  throwsMetadata(() => parse({ ...v2Doc(), 'last-sequence-number': 1 }), 'sequence-number 2 is greater than last-sequence-number 1');
  const dupSnap = v2Doc();
  (dupSnap.snapshots as Record<string, unknown>[])[0]!['snapshot-id'] = BIG;
  throwsMetadata(() => parse(dupSnap), `duplicate snapshot-id ${BIG}`);
  throwsMetadata(
    () => parse({ ...v2Doc(), 'sort-orders': [{ 'order-id': 0, fields: [{ transform: 'identity', 'source-id': 1, direction: 'asc', 'null-order': 'nulls-first' }] }] }),
    'sort order id 0 is reserved for the unsorted order',
  );
  throwsMetadata(
    () => parse({ ...v2Doc(), 'snapshot-log': [{ 'timestamp-ms': 1700000000000 + 120_000, 'snapshot-id': BIG }] }),
    'before last snapshot log entry',
  );
  throwsMetadata(() => parse({ ...v2Doc(), 'table-uuid': undefined }), 'table-uuid must exist in format v2');
});

test('field type errors name the field path', () => {
  const doc = v2Doc();
  (doc.snapshots as Record<string, unknown>[])[1]!['timestamp-ms'] = 'yesterday';
  throwsMetadata(() => parse(doc), "'snapshots[1].timestamp-ms' must be an integer");
  const doc2 = v2Doc();
  delete (doc2.snapshots as Record<string, unknown>[])[0]!['manifest-list'];
  throwsMetadata(() => parse(doc2), 'snapshots[0]');
  throwsMetadata(() => parse({ ...v2Doc(), 'last-column-id': undefined }), "missing required field 'last-column-id'");
  throwsMetadata(() => parse({ ...v2Doc(), properties: { a: 1 } }), "'properties.a' must be a string");
  throwsMetadata(() => parseTableMetadata('[1]', 'x'), 'Cannot parse metadata from a non-object');
  assert.throws(() => parseTableMetadata('{"format-version": 2,', 'broken.json'), /json: broken\.json/);
  const doc3 = v2Doc();
  (doc3.snapshots as Record<string, Record<string, unknown>>[])[0]!.summary = { operation: 'upsert' };
  throwsMetadata(() => parse(doc3), 'must be append, replace, overwrite or delete');
});

test('v1 specifics: fields without ids, snapshots with manifests, no summary, no uuid', () => {
  const doc = {
    'format-version': 1,
    location: 'file:///t',
    'last-updated-ms': 1000,
    'last-column-id': 2,
    schema: { type: 'struct', fields: [{ id: 1, name: 'a', required: false, type: 'int' }, { id: 2, name: 'b', required: false, type: 'string' }] },
    'partition-spec': [
      { name: 'a', transform: 'identity', 'source-id': 1 },
      { name: 'b_trunc', transform: 'truncate[4]', 'source-id': 2 },
    ],
    properties: {},
    'current-snapshot-id': 11,
    snapshots: [{ 'snapshot-id': 11, 'timestamp-ms': 900, manifests: ['file:///t/m1.avro'] }],
  };
  const md = parse(doc);
  assert.equal(md['table-uuid'], '');
  assert.deepEqual(md['partition-specs'][0]?.fields.map((f) => f['field-id']), [1000, 1001]);
  assert.equal(md['last-partition-id'], 1001);
  assert.deepEqual(md.snapshots[0]?.manifests, ['file:///t/m1.avro']);
  assert.equal(md.snapshots[0]?.['sequence-number'], 0n);
  assert.equal(md.snapshots[0]?.summary.operation, 'overwrite');
  const out = parseJson(serializeTableMetadata(md)) as Record<string, unknown>;
  assert.ok(!('table-uuid' in out), 'an absent uuid stays absent');
  assert.ok(!('sequence-number' in ((out.snapshots as Record<string, unknown>[])[0] ?? {})), 'v1 snapshots carry no sequence number');
  assert.deepEqual(parseTableMetadata(serializeTableMetadata(md)), md);
});

test('v2 serialization has spec keys only: no legacy schema / partition-spec', () => {
  const out = tableMetadataToJson(parse(v2Doc()));
  assert.ok(!('schema' in out) && !('partition-spec' in out));
  assert.equal(out['last-sequence-number'], 2n);
  assert.deepEqual(Object.keys(out).slice(0, 6), ['format-version', 'table-uuid', 'location', 'last-sequence-number', 'last-updated-ms', 'last-column-id']);
  const snap = (out.snapshots as Record<string, unknown>[])[0]!;
  assert.equal(snap['sequence-number'], 1n);
});

test('v3OnlyFeatures lists only features in use; assertNoV3Features refuses them', () => {
  const plain = parse({ ...v2Doc(), 'format-version': 3, 'next-row-id': 0 });
  assert.deepEqual(v3OnlyFeatures(plain), []);
  assertNoV3Features(plain);

  const doc: Record<string, unknown> = { ...v2Doc(), 'format-version': 3, 'next-row-id': 100 };
  (doc.schemas as Record<string, unknown>[]).push({
    type: 'struct',
    'schema-id': 1,
    fields: [
      { id: 1, name: 'id', required: true, type: 'long', 'initial-default': 0 },
      { id: 3, name: 'v', required: false, type: 'variant' },
      { id: 4, name: 'g', required: false, type: 'geometry' },
      { id: 5, name: 'ns', required: false, type: 'timestamp_ns' },
    ],
  });
  doc['last-column-id'] = 5;
  (doc['partition-specs'] as Record<string, unknown>[]).push({
    'spec-id': 1,
    fields: [{ name: 'multi', transform: 'bucket[4]', 'source-id': 1, 'source-ids': [1, 2], 'field-id': 1001 }],
  });
  doc['last-partition-id'] = 1001;
  doc['encryption-keys'] = [{ 'key-id': 'k', 'encrypted-key-metadata': 'AA==' }];
  const md = parse(doc);
  const features = v3OnlyFeatures(md);
  const has = (s: string) => assert.ok(features.some((f) => f.includes(s)), `${s} in ${JSON.stringify(features)}`);
  has('row lineage');
  has('variant');
  has('geometry');
  has('timestamp_ns');
  has('initial-default');
  has('multi-argument transform');
  has('encryption keys');
  assert.throws(() => assertNoV3Features(md, 't'), (e: unknown) => {
    assert.ok(e instanceof UnsupportedError);
    assert.match(e.message, /^metadata: t: table uses v3 feature .*row lineage.*, not supported$/);
    return true;
  });
  assert.deepEqual(parseTableMetadata(serializeTableMetadata(md)), md);
});

test('validateTableMetadata accepts every parsed document and rejects a broken one', () => {
  const md = parse(v2Doc());
  validateTableMetadata(md);
  const broken: TableMetadata = { ...md, 'current-schema-id': 9 };
  throwsMetadata(() => validateTableMetadata(broken, 'x'), 'metadata: x: Cannot find schema with current-schema-id=9');
});

// ---------------------------------------------------------------------------------------------
// newTableMetadata
// ---------------------------------------------------------------------------------------------

const userSchema: Schema = {
  type: 'struct',
  'schema-id': 7,
  'identifier-field-ids': [10],
  fields: [
    { id: 10, name: 'id', required: true, type: 'long' },
    {
      id: 20,
      name: 'loc',
      required: false,
      type: { type: 'struct', fields: [{ id: 30, name: 'lat', required: true, type: 'double' }] },
    },
    { id: 40, name: 'tags', required: false, type: { type: 'list', 'element-id': 50, element: 'string', 'element-required': false } },
    { id: 60, name: 'ts', required: true, type: 'timestamptz' },
  ],
};

test('newTableMetadata assigns fresh ids like Java and remaps spec and sort order', () => {
  const md = newTableMetadata({
    location: 's3://b/wh/db/t/',
    schema: userSchema,
    partitionSpec: { 'spec-id': 5, fields: [{ 'source-id': 60, 'field-id': 2000, name: 'ts_day', transform: 'day' }, { 'source-id': 10, 'field-id': 2001, name: 'id_bucket', transform: 'bucket[16]' }] },
    sortOrder: { 'order-id': 9, fields: [{ transform: 'identity', 'source-id': 60, direction: 'desc', 'null-order': 'nulls-last' }] },
    properties: { owner: 'me', 'format-version': '1' },
    tableUuid: 'd20125c8-7284-442c-9aea-15fee620737c',
    nowMs: 1234,
  });
  // Struct fields first (1..4), then nested: loc.lat = 5, tags.element = 6.
  const s = md.schemas[0]!;
  assert.deepEqual(s.fields.map((f) => [f.name, f.id]), [['id', 1], ['loc', 2], ['tags', 3], ['ts', 4]]);
  assert.deepEqual(s.fields[1]?.type, { type: 'struct', fields: [{ id: 5, name: 'lat', required: true, type: 'double' }] });
  assert.equal((s.fields[2]?.type as { 'element-id': number })['element-id'], 6);
  assert.deepEqual(s['identifier-field-ids'], [1]);
  assert.equal(s['schema-id'], 0);
  assert.equal(md['last-column-id'], 6);
  assert.deepEqual(md['partition-specs'], [
    {
      'spec-id': 0,
      fields: [
        { 'source-id': 4, 'field-id': 1000, name: 'ts_day', transform: 'day' },
        { 'source-id': 1, 'field-id': 1001, name: 'id_bucket', transform: 'bucket[16]' },
      ],
    },
  ]);
  assert.equal(md['last-partition-id'], 1001);
  assert.deepEqual(md['sort-orders'], [{ 'order-id': 1, fields: [{ transform: 'identity', 'source-id': 4, direction: 'desc', 'null-order': 'nulls-last' }] }]);
  assert.equal(md['default-sort-order-id'], 1);
  // The format-version property chooses the version and is not stored.
  assert.equal(md['format-version'], 1);
  assert.deepEqual(md.properties, { 'write.parquet.compression-codec': 'zstd', owner: 'me' });
  assert.equal(md.location, 's3://b/wh/db/t');
  assert.equal(md['last-updated-ms'], 1234);
  assert.equal(md['table-uuid'], 'd20125c8-7284-442c-9aea-15fee620737c');
  assert.deepEqual(parseTableMetadata(serializeTableMetadata(md)), md);
});

test('newTableMetadata defaults: v2, unpartitioned, unsorted, random uuid, caller codec wins', () => {
  const md = newTableMetadata({ location: 'file:///t', schema: userSchema, properties: { 'write.parquet.compression-codec': 'snappy' } });
  assert.equal(md['format-version'], 2);
  assert.deepEqual(md['partition-specs'], [{ 'spec-id': 0, fields: [] }]);
  assert.equal(md['last-partition-id'], 999);
  assert.deepEqual(md['sort-orders'], [{ 'order-id': 0, fields: [] }]);
  assert.match(md['table-uuid'], /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(md.properties['write.parquet.compression-codec'], 'snappy');
  assert.equal(md['last-sequence-number'], 0n);
  assert.equal(md['current-snapshot-id'], undefined);
  const v3 = newTableMetadata({ location: 'file:///t', schema: userSchema, formatVersion: 3 });
  assert.equal(v3['next-row-id'], 0n);
});

test('newTableMetadata rejects unknown source columns and v3 types in v2 tables', () => {
  throwsMetadata(
    () => newTableMetadata({ location: 'l', schema: userSchema, partitionSpec: { 'spec-id': 0, fields: [{ 'source-id': 99, 'field-id': 1000, name: 'x', transform: 'identity' }] } }),
    'metadata: new table: partition: ',
  );
  const v3Schema: Schema = { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'v', required: false, type: 'variant' }] };
  throwsMetadata(() => newTableMetadata({ location: 'l', schema: v3Schema }), 'format v3 features');
  assert.equal(newTableMetadata({ location: 'l', schema: v3Schema, formatVersion: 3 })['format-version'], 3);
});
