import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  and,
  equal,
  greaterThan,
  greaterThanOrEqual,
  isIn,
  isNaN,
  isNull,
  lessThan,
  lessThanOrEqual,
  notEqual,
  notNaN,
  notNull,
  or,
  startsWith,
  type Expression,
} from '../../src/iceberg/expressions.js';
import { evalValue, manifestEvaluator, metricsEvaluator, partitionEvaluator } from '../../src/iceberg/expression-evaluators.js';
import { toBinary } from '../../src/iceberg/conversions.js';
import type { DataFile, FieldSummary, ManifestFile } from '../../src/iceberg/manifest-types.js';
import type { PartitionSpec } from '../../src/iceberg/metadata.js';
import type { IcebergValue, PrimitiveType, Schema } from '../../src/iceberg/types.js';

const schema: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', required: false, type: 'int' },
    { id: 2, name: 'name', required: false, type: 'string' },
    { id: 3, name: 'ts', required: false, type: 'timestamp' },
    { id: 4, name: 'x', required: false, type: 'double' },
    { id: 5, name: 'big', required: false, type: 'long' },
  ],
};

// ---------------------------------------------------------------------------------------------
// metrics

function dataFile(metrics: {
  count?: number;
  values?: Record<number, number>;
  nulls?: Record<number, number>;
  nans?: Record<number, number>;
  lower?: Record<number, [PrimitiveType, IcebergValue]>;
  upper?: Record<number, [PrimitiveType, IcebergValue]>;
}): DataFile {
  const nums = (r?: Record<number, number>) => (r ? new Map(Object.entries(r).map(([k, v]) => [Number(k), v])) : undefined);
  const bounds = (r?: Record<number, [PrimitiveType, IcebergValue]>) =>
    r ? new Map(Object.entries(r).map(([k, [t, v]]) => [Number(k), toBinary(t, v)])) : undefined;
  const f: DataFile = {
    content: 0,
    file_path: 'f.parquet',
    file_format: 'PARQUET',
    partition: [],
    record_count: metrics.count ?? 100,
    file_size_in_bytes: 1,
  };
  const vc = nums(metrics.values);
  if (vc) f.value_counts = vc;
  const nc = nums(metrics.nulls);
  if (nc) f.null_value_counts = nc;
  const nan = nums(metrics.nans);
  if (nan) f.nan_value_counts = nan;
  const lb = bounds(metrics.lower);
  if (lb) f.lower_bounds = lb;
  const ub = bounds(metrics.upper);
  if (ub) f.upper_bounds = ub;
  return f;
}

const idRange = dataFile({
  values: { 1: 100, 2: 100, 4: 100 },
  nulls: { 1: 0, 2: 100, 4: 0 },
  nans: { 4: 100 },
  lower: { 1: ['int', 10] },
  upper: { 1: ['int', 20] },
});

const metrics = (e: Expression, f = idRange) => metricsEvaluator(schema, e)(f);

test('metrics: comparisons against lower/upper bounds', () => {
  assert.equal(metrics(lessThan('id', 10)), false);
  assert.equal(metrics(lessThan('id', 11)), true);
  assert.equal(metrics(lessThanOrEqual('id', 10)), true);
  assert.equal(metrics(lessThanOrEqual('id', 9)), false);
  assert.equal(metrics(greaterThan('id', 20)), false);
  assert.equal(metrics(greaterThan('id', 19)), true);
  assert.equal(metrics(greaterThanOrEqual('id', 21)), false);
  assert.equal(metrics(equal('id', 5)), false);
  assert.equal(metrics(equal('id', 15)), true);
  assert.equal(metrics(equal('id', 25)), false);
  assert.equal(metrics(notEqual('id', 15)), true);
  assert.equal(metrics(isIn('id', [1, 2, 30])), false);
  assert.equal(metrics(isIn('id', [1, 12])), true);
});

test('metrics: null and NaN counts', () => {
  assert.equal(metrics(isNull('id')), false, 'no nulls');
  assert.equal(metrics(notNull('name')), false, 'all nulls');
  assert.equal(metrics(equal('name', 'a')), false, 'all nulls cannot equal anything');
  assert.equal(metrics(isNull('name')), true);
  assert.equal(metrics(notNaN('x')), false, 'all NaN');
  assert.equal(metrics(isNaN('x')), true);
  assert.equal(metrics(lessThan('x', 1)), false, 'all NaN cannot compare');
  assert.equal(metrics(equal('big', 1n)), true, 'no metrics: might match');
  assert.equal(metrics(isNull('id'), dataFile({ count: 0 })), false, 'empty file');
});

test('metrics: and/or combine, bounds of promoted columns (int bounds on a long column)', () => {
  assert.equal(metrics(and(equal('id', 15), isNull('id'))), false);
  assert.equal(metrics(or(equal('id', 5), isNull('name'))), true);
  const promoted = dataFile({ values: { 5: 10 }, nulls: { 5: 0 }, lower: { 5: ['int', 1] }, upper: { 5: ['int', 3] } });
  assert.equal(metrics(greaterThan('big', 3n), promoted), false);
  assert.equal(metrics(equal('big', 2n), promoted), true);
});

test('metrics: starts_with uses (possibly truncated) string bounds', () => {
  const f = dataFile({ values: { 2: 5 }, nulls: { 2: 0 }, lower: { 2: ['string', 'apple'] }, upper: { 2: ['string', 'apricot'] } });
  assert.equal(metrics(startsWith('name', 'ap'), f), true);
  assert.equal(metrics(startsWith('name', 'b'), f), false);
  assert.equal(metrics(startsWith('name', 'aa'), f), false);
  assert.equal(metrics(startsWith('name', 'apz'), f), false);
});

// ---------------------------------------------------------------------------------------------
// partitions

const identitySpec: PartitionSpec = { 'spec-id': 0, fields: [{ 'source-id': 2, 'field-id': 1000, name: 'name', transform: 'identity' }] };
const bucketSpec: PartitionSpec = { 'spec-id': 1, fields: [{ 'source-id': 1, 'field-id': 1000, name: 'id_bucket', transform: 'bucket[4]' }] };
const daySpec: PartitionSpec = { 'spec-id': 2, fields: [{ 'source-id': 3, 'field-id': 1000, name: 'ts_day', transform: 'day' }] };
const truncSpec: PartitionSpec = { 'spec-id': 3, fields: [{ 'source-id': 2, 'field-id': 1000, name: 'name_trunc', transform: 'truncate[2]' }] };

test('partition: identity projection is exact', () => {
  const ev = (e: Expression, v: IcebergValue) => partitionEvaluator(identitySpec, schema, e)([v]);
  assert.equal(ev(equal('name', 'a'), 'a'), true);
  assert.equal(ev(equal('name', 'a'), 'b'), false);
  assert.equal(ev(equal('name', 'a'), null), false);
  assert.equal(ev(isNull('name'), null), true);
  assert.equal(ev(notEqual('name', 'a'), 'b'), true);
  assert.equal(ev(notEqual('name', 'a'), null), false, 'SQL semantics: null is not != a');
  assert.equal(ev(startsWith('name', 'ab'), 'abc'), true);
  assert.equal(ev(equal('id', 3), 'x'), true, 'a predicate on an unpartitioned column cannot prune');
});

test('partition: bucket projection keeps equality and IN, drops ranges', () => {
  // bucket[4] of ints: 1, 2 → 0; 3 → 3; 4 → 2 (Iceberg's murmur3 bucket function).
  const ev = (e: Expression, v: number) => partitionEvaluator(bucketSpec, schema, e)([v]);
  assert.equal(ev(equal('id', 4), 2), true);
  assert.equal(ev(equal('id', 4), 0), false);
  assert.equal(ev(isIn('id', [1, 3]), 3), true);
  assert.equal(ev(isIn('id', [1, 3]), 2), false);
  assert.equal(ev(lessThan('id', 2), 2), true, 'ranges do not project through bucket');
  assert.equal(ev(notEqual('id', 4), 2), true, 'not_eq does not project through bucket');
});

test('partition: day projection of timestamp ranges', () => {
  const day = 19724; // 2024-01-02
  const ev = (e: Expression) => partitionEvaluator(daySpec, schema, e)([day]);
  assert.equal(ev(equal('ts', '2024-01-02T10:00:00')), true);
  assert.equal(ev(equal('ts', '2024-01-03T00:00:00')), false);
  assert.equal(ev(lessThan('ts', '2024-01-02T00:00:00')), false, 'strictly before the day');
  assert.equal(ev(lessThan('ts', '2024-01-02T00:00:00.000001')), true);
  assert.equal(ev(greaterThanOrEqual('ts', '2024-01-03T00:00:00')), false);
  assert.equal(ev(greaterThan('ts', '2024-01-02T23:59:59.999999')), false);
  assert.equal(ev(greaterThan('ts', '2024-01-02T23:59:59.999998')), true);
});

test('partition: truncate projection of strings', () => {
  const ev = (e: Expression, v: string) => partitionEvaluator(truncSpec, schema, e)([v]);
  assert.equal(ev(equal('name', 'abc'), 'ab'), true);
  assert.equal(ev(equal('name', 'abc'), 'ac'), false);
  assert.equal(ev(startsWith('name', 'abz'), 'ab'), true);
  assert.equal(ev(startsWith('name', 'b'), 'ab'), false);
  assert.equal(ev(lessThan('name', 'ab'), 'ac'), false);
});

// ---------------------------------------------------------------------------------------------
// manifests

function manifestWith(partitions: FieldSummary[] | null): ManifestFile {
  return {
    manifest_path: 'm.avro',
    manifest_length: 1,
    partition_spec_id: 0,
    content: 0,
    sequence_number: 1n,
    min_sequence_number: 1n,
    added_snapshot_id: 1n,
    added_files_count: 1,
    existing_files_count: 0,
    deleted_files_count: 0,
    added_rows_count: 1,
    existing_rows_count: 0,
    deleted_rows_count: 0,
    partitions,
  };
}

test('manifest: partition summaries prune by range and nulls', () => {
  const summary = (lo: string | null, hi: string | null, nulls: boolean): FieldSummary => ({
    contains_null: nulls,
    contains_nan: false,
    lower_bound: lo === null ? null : toBinary('string', lo),
    upper_bound: hi === null ? null : toBinary('string', hi),
  });
  const ev = (e: Expression, s: FieldSummary) => manifestEvaluator(identitySpec, schema, e)(manifestWith([s]));
  const bd = summary('b', 'd', false);
  assert.equal(ev(equal('name', 'c'), bd), true);
  assert.equal(ev(equal('name', 'a'), bd), false);
  assert.equal(ev(equal('name', 'e'), bd), false);
  assert.equal(ev(lessThan('name', 'b'), bd), false);
  assert.equal(ev(greaterThan('name', 'd'), bd), false);
  assert.equal(ev(isNull('name'), bd), false);
  assert.equal(ev(isIn('name', ['a', 'z']), bd), false);
  assert.equal(ev(isIn('name', ['a', 'c']), bd), true);
  assert.equal(ev(startsWith('name', 'c'), bd), true);
  assert.equal(ev(startsWith('name', 'e'), bd), false);
  const onlyNulls = summary(null, null, true);
  assert.equal(ev(isNull('name'), onlyNulls), true);
  assert.equal(ev(notNull('name'), onlyNulls), false);
  assert.equal(ev(equal('name', 'c'), onlyNulls), false);
  assert.equal(manifestEvaluator(identitySpec, schema, equal('name', 'a'))(manifestWith(null)), true, 'no summaries');
});

test('manifest: bucket summaries', () => {
  const s: FieldSummary = { contains_null: false, lower_bound: toBinary('int', 0), upper_bound: toBinary('int', 0) };
  const ev = (e: Expression) => manifestEvaluator(bucketSpec, schema, e)(manifestWith([s]));
  assert.equal(ev(equal('id', 1)), true);
  assert.equal(ev(equal('id', 4)), false);
});

test('evalValue follows SQL null semantics and Iceberg NaN ordering', () => {
  assert.equal(evalValue({ op: 'lt', type: 'double', value: 1 }, Number.NaN), false);
  assert.equal(evalValue({ op: 'gt', type: 'double', value: 1 }, Number.NaN), false);
  assert.equal(evalValue({ op: 'not_eq', type: 'double', value: 1 }, Number.NaN), true);
  assert.equal(evalValue({ op: 'not_in', type: 'int', values: [1] }, null), false);
});
