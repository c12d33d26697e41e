/**
 * The transform's casts, one Iceberg type at a time: what each accepts, the exact value it
 * produces, and that everything else is a RecordError naming the column and the path (never a
 * silent null, never a rounded value, never a crash of the pipeline).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTransform, RecordError, schemaForTransform, TRUNCATED, type ColumnMapping } from '../../src/pipeline/transform.js';
import type { IcebergValue } from '../../src/iceberg/types.js';
import type { SourceRecord } from '../../src/source/source.js';

const RECORD: SourceRecord = {
  partitionId: 'shardId-000000000000',
  position: '49590338271490256608559692538361571095921575989136588898',
  data: new Uint8Array(),
  partitionKey: 'pk_0',
  arrivalTimeMs: 1_767_885_412_000,
  meta: { sequenceNumber: '49590338271490256608559692538361571095921575989136588898' },
};
const CTX = { record: RECORD, streamName: 's', processingTimeUs: 0n };

/** Casts `value` (the record field `v`) to `type` through a compiled one-column mapping. */
function cast(type: string, value: unknown, extra: Partial<ColumnMapping> = {}): IcebergValue {
  const spec = { columns: [{ name: 'v', type, ...extra }] };
  return compileTransform(spec, schemaForTransform(spec)).apply({ v: value }, CTX)[0]!;
}

/** Asserts that casting fails as a RecordError naming the column, the path and the value. */
function rejects(type: string, value: unknown, extra: Partial<ColumnMapping> = {}, pattern?: RegExp): void {
  assert.throws(
    () => cast(type, value, extra),
    (e: unknown) => {
      assert.ok(e instanceof RecordError, `expected a RecordError for ${JSON.stringify(value)} → ${type}, got ${String(e)}`);
      assert.match(e.message, /^transform: column 'v' \(from 'v'\): /);
      if (pattern) assert.match(e.message, pattern);
      return true;
    },
    `${JSON.stringify(value)} must not cast to ${type}`,
  );
}

const utcMicros = (iso: string) => BigInt(Date.parse(iso)) * 1000n;

describe('string', () => {
  test('strings stay; numbers and booleans become their text; objects and arrays their JSON', () => {
    assert.equal(cast('string', 'héllo'), 'héllo');
    assert.equal(cast('string', ''), '');
    assert.equal(cast('string', 42), '42');
    assert.equal(cast('string', 1.5), '1.5');
    assert.equal(cast('string', false), 'false');
    assert.equal(cast('string', { a: [1, 'x'] }), '{"a":[1,"x"]}');
    assert.equal(cast('string', [1, 2]), '[1,2]');
  });
});

describe('boolean', () => {
  test('true/false and their exact strings', () => {
    assert.equal(cast('boolean', true), true);
    assert.equal(cast('boolean', false), false);
    assert.equal(cast('boolean', 'true'), true);
    assert.equal(cast('boolean', 'false'), false);
  });
  test('anything else is an error', () => {
    for (const v of ['yes', 'TRUE', 'False', '1', 1, 0, {}, []]) rejects('boolean', v, {}, /to boolean/);
  });
});

describe('int', () => {
  test('integers within 32 bits, as numbers or decimal strings', () => {
    assert.equal(cast('int', 42), 42);
    assert.equal(cast('int', -2147483648), -2147483648);
    assert.equal(cast('int', 2147483647), 2147483647);
    assert.equal(cast('int', '17'), 17);
    assert.equal(cast('int', ' -17 '), -17);
    assert.equal(cast('int', '+5'), 5);
    assert.equal(cast('int', 3.0), 3);
  });
  test('out of range, fractions and non-numbers are errors', () => {
    for (const v of [2147483648, -2147483649, 1.5, '1.5', '1.0', '1e3', '0x10', '', 'abc', true, []]) {
      rejects('int', v, {}, /to int/);
    }
    rejects('int', '2147483648', {}, /"2147483648" to int/);
  });
});

describe('long', () => {
  test('64-bit integers; values beyond 2^53 as strings, exactly', () => {
    assert.equal(cast('long', 42), 42n);
    assert.equal(cast('long', Number.MAX_SAFE_INTEGER), 9007199254740991n);
    assert.equal(cast('long', -Number.MAX_SAFE_INTEGER), -9007199254740991n);
    assert.equal(cast('long', '9007199254740993'), 9007199254740993n);
    assert.equal(cast('long', '9223372036854775807'), 9223372036854775807n);
    assert.equal(cast('long', '-9223372036854775808'), -9223372036854775808n);
    assert.equal(cast('long', ' 12 '), 12n);
  });
  test('a JSON number beyond 2^53 is refused (JSON.parse already rounded it), not stored as a neighbour', () => {
    const parsed = JSON.parse('{"v": 9007199254740993}') as { v: number };
    assert.equal(parsed.v, 9007199254740992); // the rounding the cast must not hide
    rejects('long', parsed.v, {}, /as a string/);
    rejects('long', 2 ** 63, {}, /to long/);
  });
  test('out of range, fractions and non-integers are errors', () => {
    for (const v of ['9223372036854775808', '-9223372036854775809', 1.5, '1.5', '12e3', 'abc', '', true, {}]) rejects('long', v, {}, /to long/);
  });
});

describe('float and double', () => {
  test('numbers and numeric strings, including NaN and infinities spelled out', () => {
    assert.equal(cast('double', 1.5), 1.5);
    assert.equal(cast('double', '1.5'), 1.5);
    assert.equal(cast('double', '-2.5e-3'), -2.5e-3);
    assert.equal(cast('double', '.5'), 0.5);
    assert.equal(cast('double', '7.'), 7);
    assert.equal(cast('double', 1e300), 1e300);
    assert.ok(Number.isNaN(cast('double', 'NaN') as number));
    assert.equal(cast('double', 'Infinity'), Infinity);
    assert.equal(cast('double', '-Infinity'), -Infinity);
    assert.equal(cast('float', 0.1), 0.1); // rounded to float32 by the writer, not here
    assert.equal(cast('float', '3.4e38'), 3.4e38);
  });
  test('non-decimal literals, empty text, booleans and floats beyond float32 are errors', () => {
    for (const v of ['0x10', '0b11', '0o7', '1_000', '', '  ', 'abc', '1.2.3', true, {}, []]) rejects('double', v, {}, /to double/);
    rejects('float', 1e39, {}, /to float/);
    rejects('float', '-1e39', {}, /to float/);
  });
});

describe('decimal', () => {
  test('exact values scale to the column (unscaled bigint)', () => {
    assert.equal(cast('decimal(9,2)', '12.30'), 1230n);
    assert.equal(cast('decimal(9,2)', '12.3'), 1230n);
    assert.equal(cast('decimal(9,2)', '12'), 1200n);
    assert.equal(cast('decimal(9,2)', 12.3), 1230n);
    assert.equal(cast('decimal(9,2)', '12.340000'), 1234n);
    assert.equal(cast('decimal(9,2)', '-0.01'), -1n);
    assert.equal(cast('decimal(9,2)', '+.5'), 50n);
    assert.equal(cast('decimal(9,2)', '9999999.99'), 999999999n);
    assert.equal(cast('decimal(9,2)', '-9999999.99'), -999999999n);
    assert.equal(cast('decimal(9,2)', '0000012.30'), 1230n);
    assert.equal(cast('decimal(38,0)', '99999999999999999999999999999999999999'), 10n ** 38n - 1n);
    assert.equal(cast('decimal(5,0)', '00000000000000000012345'), 12345n);
  });
  test('exponent forms', () => {
    assert.equal(cast('decimal(9,2)', '1.5e2'), 15000n);
    assert.equal(cast('decimal(9,2)', '125E-2'), 125n);
    assert.equal(cast('decimal(9,2)', '1230e-3'), 123n);
    assert.equal(cast('decimal(9,2)', 1e-2), 1n); // String(0.01)
    assert.equal(cast('decimal(9,2)', 1e-7 * 1e5), 1n); // String(0.01) again
    assert.equal(cast('decimal(9,2)', '0e999999999'), 0n);
    assert.equal(cast('decimal(9,3)', '5E+3'), 5000000n);
  });
  test('digits beyond the scale or the precision are errors, never rounding', () => {
    for (const v of ['12.345', 12.345, '0.001', '10000000.00', '10000000', '1e7', '-1e7', '1e-3']) {
      rejects('decimal(9,2)', v, {}, /to decimal\(9, 2\)/);
    }
  });
  test('absurd exponents are errors, not a crash', () => {
    rejects('decimal(9,2)', '1e999999999', {}, /to decimal/);
    rejects('decimal(9,2)', '1e-999999999', {}, /to decimal/);
  });
  test('non-numbers are errors', () => {
    for (const v of ['', '.', 'abc', '1.2.3', '1,5', '0x10', true, {}, []]) rejects('decimal(9,2)', v, {}, /to decimal/);
  });
});

describe('date', () => {
  test('YYYY-MM-DD to days since 1970-01-01, before and after the epoch and before year 100', () => {
    assert.equal(cast('date', '1970-01-01'), 0);
    assert.equal(cast('date', '2026-01-08'), 20461);
    assert.equal(cast('date', '1969-12-31'), -1);
    assert.equal(cast('date', '2024-02-29'), 19782);
    assert.equal(cast('date', '0001-01-01'), -719162);
    assert.equal(cast('date', '0099-12-31'), -683004); // Date.parse('+000099-12-31T00:00:00Z') / 86400000
  });
  test('numbers with an epoch format', () => {
    assert.equal(cast('date', 3 * 86400, { format: 'epoch_s' }), 3);
    assert.equal(cast('date', 3 * 86400_000 + 5, { format: 'epoch_ms' }), 3);
    assert.equal(cast('date', -1, { format: 'epoch_s' }), -1);
    assert.equal(cast('date', 86400_000_000, { format: 'epoch_us' }), 1);
  });
  test('times, impossible dates, other layouts, and numbers without a format are errors', () => {
    for (const v of ['2026-01-08T10:00:00Z', '2026-02-29', '2026-13-01', '2026-00-10', '2026-01-32', '20260108', '08/01/2026', 'yesterday', 20461, true]) {
      rejects('date', v, {}, /to date/);
    }
  });
});

describe('time', () => {
  test('HH:MM[:SS[.ffffff]] to microseconds since midnight', () => {
    assert.equal(cast('time', '00:00'), 0n);
    assert.equal(cast('time', '12:34'), (12n * 3600n + 34n * 60n) * 1_000_000n);
    assert.equal(cast('time', '12:34:56.789'), (12n * 3600n + 34n * 60n + 56n) * 1_000_000n + 789_000n);
    assert.equal(cast('time', '23:59:59.999999'), 86_399_999_999n);
  });
  test('out of range, zones and numbers are errors', () => {
    for (const v of ['24:00:00', '12:60', '12:00:60', '12:00:00Z', '1:00', '12:00:00.1234567', 3600, 'noon']) rejects('time', v, {}, /to time/);
  });
});

describe('timestamp and timestamptz', () => {
  const base = utcMicros('2026-01-08T15:16:52Z');
  for (const type of ['timestamptz', 'timestamp']) {
    test(`${type}: ISO-8601 with Z, offsets, fractions, a space, or a bare date`, () => {
      assert.equal(cast(type, '2026-01-08T15:16:52Z'), base);
      assert.equal(cast(type, '2026-01-08T15:16:52z'), base);
      assert.equal(cast(type, '2026-01-08T15:16:52'), base); // no zone: UTC
      assert.equal(cast(type, '2026-01-08 15:16:52Z'), base);
      assert.equal(cast(type, '2026-01-08T15:16Z'), base - 52_000_000n);
      assert.equal(cast(type, '2026-01-08'), utcMicros('2026-01-08T00:00:00Z'));
      assert.equal(cast(type, '2026-01-08T15:16:52.1Z'), base + 100_000n);
      assert.equal(cast(type, '2026-01-08T15:16:52.123456Z'), base + 123_456n);
      assert.equal(cast(type, '2026-01-08T15:16:52,5Z'), base + 500_000n);
      assert.equal(cast(type, '2026-01-08T15:16:52.123456789Z'), base + 123_456n); // beyond µs: truncated
      assert.equal(cast(type, '2026-01-09T00:16:52+09:00'), base);
      assert.equal(cast(type, '2026-01-09T00:16:52+0900'), base);
      assert.equal(cast(type, '2026-01-09T00:16:52+09'), base);
      assert.equal(cast(type, '2026-01-08T09:46:52.5-05:30'), base + 500_000n);
      assert.equal(cast(type, '2026-01-08T15:16:52+00:00'), base);
      assert.equal(cast(type, '1969-12-31T23:59:59.5Z'), -500_000n);
      assert.equal(cast(type, '0050-06-01T00:00:00Z'), utcMicros('+000050-06-01T00:00:00Z'));
      assert.equal(cast(type, '2024-02-29T12:00:00Z'), utcMicros('2024-02-29T12:00:00Z'));
    });
    test(`${type}: epoch seconds, milliseconds and microseconds`, () => {
      assert.equal(cast(type, 1_767_885_412, { format: 'epoch_s' }), base);
      assert.equal(cast(type, 1_767_885_412.25, { format: 'epoch_s' }), base + 250_000n);
      assert.equal(cast(type, 1_767_885_412_000, { format: 'epoch_ms' }), base);
      assert.equal(cast(type, 1_767_885_412_001.5, { format: 'epoch_ms' }), base + 1_500n);
      assert.equal(cast(type, 1_767_885_412_000_007, { format: 'epoch_us' }), base + 7n);
      assert.equal(cast(type, -1, { format: 'epoch_ms' }), -1000n);
      // ISO strings still work with an epoch format.
      assert.equal(cast(type, '2026-01-08T15:16:52Z', { format: 'epoch_ms' }), base);
    });
    test(`${type}: anything else is an error naming the expected forms`, () => {
      for (const v of ['yesterday', '2026-02-30T00:00:00Z', '2026-01-08T24:00:00Z', '2026-01-08T12:60:00Z', '2026-01-08T12:00:60Z', '2026-01-08T12:00:00+25:00', '2026-01-08T12:00:00+05:75', '2026-1-8', '08.01.2026', '', true, {}]) {
        rejects(type, v, {}, new RegExp(`to ${type} \\(expected ISO-8601\\)`));
      }
      rejects(type, 1_767_885_412, {}, /expected ISO-8601\)/); // numbers need a format
      rejects(type, 1.5, { format: 'epoch_us' }, /expected ISO-8601 or epoch_us/);
      rejects(type, '1767885412', { format: 'epoch_s' }, /or epoch_s/); // epoch formats read numbers, not numeric text
    });
  }
});

describe('uuid', () => {
  test('canonical text, lower-cased', () => {
    assert.equal(cast('uuid', 'f79c3e09-677c-4bbd-a479-3f349cb785e7'), 'f79c3e09-677c-4bbd-a479-3f349cb785e7');
    assert.equal(cast('uuid', 'F79C3E09-677C-4BBD-A479-3F349CB785E7'), 'f79c3e09-677c-4bbd-a479-3f349cb785e7');
  });
  test('other text and non-strings are errors', () => {
    for (const v of ['f79c3e09677c4bbda4793f349cb785e7', '{f79c3e09-677c-4bbd-a479-3f349cb785e7}', 'f79c3e09-677c-4bbd-a479-3f349cb785eg', 1, {}]) rejects('uuid', v, {}, /to uuid/);
  });
});

describe('binary and fixed', () => {
  test('base64, padded or not, standard or URL-safe alphabet', () => {
    assert.deepEqual(cast('binary', 'AQID'), Uint8Array.of(1, 2, 3));
    assert.deepEqual(cast('binary', 'AQI='), Uint8Array.of(1, 2));
    assert.deepEqual(cast('binary', 'AQI'), Uint8Array.of(1, 2));
    assert.deepEqual(cast('binary', '+/8='), Uint8Array.of(0xfb, 0xff));
    assert.deepEqual(cast('binary', '-_8'), Uint8Array.of(0xfb, 0xff));
    assert.deepEqual(cast('binary', ''), new Uint8Array());
    assert.deepEqual(cast('fixed[3]', 'AQID'), Uint8Array.of(1, 2, 3));
  });
  test('text that is not base64 is an error, not silently skipped characters', () => {
    for (const v of ['not base64!!', 'AQ ID', 'A', 'AQ=D', 'AQI==', 42, {}]) rejects('binary', v, {}, /base64/);
  });
  test('fixed needs exactly its length', () => {
    rejects('fixed[3]', 'AQI=', {}, /base64 of 3 bytes/);
    rejects('fixed[3]', 'AQIDBA==', {}, /base64 of 3 bytes/);
  });
});

describe('errors name the column and its path', () => {
  test('a nested path appears in the message, with the value', () => {
    const spec = { columns: [{ name: 'amount', type: 'decimal(9,2)', path: 'order.total' }] };
    const t = compileTransform(spec, schemaForTransform(spec));
    assert.throws(() => t.apply({ order: { total: '12.345' } }, CTX), {
      name: 'RecordError',
      message: `transform: column 'amount' (from 'order.total'): cannot cast "12.345" to decimal(9, 2) without losing digits`,
    });
  });
  test('long values are shortened in the message, with a marker', () => {
    const long = 'x'.repeat(500);
    assert.throws(
      () => cast('int', long),
      (e: Error) => e.message.length < 200 && e.message.endsWith(`"${'x'.repeat(99)}${TRUNCATED} to int`),
    );
  });
});
