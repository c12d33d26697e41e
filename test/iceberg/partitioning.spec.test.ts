/**
 * Partition specs: parsing, validation, partition type, paths, id assignment and evolution.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseJson } from '../../src/iceberg/json.js';
import type { PartitionSpec } from '../../src/iceberg/metadata.js';
import {
  assignPartitionFieldIds,
  defaultPartitionName,
  escapePathPart,
  evolvePartitionSpec,
  isUnpartitioned,
  parsePartitionSpec,
  partitionPath,
  partitionSpecToString,
  partitionType,
  partitionValues,
  reassignPartitionSourceIds,
  specsEquivalent,
  unpartitioned,
  validatePartitionSpec,
} from '../../src/iceberg/partitioning.js';
import { assignFreshIds } from '../../src/iceberg/schema-fresh-ids.js';
import { parseSchema } from '../../src/iceberg/schema-parse.js';
import type { IcebergValue, Schema } from '../../src/iceberg/types.js';
import { SKIP_NO_SHARED, fixturePath } from '../helpers/shared.js';

const schema = parseSchema({
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'int' },
    { id: 2, name: 'name', required: false, type: 'string' },
    { id: 3, name: 'date', required: false, type: 'date' },
    { id: 4, name: 'ts', required: false, type: 'timestamptz' },
    { id: 5, name: 'tags', required: false, type: { type: 'list', 'element-id': 6, 'element-required': true, element: 'string' } },
    { id: 7, name: 'loc', required: false, type: { type: 'struct', fields: [{ id: 8, name: 'city', required: false, type: 'string' }] } },
    { id: 9, name: 'price', required: false, type: 'decimal(10,2)' },
  ],
});

const spec: PartitionSpec = parsePartitionSpec({
  'spec-id': 0,
  fields: [
    { name: 'id_bucket', transform: 'bucket[4]', 'source-id': 1, 'field-id': 1000 },
    { name: 'date', transform: 'identity', 'source-id': 3, 'field-id': 1001 },
  ],
});

test('parses object and v1 list forms; v1 field ids default to 1000+position', () => {
  assert.deepEqual(spec.fields[0], { 'source-id': 1, 'field-id': 1000, name: 'id_bucket', transform: 'bucket[4]' });
  const v1 = parsePartitionSpec([{ name: 'x', transform: 'identity', 'source-id': 1 }, { name: 'y', transform: 'day', 'source-id': 4 }]);
  assert.deepEqual(v1, {
    'spec-id': 0,
    fields: [
      { 'source-id': 1, 'field-id': 1000, name: 'x', transform: 'identity' },
      { 'source-id': 4, 'field-id': 1001, name: 'y', transform: 'day' },
    ],
  });
  const v3 = parsePartitionSpec({ 'spec-id': 2, fields: [{ name: 'z', transform: 'zorder', 'source-ids': [1, 2], 'field-id': 1005 }] });
  assert.deepEqual(v3.fields[0], { 'source-id': 1, 'source-ids': [1, 2], 'field-id': 1005, name: 'z', transform: 'zorder' });
  assert.throws(() => parsePartitionSpec({ 'spec-id': 0, fields: [{ name: 'x', transform: 'identity' }] }, 'm.json'), /partition: m.json: partition field 'x': missing "source-id"/);
  assert.throws(() => parsePartitionSpec({ 'spec-id': 0, fields: [{ name: 'x', transform: 'bucket[0]', 'source-id': 1 }] }), /transform: invalid bucket/);
});

test('validation accepts valid specs and names the offending field', () => {
  validatePartitionSpec(spec, schema);
  validatePartitionSpec(spec, schema, { newSpec: true });
  validatePartitionSpec(unpartitioned(), schema);
  const bad = (fields: unknown[], opts = {}) => () => validatePartitionSpec(parsePartitionSpec({ 'spec-id': 1, fields }), schema, opts);
  assert.throws(bad([{ name: 'x', transform: 'identity', 'source-id': 42, 'field-id': 1000 }]), /partition field 'x': cannot find source column with id 42/);
  assert.throws(bad([{ name: 'x', transform: 'identity', 'source-id': 1, 'field-id': 999 }]), /field-id 999 must be >= 1000/);
  assert.throws(
    bad([
      { name: 'x', transform: 'identity', 'source-id': 1, 'field-id': 1000 },
      { name: 'x', transform: 'bucket[2]', 'source-id': 1, 'field-id': 1001 },
    ]),
    /duplicate partition field name 'x'/,
  );
  assert.throws(
    bad([
      { name: 'x', transform: 'identity', 'source-id': 1, 'field-id': 1000 },
      { name: 'y', transform: 'bucket[2]', 'source-id': 1, 'field-id': 1000 },
    ]),
    /duplicate partition field id 1000/,
  );
  assert.throws(bad([{ name: 'h', transform: 'hour', 'source-id': 3, 'field-id': 1000 }]), /transform hour cannot be applied to 'date' of type date/);
  assert.throws(bad([{ name: 't', transform: 'identity', 'source-id': 6, 'field-id': 1000 }]), /source column 'tags.element' is nested in a list or map/);
  assert.throws(bad([{ name: 'l', transform: 'identity', 'source-id': 7, 'field-id': 1000 }]), /source column 'loc' is not a primitive type/);
  // Nested in a struct is fine.
  bad([{ name: 'city', transform: 'identity', 'source-id': 8, 'field-id': 1000 }])();
  // Unknown transforms are tolerated (readers ignore them); void tolerates a dropped source.
  bad([{ name: 'z', transform: 'zorder', 'source-id': 1, 'field-id': 1000 }])();
  bad([{ name: 'gone', transform: 'void', 'source-id': 77, 'field-id': 1000 }])();
  bad([{ name: 'gone', transform: 'day', 'source-id': 77, 'field-id': 1000 }], { allowMissingSources: true })();
});

test('new-spec rules: schema name clashes and redundant fields', () => {
  const bad = (fields: unknown[]) => () => validatePartitionSpec(parsePartitionSpec({ 'spec-id': 1, fields }), schema, { newSpec: true });
  assert.throws(bad([{ name: 'name', transform: 'bucket[4]', 'source-id': 1, 'field-id': 1000 }]), /name clashes with schema column 'name'/);
  assert.throws(
    bad([
      { name: 'd', transform: 'day', 'source-id': 4, 'field-id': 1000 },
      { name: 'h', transform: 'hour', 'source-id': 4, 'field-id': 1001 },
    ]),
    /partition field 'h': redundant with partition field 'd'/,
  );
  // Identity of the same-named column is allowed; so are different buckets of one column.
  bad([{ name: 'date', transform: 'identity', 'source-id': 3, 'field-id': 1000 }])();
});

test('partitionType uses partition field ids and result types, all optional', () => {
  const t = partitionType(
    parsePartitionSpec({
      'spec-id': 1,
      fields: [
        { name: 'id_bucket', transform: 'bucket[4]', 'source-id': 1, 'field-id': 1000 },
        { name: 'ts_day', transform: 'day', 'source-id': 4, 'field-id': 1001 },
        { name: 'ts_hour', transform: 'hour', 'source-id': 4, 'field-id': 1002 },
        { name: 'name_trunc', transform: 'truncate[3]', 'source-id': 2, 'field-id': 1003 },
        { name: 'price', transform: 'identity', 'source-id': 9, 'field-id': 1004 },
        { name: 'dropped', transform: 'void', 'source-id': 99, 'field-id': 1005 },
      ],
    }),
    schema,
  );
  assert.deepEqual(t, {
    type: 'struct',
    fields: [
      { id: 1000, name: 'id_bucket', required: false, type: 'int' },
      { id: 1001, name: 'ts_day', required: false, type: 'date' },
      { id: 1002, name: 'ts_hour', required: false, type: 'int' },
      { id: 1003, name: 'name_trunc', required: false, type: 'string' },
      { id: 1004, name: 'price', required: false, type: 'decimal(10, 2)' },
      { id: 1005, name: 'dropped', required: false, type: 'unknown' },
    ],
  });
});

test('partition values and paths match the Spark-written layout', () => {
  const row: Record<number, IcebergValue> = { 1: 4, 3: 18994 };
  const values = partitionValues(spec, schema, (id) => row[id] ?? null);
  assert.deepEqual(values, [2, 18994]);
  assert.equal(partitionPath(spec, schema, values), 'id_bucket=2/date=2022-01-02');
  assert.equal(partitionPath(spec, schema, [0, 18993]), 'id_bucket=0/date=2022-01-01');
  assert.equal(partitionPath(spec, schema, [3, null]), 'id_bucket=3/date=null');
  assert.equal(partitionPath(unpartitioned(), schema, []), '');
  assert.throws(() => partitionPath(spec, schema, [1]), /partition tuple has 1 values for 2 fields/);
});

test('partition paths URL-escape names and values like Java URLEncoder', () => {
  assert.equal(escapePathPart('a b/c=d?é'), 'a+b%2Fc%3Dd%3F%C3%A9');
  assert.equal(escapePathPart('Az09.-*_'), 'Az09.-*_');
  const s = parsePartitionSpec({
    'spec-id': 0,
    fields: [
      { name: 'name', transform: 'identity', 'source-id': 2, 'field-id': 1000 },
      { name: 'ts hour', transform: 'hour', 'source-id': 4, 'field-id': 1001 },
    ],
  });
  assert.equal(partitionPath(s, schema, ['Mopsy–Naïve 🐇', 420042]), 'name=Mopsy%E2%80%93Na%C3%AFve+%F0%9F%90%87/ts+hour=2017-12-01-18');
});

test('isUnpartitioned: no fields or only void fields', () => {
  assert.ok(isUnpartitioned(unpartitioned()));
  assert.ok(isUnpartitioned({ 'spec-id': 1, fields: [{ 'source-id': 1, 'field-id': 1000, name: 'x', transform: 'void' }] }));
  assert.ok(!isUnpartitioned(spec));
});

test('assignPartitionFieldIds starts at 1000 and never collides with given ids', () => {
  const r = assignPartitionFieldIds(
    [
      { 'source-id': 1, name: 'a', transform: 'identity' },
      { 'source-id': 2, name: 'b', transform: 'identity', 'field-id': 1000 },
      { 'source-id': 3, name: 'c', transform: 'identity' },
    ],
    999,
  );
  assert.deepEqual(
    r.fields.map((f) => f['field-id']),
    [1001, 1000, 1002],
  );
  assert.equal(r.lastPartitionId, 1002);
  assert.equal(assignPartitionFieldIds([{ 'source-id': 1, name: 'a', transform: 'identity' }], 0).fields[0]?.['field-id'], 1000);
});

test('evolvePartitionSpec reuses ids of equivalent historical fields and existing specs', () => {
  const specs = [spec];
  // Same fields → the existing spec is returned.
  const same = evolvePartitionSpec(
    [
      { 'source-id': 1, name: 'id_bucket', transform: 'bucket[4]' },
      { 'source-id': 3, name: 'date', transform: 'identity' },
    ],
    { specs, lastPartitionId: 1001 },
  );
  assert.equal(same.existing, true);
  assert.equal(same.spec, spec);
  // Drop the bucket, add day(ts): `date` keeps 1001, the new field gets 1002.
  const next = evolvePartitionSpec(
    [
      { 'source-id': 3, name: 'date', transform: 'identity' },
      { 'source-id': 4, name: 'ts_day', transform: 'day' },
    ],
    { specs, lastPartitionId: 1001 },
  );
  assert.equal(next.existing, false);
  assert.equal(next.spec['spec-id'], 1);
  assert.deepEqual(
    next.spec.fields.map((f) => [f.name, f['field-id']]),
    [
      ['date', 1001],
      ['ts_day', 1002],
    ],
  );
  assert.equal(next.lastPartitionId, 1002);
  // Re-adding the bucket later reuses 1000 (it appears in spec 0).
  const again = evolvePartitionSpec(
    [
      { 'source-id': 4, name: 'ts_day', transform: 'day' },
      { 'source-id': 1, name: 'id_bucket', transform: 'bucket[4]' },
    ],
    { specs: [spec, next.spec], lastPartitionId: next.lastPartitionId },
  );
  assert.deepEqual(
    again.spec.fields.map((f) => f['field-id']),
    [1002, 1000],
  );
  assert.equal(again.spec['spec-id'], 2);
  // v1 does not reuse.
  const v1 = evolvePartitionSpec([{ 'source-id': 3, name: 'date', transform: 'identity' }], { specs, lastPartitionId: 1001, formatVersion: 1 });
  assert.deepEqual(v1.spec.fields[0]?.['field-id'], 1002);
});

test('specsEquivalent ignores ids but not names', () => {
  const a = { fields: [{ 'source-id': 1, name: 'x', transform: 'bucket[4]' }] };
  assert.ok(specsEquivalent(a, { fields: [{ 'source-id': 1, name: 'x', transform: 'BUCKET[4]', 'field-id': 1010 }] }));
  assert.ok(!specsEquivalent(a, { fields: [{ 'source-id': 1, name: 'y', transform: 'bucket[4]' }] }));
  assert.ok(!specsEquivalent(a, { fields: [{ 'source-id': 1, name: 'x', transform: 'bucket[8]' }] }));
});

test('defaultPartitionName and display', () => {
  assert.equal(defaultPartitionName('bucket[16]', 'id'), 'id_bucket');
  assert.equal(defaultPartitionName('truncate[3]', 'name'), 'name_trunc');
  assert.equal(defaultPartitionName('day', 'ts'), 'ts_day');
  assert.equal(defaultPartitionName('identity', 'ts'), 'ts');
  assert.equal(defaultPartitionName('void', 'ts'), 'ts_null');
  assert.equal(partitionSpecToString(spec), '[1000: id_bucket bucket[4](1), 1001: date identity(3)]');
});

test('reassignPartitionSourceIds rebinds by name to a schema with fresh ids', () => {
  let n = 100;
  const fresh: Schema = assignFreshIds(schema, () => ++n);
  const s = reassignPartitionSourceIds({ ...spec, fields: spec.fields.map((f) => ({ ...f, 'field-id': f['field-id'] + 5 })) }, schema, fresh);
  assert.deepEqual(
    s.fields.map((f) => [f['source-id'], f['field-id']]),
    [
      [101, 1000],
      [103, 1001],
    ],
  );
  assert.throws(() => reassignPartitionSourceIds(spec, schema, { ...fresh, fields: fresh.fields.slice(1) }), /partition field 'id_bucket': source column 'id' not found in the new schema/);
});

test('specs of Spark/Java-written tables validate against their schemas', { skip: SKIP_NO_SHARED }, () => {
  for (const [table, file] of [
    ['spark_bucket_rename_column', 'v3.metadata.json'],
    ['spark_partition_evolution_missing_cols', 'v4.metadata.json'],
    ['java_eq_deletes_partitioned', 'v6.metadata.json'],
  ] as const) {
    const md = parseJson(readFileSync(fixturePath('iceberg-tables', table, 'metadata', file), 'utf8')) as {
      schemas: unknown[];
      'current-schema-id': number;
      'partition-specs': unknown[];
    };
    const schemas = md.schemas.map((s) => parseSchema(s, file));
    const current = schemas.find((s) => s['schema-id'] === md['current-schema-id']) as Schema;
    for (const sj of md['partition-specs']) {
      const p = parsePartitionSpec(sj, `${table}/${file}`);
      // After `date` was renamed to `event_date`, the old partition name must still validate.
      validatePartitionSpec(p, current, { what: file });
      partitionType(p, current);
    }
  }
});
