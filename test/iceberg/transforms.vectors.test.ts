/**
 * vectors.md §1–3: bucket examples, the truncate table, temporal transforms and their human strings.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bytesToHex, formatDecimal, hexToBytes, parseDecimal, utf8Bytes } from '../../src/iceberg/conversions.js';
import { applyTransform, parseTransform, toHumanString } from '../../src/iceberg/transforms.js';
import type { IcebergType, IcebergValue } from '../../src/iceberg/types.js';

const apply = (t: string, type: IcebergType, v: IcebergValue) => applyTransform(parseTransform(t), type, v);

test('bucket examples from PyIceberg test_buckets', () => {
  const cases: [string, IcebergType, IcebergValue, number][] = [
    ['bucket[2]', 'int', 0, 0],
    ['bucket[100]', 'int', 34, 79],
    ['bucket[100]', 'long', 34n, 79],
    ['bucket[100]', 'date', 17486, 26],
    ['bucket[100]', 'time', 81068000000n, 59],
    ['bucket[100]', 'timestamp', 1510871468000000n, 7],
    ['bucket[100]', 'timestamptz', 1510871468000000n, 7],
    ['bucket[100]', 'decimal(9, 2)', parseDecimal('14.20', 2), 59],
    ['bucket[16]', 'decimal(5, 2)', parseDecimal('-1.28', 2), 13],
    ['bucket[100]', 'string', 'iceberg', 89],
    ['bucket[100]', 'uuid', 'f79c3e09-677c-4bbd-a479-3f349cb785e7', 40],
    ['bucket[128]', 'fixed[3]', utf8Bytes('foo'), 32],
    ['bucket[128]', 'binary', Uint8Array.of(0, 1, 2, 3), 57],
  ];
  for (const [t, type, v, expected] of cases) {
    assert.equal(apply(t, type, v), expected, `${t} of ${String(type)} ${String(v)}`);
  }
  assert.deepEqual(
    [1, 2, 3, 4].map((v) => apply('bucket[10]', 'int', v)),
    [6, 2, 5, 0],
  );
  // Matches the partition tuples of spark_bucket_rename_column.
  assert.deepEqual(
    [1, 2, 3, 4].map((v) => apply('bucket[4]', 'int', v)),
    [0, 0, 3, 2],
  );
  assert.deepEqual(
    [1n, 2n, 3n, 4n].map((v) => apply('bucket[4]', 'long', v)),
    [0, 0, 3, 2],
  );
});

test('decimal -1.28 is the single byte 80 and buckets to 13 in bucket[16]', () => {
  assert.equal(parseDecimal('-1.28', 2), -128n);
  assert.equal(apply('bucket[16]', 'decimal(5, 2)', -128n), 13);
});

test('truncate int/long W=10 keeps the remainder non-negative', () => {
  const input = [1, 5, 9, 10, 11, -1, -10, -12, 0];
  const expected = [0, 0, 0, 10, 10, -10, -10, -20, 0];
  assert.deepEqual(input.map((v) => apply('truncate[10]', 'int', v)), expected);
  assert.deepEqual(
    input.map((v) => apply('truncate[10]', 'long', BigInt(v))),
    expected.map((v) => BigInt(v)),
  );
});

test('truncate decimal(9,2) W=10 and W=50', () => {
  const inputs = ['12.34', '12.30', '12.29', '0.05', '-0.05', '0.0'];
  const expected = ['12.30', '12.30', '12.20', '0.00', '-0.10', '0.00'];
  const got = inputs.map((s) => formatDecimal(apply('truncate[10]', 'decimal(9, 2)', parseDecimal(s, 2)) as bigint, 2));
  assert.deepEqual(got, expected);
  assert.equal(apply('truncate[10]', 'decimal(9, 2)', parseDecimal('0.0', 2)), 0n);
  assert.equal(formatDecimal(apply('truncate[50]', 'decimal(9, 2)', parseDecimal('10.65', 2)) as bigint, 2), '10.50');
});

test('truncate strings by code points', () => {
  assert.equal(apply('truncate[3]', 'string', 'iceberg'), 'ice');
  assert.equal(apply('truncate[5]', 'string', 'abcdefg'), 'abcde');
  assert.equal(apply('truncate[5]', 'string', 'abc'), 'abc');
  assert.equal(apply('truncate[5]', 'string', ''), '');
  assert.equal(apply('truncate[1]', 'string', '☃de'), '☃');
  // A surrogate pair is one code point and is never split.
  assert.equal(apply('truncate[1]', 'string', '🐇x'), '🐇');
  assert.equal(apply('truncate[2]', 'string', 'a🐇x'), 'a🐇');
});

test('truncate binary by bytes', () => {
  assert.equal(bytesToHex(apply('truncate[3]', 'binary', hexToBytes('0102030405')) as Uint8Array), '010203');
  const snowman = utf8Bytes('☃de');
  assert.equal(bytesToHex(snowman).slice(0, 6), 'e29883');
  assert.equal(bytesToHex(apply('truncate[1]', 'binary', snowman) as Uint8Array), 'e2');
});

test('temporal transforms of date 17501 (2017-12-01)', () => {
  assert.deepEqual(
    ['year', 'month', 'day'].map((t) => apply(t, 'date', 17501)),
    [47, 575, 17501],
  );
});

test('temporal transforms of timestamp 1512151975038194 µs', () => {
  const v = 1512151975038194n;
  for (const type of ['timestamp', 'timestamptz'] as const) {
    assert.deepEqual(
      ['year', 'month', 'day', 'hour'].map((t) => apply(t, type, v)),
      [47, 575, 17501, 420042],
    );
  }
  for (const type of ['timestamp_ns', 'timestamptz_ns'] as const) {
    assert.deepEqual(
      ['year', 'month', 'day', 'hour'].map((t) => apply(t, type, v * 1000n + 999n)),
      [47, 575, 17501, 420042],
    );
  }
});

test('temporal transforms of -1 count back from the epoch (floor)', () => {
  assert.deepEqual(
    ['year', 'month', 'day'].map((t) => apply(t, 'date', -1)),
    [-1, -1, -1],
  );
  assert.deepEqual(
    ['year', 'month', 'day', 'hour'].map((t) => apply(t, 'timestamp', -1n)),
    [-1, -1, -1, -1],
  );
  assert.deepEqual(
    ['year', 'month', 'day', 'hour'].map((t) => apply(t, 'timestamp_ns', -1n)),
    [-1, -1, -1, -1],
  );
});

test('temporal transforms of 0 are 0', () => {
  assert.deepEqual(
    ['year', 'month', 'day'].map((t) => apply(t, 'date', 0)),
    [0, 0, 0],
  );
  assert.deepEqual(
    ['year', 'month', 'day', 'hour'].map((t) => apply(t, 'timestamptz', 0n)),
    [0, 0, 0, 0],
  );
});

test('human strings of temporal partition values', () => {
  const h = (t: string, type: IcebergType, v: IcebergValue) => toHumanString(parseTransform(t), type, v);
  assert.equal(h('year', 'timestamp', 47), '2017');
  assert.equal(h('month', 'timestamp', 575), '2017-12');
  assert.equal(h('day', 'timestamp', 17501), '2017-12-01');
  assert.equal(h('hour', 'timestamp', 420042), '2017-12-01-18');
  assert.equal(h('year', 'date', -1), '1969');
  assert.equal(h('month', 'date', -1), '1969-12');
  assert.equal(h('day', 'date', -1), '1969-12-31');
  assert.equal(h('hour', 'timestamp', -1), '1969-12-31-23');
  for (const t of ['year', 'month', 'day', 'hour', 'bucket[4]', 'identity', 'void']) {
    assert.equal(h(t, 'timestamp', null), 'null');
  }
});

test('null in, null out; void always null', () => {
  for (const t of ['identity', 'bucket[4]', 'year', 'month', 'day', 'hour']) {
    assert.equal(apply(t, 'timestamp', null), null);
  }
  assert.equal(apply('truncate[3]', 'string', null), null);
  // Applicability is still checked for nulls: truncate does not apply to timestamps.
  assert.throws(() => apply('truncate[3]', 'timestamp', null), /transform: truncate\[3\] cannot be applied to timestamp/);
  assert.equal(apply('void', 'string', 'x'), null);
  assert.equal(apply('identity', 'string', 'x'), 'x');
});

test('truncate wraps at the integer limits like Java (int and long arithmetic)', async () => {
  const { applyTransform, parseTransform } = await import('../../src/iceberg/transforms.js');
  const t = parseTransform('truncate[10]');
  // Java: -2147483648 - 2 (remainder) wraps to 2147483646.
  assert.equal(applyTransform(t, 'int', -2147483648), 2147483646);
  assert.equal(applyTransform(t, 'long', -(2n ** 63n)), 2n ** 63n - 2n);
});
