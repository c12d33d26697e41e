/**
 * compareValues ordering rules and binary/JSON round trips.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UnsupportedError } from '../../src/errors.js';
import {
  civilFromDays,
  compareStrings,
  compareValues,
  daysFromCivil,
  fromBinary,
  fromJsonValue,
  toBinary,
  toJsonValue,
  utf8Bytes,
} from '../../src/iceberg/conversions.js';
import type { IcebergValue, PrimitiveType } from '../../src/iceberg/types.js';

test('strings order by code point = UTF-8 byte order, not UTF-16 units', () => {
  // U+FF61 (one UTF-16 unit, 0xFF61) vs U+1F407 (surrogates 0xD83D…): code point order puts 🐇 last.
  const a = '\uff61';
  const b = '🐇';
  assert.ok(a > b, 'JS < disagrees (precondition)');
  assert.equal(compareStrings(a, b), -1);
  assert.equal(compareValues('string', a, b), -1);
  const byBytes = Buffer.compare(Buffer.from(utf8Bytes(a)), Buffer.from(utf8Bytes(b)));
  assert.equal(byBytes, -1);
  assert.equal(compareValues('string', 'abc', 'abd'), -1);
  assert.equal(compareValues('string', 'ab', 'abc'), -1);
  assert.equal(compareValues('string', 'abc', 'abc'), 0);
});

test('binary compares unsigned lexicographically', () => {
  assert.equal(compareValues('binary', Uint8Array.of(0x7f), Uint8Array.of(0x80)), -1);
  assert.equal(compareValues('binary', Uint8Array.of(0xff), Uint8Array.of(0x00, 0x00)), 1);
  assert.equal(compareValues('binary', Uint8Array.of(1), Uint8Array.of(1, 0)), -1);
  assert.equal(compareValues('fixed[2]', Uint8Array.of(1, 2), Uint8Array.of(1, 2)), 0);
});

test('floats follow Java Double.compare: -0.0 < 0.0, NaN above Infinity', () => {
  const sorted = [NaN, Infinity, 1, 0, -0, -1, -Infinity].sort((x, y) => compareValues('double', x, y));
  assert.deepEqual(sorted.slice(0, 6), [-Infinity, -1, -0, 0, 1, Infinity]);
  assert.ok(Number.isNaN(sorted[6]));
  assert.ok(Object.is(sorted[2], -0));
  assert.equal(compareValues('float', NaN, NaN), 0);
});

test('numbers, decimals, temporal values and uuids', () => {
  assert.equal(compareValues('long', -5n, 3n), -1);
  assert.equal(compareValues('int', 10, 9), 1);
  assert.equal(compareValues('decimal(9, 2)', -10n, -5n), -1);
  assert.equal(compareValues('timestamp', 1n, 1n), 0);
  // Unsigned byte order: 8… sorts after 7… (Java's signed UUID.compareTo would not).
  assert.equal(compareValues('uuid', '80000000-0000-0000-0000-000000000000', '7fffffff-ffff-ffff-ffff-ffffffffffff'), 1);
  assert.equal(compareValues('boolean', false, true), -1);
});

test('nulls first; structs and lists element-wise; maps refused', () => {
  assert.equal(compareValues('int', null, 1), -1);
  assert.equal(compareValues('int', 1, null), 1);
  assert.equal(compareValues('int', null, null), 0);
  const st = {
    type: 'struct' as const,
    fields: [
      { id: 1, name: 'a', required: true, type: 'int' as const },
      { id: 2, name: 'b', required: true, type: 'string' as const },
    ],
  };
  assert.equal(compareValues(st, [1, 'b'], [1, 'a']), 1);
  const list = { type: 'list' as const, 'element-id': 3, element: 'int' as const, 'element-required': true };
  assert.equal(compareValues(list, [1, 2], [1, 2, 0]), -1);
  const map = { type: 'map' as const, 'key-id': 4, key: 'string' as const, 'value-id': 5, value: 'int' as const, 'value-required': true };
  assert.throws(() => compareValues(map, new Map(), new Map()), UnsupportedError);
});

test('binary and JSON round trips for edge values', () => {
  const cases: [PrimitiveType, IcebergValue][] = [
    ['int', -2147483648],
    ['int', 2147483647],
    ['long', -9223372036854775808n],
    ['long', 9223372036854775807n],
    ['date', -719528],
    ['time', 86399999999n],
    ['timestamp', -62135596800000000n],
    ['timestamptz_ns', -1n],
    ['decimal(38, 0)', 10n ** 38n - 1n],
    ['decimal(38, 10)', -(10n ** 38n - 1n)],
    ['string', 'Flopsy 🐇 Mopsy–Naïve'],
    ['uuid', '00000000-0000-0000-0000-000000000000'],
    ['binary', new Uint8Array(0)],
    ['double', -0],
    ['float', Math.fround(3.4e38)],
  ];
  for (const [type, v] of cases) {
    assert.deepEqual(fromBinary(type, toBinary(type, v)), v, `binary ${type}`);
    assert.deepEqual(fromJsonValue(type, toJsonValue(type, v)), v, `json ${type}`);
  }
});

test('values of the wrong shape are rejected with the type named', () => {
  assert.throws(() => toBinary('long', 1.5), /conversions: expected a bigint for long/);
  assert.throws(() => toBinary('int', 2 ** 31), /32-bit integer/);
  assert.throws(() => toBinary('uuid', 'nope'), /invalid uuid/);
  assert.throws(() => fromBinary('int', Uint8Array.of(1, 2)), /int value must be 4 bytes/);
  assert.throws(() => fromJsonValue('date', '2017-02-30'), /invalid date/);
  assert.throws(() => fromJsonValue('time', '24:00:00'), /invalid time/);
  assert.throws(() => toJsonValue('variant', 'x'), UnsupportedError);
  // Numbers are accepted where bigints are expected (safe integers only).
  assert.equal(toJsonValue('long', 5), 5);
});

test('civil date helpers agree with Date for a wide range', () => {
  for (let d = -800000; d <= 800000; d += 997) {
    const [y, m, day] = civilFromDays(d);
    const js = new Date(d * 86400000);
    assert.deepEqual([y, m, day], [js.getUTCFullYear(), js.getUTCMonth() + 1, js.getUTCDate()]);
    assert.equal(daysFromCivil(y, m, day), d);
  }
});
