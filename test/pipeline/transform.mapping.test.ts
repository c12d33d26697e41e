/**
 * The transform as a mapping: paths (nested, missing, null), required vs optional, constants,
 * derived values from the record's metadata and their type checks, nested Iceberg types, the
 * schema derived for a new table, and compiling against an existing table's schema.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../../src/errors.js';
import { compileTransform, RecordError, schemaForTransform, type ColumnMapping, type RecordContext } from '../../src/pipeline/transform.js';
import type { Schema } from '../../src/iceberg/types.js';
import type { SourceRecord } from '../../src/source/source.js';

function record(over: Partial<SourceRecord> = {}): SourceRecord {
  return {
    partitionId: 'shardId-000000000001',
    position: '49590338271490256608559692538361571095921575989136588898:3',
    data: new TextEncoder().encode('{}'),
    partitionKey: 'pk_7',
    arrivalTimeMs: 1_767_885_412_345,
    meta: { sequenceNumber: '49590338271490256608559692538361571095921575989136588898', subSequenceNumber: '3', shardId: 'shardId-000000000001' },
    ...over,
  };
}

function ctx(over: Partial<SourceRecord> = {}, processingTimeUs = 1_767_885_413_000_001n): RecordContext {
  return { record: record(over), streamName: 'events-stream', processingTimeUs };
}

/** Compiles a mapping for a table created from it. */
function compile(columns: ColumnMapping[]) {
  const spec = { columns };
  return compileTransform(spec, schemaForTransform(spec));
}

function schema(fields: Schema['fields']): Schema {
  return { type: 'struct', 'schema-id': 0, fields };
}

describe('paths', () => {
  test('default path is the column name; dot paths reach into nested objects and arrays', () => {
    const t = compile([
      { name: 'id', type: 'string' },
      { name: 'user_id', type: 'long', path: 'payload.user.id' },
      { name: 'city', type: 'string', path: 'payload.user.address.city' },
      { name: 'first_tag', type: 'string', path: 'tags.0' },
    ]);
    assert.deepEqual(t.apply({ id: 'a', payload: { user: { id: 42, address: { city: 'Kyoto' } } }, tags: ['x', 'y'] }, ctx()), ['a', 42n, 'Kyoto', 'x']);
  });
  test('missing or null values are null for optional columns, including a path through a non-object', () => {
    const t = compile([
      { name: 'a', type: 'string' },
      { name: 'b', type: 'int', path: 'x.y.z' },
      { name: 'c', type: 'timestamptz' },
    ]);
    assert.deepEqual(t.apply({}, ctx()), [null, null, null]);
    assert.deepEqual(t.apply({ a: null, x: { y: null }, c: null }, ctx()), [null, null, null]);
    assert.deepEqual(t.apply({ x: 'a string, not an object' }, ctx()), [null, null, null]);
    assert.deepEqual(t.apply({ x: { y: 5 } }, ctx()), [null, null, null]);
  });
  test('required columns refuse missing and null values, naming column and path', () => {
    const t = compile([
      { name: 'id', type: 'string', required: true },
      { name: 'uid', type: 'long', path: 'user.id', required: true },
    ]);
    assert.deepEqual(t.apply({ id: 'a', user: { id: 1 } }, ctx()), ['a', 1n]);
    assert.throws(() => t.apply({ user: { id: 1 } }, ctx()), { name: 'RecordError', message: "transform: column 'id' (from 'id'): required value is missing" });
    assert.throws(() => t.apply({ id: 'a', user: { id: null } }, ctx()), { name: 'RecordError', message: "transform: column 'uid' (from 'user.id'): required value is missing" });
    assert.throws(() => t.apply({ id: 'a', user: 'x' }, ctx()), /column 'uid' \(from 'user\.id'\): required value is missing/);
  });
  test('a record that is not a JSON object is a RecordError', () => {
    const t = compile([{ name: 'a', type: 'string' }]);
    for (const v of [null, 'text', 42, true, [1, 2]]) {
      assert.throws(() => t.apply(v, ctx()), (e: unknown) => e instanceof RecordError && /record is not a JSON object/.test(e.message));
    }
  });
  test('rows follow the schema order, not the mapping order', () => {
    const t = compileTransform(
      { columns: [{ name: 'b', path: 'y' }, { name: 'a', path: 'x' }] },
      schema([
        { id: 1, name: 'a', required: false, type: 'int' },
        { id: 2, name: 'b', required: false, type: 'string' },
      ]),
    );
    assert.deepEqual(t.apply({ x: 1, y: 'two' }, ctx()), [1, 'two']);
  });
});

describe('constants', () => {
  test('a constant is cast once and used for every record', () => {
    const t = compile([
      { name: 'source', type: 'string', constant: 'kinesis' },
      { name: 'version', type: 'int', constant: 3 },
      { name: 'since', type: 'timestamptz', constant: '2026-01-01T00:00:00Z' },
      { name: 'price', type: 'decimal(9,2)', constant: '1.50' },
      { name: 'nothing', type: 'string', constant: null },
    ]);
    const row = t.apply({ source: 'ignored' }, ctx());
    assert.deepEqual(row, ['kinesis', 3, BigInt(Date.parse('2026-01-01T00:00:00Z')) * 1000n, 150n, null]);
    assert.deepEqual(t.apply({}, ctx()), row);
  });
  test('a constant that cannot be cast is a config error naming the key, found at compile time', () => {
    assert.throws(() => compile([{ name: 'a', type: 'string' }, { name: 'v', type: 'int', constant: 'many' }]), (e: unknown) => {
      assert.ok(e instanceof ValidationError && !(e instanceof RecordError));
      assert.match(e.message, /^transform\.columns\[1\]\.constant \(v\): .*cannot cast "many" to int/);
      return true;
    });
    assert.throws(() => compile([{ name: 'v', type: 'string', constant: null, required: true }]), /columns\[0\]\.constant \(v\): null for a required column/);
  });
  test('only one of path, value and constant', () => {
    assert.throws(() => compile([{ name: 'v', type: 'string', path: 'x', constant: 'y' }]), /columns\[0\] \(v\): give only one of path, value, constant/);
    assert.throws(() => compile([{ name: 'v', type: 'string', value: 'stream', path: 'x' }]), /give only one of/);
  });
});

describe('derived values', () => {
  const columns: ColumnMapping[] = [
    { name: 'processed', type: 'timestamptz', value: 'processing_time' },
    { name: 'processed_local', type: 'timestamp', value: 'processing_time' },
    { name: 'arrived', type: 'timestamptz', value: 'arrival_time' },
    { name: 'shard', type: 'string', value: 'shard' },
    { name: 'partition', type: 'string', value: 'partition' },
    { name: 'seq', type: 'string', value: 'sequence_number' },
    { name: 'sub', type: 'long', value: 'sub_sequence_number' },
    { name: 'sub_int', type: 'int', value: 'sub_sequence_number' },
    { name: 'position', type: 'string', value: 'position' },
    { name: 'key', type: 'string', value: 'partition_key' },
    { name: 'stream', type: 'string', value: 'stream' },
  ];
  test('come from the record context, not the record body', () => {
    const t = compile(columns);
    const body = Object.fromEntries(columns.map((c) => [c.name, 'from the body']));
    assert.deepEqual(t.apply(body, ctx()), [
      1_767_885_413_000_001n,
      1_767_885_413_000_001n,
      1_767_885_412_345_000n,
      'shardId-000000000001',
      'shardId-000000000001',
      '49590338271490256608559692538361571095921575989136588898',
      3n,
      3,
      '49590338271490256608559692538361571095921575989136588898:3',
      'pk_7',
      'events-stream',
    ]);
  });
  test('a record outside a KPL aggregate has no sub-sequence number (null); sequence_number falls back to the position', () => {
    const t = compile(columns);
    const row = t.apply({}, ctx({ position: '4959033827149', meta: {} }));
    assert.equal(row[5], '4959033827149');
    assert.equal(row[6], null);
    assert.equal(row[7], null);
  });
  test('each value needs a column of a fitting type', () => {
    const bad: [ColumnMapping['value'], string][] = [
      ['processing_time', 'string'],
      ['processing_time', 'long'],
      ['processing_time', 'date'],
      ['arrival_time', 'string'],
      ['shard', 'long'],
      ['partition', 'double'],
      ['sequence_number', 'long'],
      ['sequence_number', 'decimal(38,0)'],
      ['sub_sequence_number', 'string'],
      ['position', 'binary'],
      ['partition_key', 'binary'],
      ['stream', 'timestamptz'],
    ];
    for (const [value, type] of bad) {
      assert.throws(
        () => compile([{ name: 'ok', type: 'string' }, { name: 'x', type, value }]),
        (e: unknown) => e instanceof ValidationError && new RegExp(`^transform\\.columns\\[1\\]\\.value \\(x\\): '${value}' needs a .* column`).test(e.message),
        `${value} on ${type}`,
      );
    }
  });
  test('an unknown value is a config error listing the known ones', () => {
    assert.throws(() => compile([{ name: 'x', type: 'string', value: 'hostname' as ColumnMapping['value'] }]), /columns\[0\]\.value: unknown value 'hostname' \(one of processing_time, arrival_time/);
  });
});

describe('nested Iceberg types (tables with struct, list and map columns)', () => {
  const nested = schema([
    {
      id: 1,
      name: 'user',
      required: false,
      type: {
        type: 'struct',
        fields: [
          { id: 2, name: 'id', required: true, type: 'long' },
          { id: 3, name: 'signup', required: false, type: 'date' },
        ],
      },
    },
    { id: 4, name: 'scores', required: false, type: { type: 'list', 'element-id': 5, element: 'int', 'element-required': false } },
    { id: 6, name: 'attrs', required: false, type: { type: 'map', 'key-id': 7, key: 'string', 'value-id': 8, value: 'double', 'value-required': false } },
  ]);
  const t = compileTransform({ columns: [{ name: 'user', path: 'payload.user' }, { name: 'scores' }, { name: 'attrs' }] }, nested);

  test('values are cast field by field', () => {
    const row = t.apply({ payload: { user: { id: '12', signup: '2026-01-08', extra: 1 } }, scores: [1, null, '3'], attrs: { a: 1.5, b: null } }, ctx());
    assert.deepEqual(row[0], [12n, 20461]);
    assert.deepEqual(row[1], [1, null, 3]);
    assert.deepEqual(row[2], new Map<unknown, unknown>([['a', 1.5], ['b', null]]));
    assert.deepEqual(t.apply({ payload: { user: { id: 1 } } }, ctx())[0], [1n, null]);
  });
  test('errors name the nested path', () => {
    assert.throws(() => t.apply({ payload: { user: { signup: '2026-01-08' } } }, ctx()), /column 'user' \(from 'payload\.user\.id'\): required field is missing/);
    assert.throws(() => t.apply({ payload: { user: { id: 1, signup: 'soon' } } }, ctx()), /column 'user' \(from 'payload\.user\.signup'\): cannot cast "soon" to date/);
    assert.throws(() => t.apply({ scores: [1, 1.5] }, ctx()), /column 'scores' \(from 'scores\[\]'\): cannot cast 1\.5 to int/);
    assert.throws(() => t.apply({ scores: 'x' }, ctx()), /column 'scores' \(from 'scores'\): expected an array/);
    assert.throws(() => t.apply({ attrs: { a: 'high' } }, ctx()), /column 'attrs' \(from 'attrs\{\}'\): cannot cast "high" to double/);
    assert.throws(() => t.apply({ payload: { user: [1] } }, ctx()), /expected an object/);
  });
});

describe('schemaForTransform', () => {
  test('fresh ids in mapping order, normalized types, required from the mapping', () => {
    const s = schemaForTransform({
      columns: [
        { name: 'id', type: 'STRING', required: true },
        { name: 'ts', type: 'TimestampTZ' },
        { name: 'price', type: 'Decimal(9, 2)' },
        { name: 'hash', type: 'fixed[16]' },
        { name: 'n', type: ' long ' },
      ],
    });
    assert.deepEqual(s, {
      type: 'struct',
      'schema-id': 0,
      fields: [
        { id: 1, name: 'id', required: true, type: 'string' },
        { id: 2, name: 'ts', required: false, type: 'timestamptz' },
        { id: 3, name: 'price', required: false, type: 'decimal(9, 2)' },
        { id: 4, name: 'hash', required: false, type: 'fixed[16]' },
        { id: 5, name: 'n', required: false, type: 'long' },
      ],
    });
  });
  test('a column without a type, or with an unknown one, is an error naming it', () => {
    assert.throws(() => schemaForTransform({ columns: [{ name: 'a', type: 'string' }, { name: 'b' }] }, 'config: transform'), {
      message: "config: transform.columns[1] (b): 'type' is required to create the table",
    });
    assert.throws(() => schemaForTransform({ columns: [{ name: 'a', type: 'strng' }] }, 'config: transform'), /^ValidationError: config: transform\.columns\[0\]\.type: invalid type 'strng'/);
    assert.throws(() => schemaForTransform({ columns: [{ name: 'a', type: 'decimal(39,2)' }] }), /columns\[0\]\.type: invalid type 'decimal\(39,2\)' \(decimal precision must be between 1 and 38/);
  });
  test('types a mapping cannot fill are refused at compile time', () => {
    assert.throws(() => compile([{ name: 'a', type: 'timestamp_ns' }]), /column 'a': type timestamp_ns is not supported in mappings/);
  });
});

describe('compileTransform against an existing table', () => {
  const table = schema([
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'amount', required: false, type: 'decimal(9, 2)' },
    { id: 3, name: 'ts', required: false, type: 'timestamptz' },
    { id: 4, name: 'note', required: false, type: 'string' },
  ]);

  test('unmapped optional columns are null; types come from the table when the mapping gives none', () => {
    const t = compileTransform({ columns: [{ name: 'id' }, { name: 'amount', type: 'decimal(9,2)', path: 'amt' }, { name: 'ts', type: 'TIMESTAMPTZ' }] }, table);
    assert.equal(t.schema, table);
    assert.deepEqual(t.apply({ id: '7', amt: '1.25', ts: '2026-01-08T00:00:00Z', note: 'not mapped' }, ctx()), [7n, 125n, BigInt(Date.parse('2026-01-08T00:00:00Z')) * 1000n, null]);
  });
  test('a table column that is required is required even when the mapping does not say so', () => {
    const t = compileTransform({ columns: [{ name: 'id' }] }, table);
    assert.throws(() => t.apply({}, ctx()), /column 'id' \(from 'id'\): required value is missing/);
  });
  test('a declared type that differs from the table is an error naming both', () => {
    assert.throws(() => compileTransform({ columns: [{ name: 'id', type: 'int' }] }, table, 'config: transform'), {
      message: 'config: transform.columns[0] (id): type int does not match the table\'s "long"',
    });
    assert.throws(() => compileTransform({ columns: [{ name: 'id' }, { name: 'amount', type: 'decimal(9,3)' }] }, table), /columns\[1\] \(amount\): type decimal\(9,3\) does not match the table's "decimal\(9, 2\)"/);
    assert.throws(() => compileTransform({ columns: [{ name: 'id' }, { name: 'ts', type: 'timestamp' }] }, table), /does not match the table's "timestamptz"/);
  });
  test('a mapped column the table lacks is an error naming it', () => {
    assert.throws(() => compileTransform({ columns: [{ name: 'id' }, { name: 'extra', type: 'string' }] }, table, 'config: transform'), {
      message: "config: transform.columns[1]: the table has no column 'extra' (add it with `floe table alter <table> add-column extra string`)",
    });
  });
  test('a required table column without a mapping is an error naming it', () => {
    assert.throws(() => compileTransform({ columns: [{ name: 'note' }] }, table, 'config: transform'), {
      message: "config: transform: required table column 'id' has no mapping",
    });
  });
});
