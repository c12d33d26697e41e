/**
 * vectors.md §4–5: Appendix D binary single-value serialization (both directions) and the JSON
 * single-value examples.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UnsupportedError, ValidationError } from '../../src/errors.js';
import { bytesToHex, fromBinary, fromJsonValue, hexToBytes, parseDecimal, toBinary, toJsonValue } from '../../src/iceberg/conversions.js';
import { stringifyJson } from '../../src/iceberg/json.js';
import type { IcebergType, IcebergValue, PrimitiveType } from '../../src/iceberg/types.js';

const BINARY: [PrimitiveType, IcebergValue, string][] = [
  ['boolean', false, '00'],
  ['boolean', true, '01'],
  ['int', 1234, 'd2040000'],
  ['int', 84202, 'ea480100'],
  ['long', 1234n, 'd204000000000000'],
  ['long', 200n, 'c800000000000000'],
  ['double', 1.2345, '8d976e1283c0f33f'],
  ['float', -4.5, '000090c0'],
  ['date', 1000, 'e8030000'],
  ['date', 19417, 'd94b0000'],
  ['time', 10000n, '1027000000000000'],
  ['time', 45045500000n, '60c8eb7c0a000000'],
  ['timestamp', 400000n, '801a060000000000'],
  ['timestamptz', 400000n, '801a060000000000'],
  ['timestamp', 1677698700000000n, '00bb0dabdbf50500'],
  ['timestamptz', 1677698700000000n, '00bb0dabdbf50500'],
  ['timestamp_ns', 400000000n, '0084d71700000000'],
  ['timestamptz_ns', 400000000n, '0084d71700000000'],
  ['string', 'ABC', '414243'],
  ['uuid', 'f79c3e09-677c-4bbd-a479-3f349cb785e7', 'f79c3e09677c4bbda4793f349cb785e7'],
  ['decimal(5, 2)', 12345n, '3039'],
  ['decimal(7, 4)', 1234567n, '12d687'],
  // vectors.md lists `ffed2979` for -123.4567: that is PyIceberg's *from_bytes* input (sign-padded).
  // The minimal two's-complement form (Java BigInteger.toByteArray) is 3 bytes; both decode alike.
  ['decimal(7, 4)', -1234567n, 'ed2979'],
  ['decimal(21, 16)', 123451234567891234567n, '06b13ae3c44e94af07'],
  ['decimal(38, 31)', 12345671234567891234567891234567891234n, '0949b0962bac296428703629eac22922'],
];

test('binary single-value serialization matches every vector', () => {
  for (const [type, value, hex] of BINARY) {
    assert.equal(bytesToHex(toBinary(type, value)), hex, `${type} ${String(value)}`);
  }
});

test('binary single-value deserialization matches every vector', () => {
  for (const [type, value, hex] of BINARY) {
    assert.deepEqual(fromBinary(type, hexToBytes(hex)), value, `${type} ${hex}`);
  }
});

test('decimal -123.4567 vector: sign-padded ffed2979 and padded 0012d687 decode too', () => {
  assert.equal(fromBinary('decimal(7, 4)', hexToBytes('ffed2979')), -1234567n);
  assert.equal(fromBinary('decimal(7, 4)', hexToBytes('0012d687')), 1234567n);
  assert.equal(bytesToHex(toBinary('decimal(7, 4)', -1234567n)), 'ed2979');
  assert.equal(bytesToHex(toBinary('decimal(9, 2)', 0n)), '00');
  assert.equal(bytesToHex(toBinary('decimal(9, 2)', 128n)), '0080');
  assert.equal(bytesToHex(toBinary('decimal(9, 2)', -128n)), '80');
});

test('decimal vector values parse from their text', () => {
  assert.equal(parseDecimal('123.45', 2), 12345n);
  assert.equal(parseDecimal('123.4567', 4), 1234567n);
  assert.equal(parseDecimal('-123.4567', 4), -1234567n);
  assert.equal(parseDecimal('12345.1234567891234567', 16), 123451234567891234567n);
  assert.equal(parseDecimal('1234567.1234567891234567891234567891234', 31), 12345671234567891234567891234567891234n);
});

test('dates and times of the binary vectors', () => {
  assert.equal(fromJsonValue('date', '2023-03-01'), 19417);
  assert.equal(fromJsonValue('time', '12:30:45.5'), 45045500000n);
});

test('fixed and binary serialize raw; booleans read any non-zero byte as true', () => {
  assert.equal(bytesToHex(toBinary('fixed[4]', hexToBytes('000102ff'))), '000102ff');
  assert.equal(bytesToHex(toBinary('binary', hexToBytes('000102ff'))), '000102ff');
  assert.equal(fromBinary('boolean', Uint8Array.of(2)), true);
  assert.throws(() => toBinary('fixed[3]', hexToBytes('000102ff')), ValidationError);
});

test('promoted columns: bounds keep their original width', () => {
  assert.equal(fromBinary('long', hexToBytes('d2040000')), 1234n);
  assert.equal(fromBinary('double', toBinary('float', -4.5)), -4.5);
  assert.equal(fromBinary('timestamp', hexToBytes('e8030000')), 1000n * 86_400_000_000n);
  assert.equal(fromBinary('timestamp_ns', hexToBytes('e8030000')), 1000n * 86_400_000_000_000n);
  assert.equal(fromBinary('decimal(10, 2)', hexToBytes('3039')), 12345n);
});

test('types without a binary form are refused', () => {
  for (const t of ['unknown', 'variant', 'geometry', 'geography(srid:4326, spherical)'] as PrimitiveType[]) {
    assert.throws(() => toBinary(t, 'x'), UnsupportedError, t);
    assert.throws(() => fromBinary(t, Uint8Array.of(1)), UnsupportedError, t);
  }
});

const JSON_CASES: [IcebergType, IcebergValue, unknown][] = [
  ['boolean', true, true],
  ['int', 34, 34],
  ['long', 34n, 34],
  ['float', 1, 1],
  ['double', 1, 1],
  ['decimal(9, 2)', 1420n, '14.20'],
  ['date', 17486, '2017-11-16'],
  ['time', 81068123456n, '22:31:08.123456'],
  ['timestamp', 1510871468123456n, '2017-11-16T22:31:08.123456'],
  ['timestamptz', 1510871468123456n, '2017-11-16T22:31:08.123456+00:00'],
  ['timestamp_ns', 1510871468123456789n, '2017-11-16T22:31:08.123456789'],
  ['timestamptz_ns', 1510871468123456789n, '2017-11-16T22:31:08.123456789+00:00'],
  ['string', 'iceberg', 'iceberg'],
  ['uuid', 'f79c3e09-677c-4bbd-a479-3f349cb785e7', 'f79c3e09-677c-4bbd-a479-3f349cb785e7'],
  ['fixed[4]', Uint8Array.of(0, 1, 2, 255), '000102ff'],
  ['binary', Uint8Array.of(0, 1, 2, 255), '000102ff'],
  [
    {
      type: 'struct',
      fields: [
        { id: 1, name: 'a', required: true, type: 'int' },
        { id: 2, name: 'b', required: false, type: 'string' },
      ],
    },
    [1, 'bar'],
    { '1': 1, '2': 'bar' },
  ],
  [{ type: 'list', 'element-id': 3, element: 'int', 'element-required': true }, [1, 2, 3], [1, 2, 3]],
  [
    { type: 'map', 'key-id': 4, key: 'string', 'value-id': 5, value: 'int', 'value-required': true },
    new Map<IcebergValue, IcebergValue>([
      ['a', 1],
      ['b', 2],
    ]),
    { keys: ['a', 'b'], values: [1, 2] },
  ],
  ['geometry', 'POINT (30 10)', 'POINT (30 10)'],
  ['geography', 'POINT (30 10)', 'POINT (30 10)'],
];

test('JSON single-value serialization matches every example', () => {
  for (const [type, value, json] of JSON_CASES) {
    assert.deepEqual(toJsonValue(type, value), json, JSON.stringify(type));
  }
});

test('JSON single-value deserialization matches every example', () => {
  for (const [type, value, json] of JSON_CASES) {
    assert.deepEqual(fromJsonValue(type, json), value, JSON.stringify(type));
  }
});

test('decimal JSON: plain text, scientific notation accepted when exact', () => {
  assert.equal(fromJsonValue('decimal(21, 0)', '2E+20'), 200000000000000000000n);
  assert.equal(fromJsonValue('decimal(9, 2)', '14.2'), 1420n);
  assert.equal(toJsonValue('decimal(9, 2)', -5n), '-0.05');
  assert.equal(toJsonValue('decimal(9, 0)', 7n), '7');
  assert.throws(() => fromJsonValue('decimal(9, 2)', '14.205'), /more than 2 fraction digits/);
  assert.throws(() => fromJsonValue('decimal(3, 2)', '14.20'), /exceeds the precision/);
});

test('timestamptz JSON must carry an offset; timestamp must not', () => {
  assert.throws(() => fromJsonValue('timestamptz', '2017-11-16T22:31:08.123456'), /must include a zone offset/);
  assert.throws(() => fromJsonValue('timestamp', '2017-11-16T22:31:08.123456+00:00'), /must not include a zone offset/);
  assert.equal(fromJsonValue('timestamptz', '2017-11-16T22:31:08.123456Z'), 1510871468123456n);
});

test('uuid JSON is written lowercase', () => {
  assert.equal(fromJsonValue('uuid', 'F79C3E09-677C-4BBD-A479-3F349CB785E7'), 'f79c3e09-677c-4bbd-a479-3f349cb785e7');
  assert.equal(toJsonValue('uuid', 'F79C3E09-677C-4BBD-A479-3F349CB785E7'), 'f79c3e09-677c-4bbd-a479-3f349cb785e7');
});

test('long JSON beyond 2^53 stays exact via bigint', () => {
  const big = 9007199254740993n;
  const json = toJsonValue('long', big);
  assert.equal(json, big);
  assert.equal(stringifyJson(json), '9007199254740993');
  assert.equal(fromJsonValue('long', big), big);
});

test('pre-epoch dates and timestamps format as ISO', () => {
  assert.equal(toJsonValue('date', -1), '1969-12-31');
  assert.equal(toJsonValue('timestamp', -1n), '1969-12-31T23:59:59.999999');
  assert.equal(fromJsonValue('timestamp', '1969-12-31T23:59:59.999999'), -1n);
  assert.equal(toJsonValue('date', -719528), '0000-01-01');
  assert.equal(fromJsonValue('date', '0000-01-01'), -719528);
});

test('struct JSON omits nulls and reads missing fields as null', () => {
  const t: IcebergType = {
    type: 'struct',
    fields: [
      { id: 1, name: 'a', required: false, type: 'int' },
      { id: 2, name: 'b', required: false, type: 'string' },
    ],
  };
  assert.deepEqual(toJsonValue(t, [null, 'x']), { '2': 'x' });
  assert.deepEqual(fromJsonValue(t, {}), [null, null]);
  assert.throws(() => fromJsonValue(t, { '9': 1 }), /unknown field id/);
});

test('float JSON is written with float precision', () => {
  assert.equal(toJsonValue('float', Math.fround(0.1)), 0.1);
  assert.equal(toJsonValue('double', NaN), 'NaN');
  assert.ok(Number.isNaN(fromJsonValue('double', 'NaN') as number));
});
