/**
 * The value rules of the README's cast table, on records as a producer sends them (bytes through
 * TextDecoder and JSON.parse, as the pipeline's general path reads them): no silent coercion
 * (a value is stored as the rule says or the record is refused with a RecordError), error
 * messages that quote the value as the record wrote it and stay short, and no recursion on a
 * record's depth.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IcebergType, IcebergValue, Schema } from '../../src/iceberg/types.js';
import { compileTransform, RecordError, schemaForTransform, TRUNCATED, type ColumnMapping } from '../../src/pipeline/transform.js';
import type { SourceRecord } from '../../src/source/source.js';

const enc = new TextEncoder();

/**
 * The record `{"v": <json>}` as bytes through the general path, cast to `type`: a primitive type
 * as a mapping names it, or a nested type (a table's column: mappings name only primitives).
 */
function read(type: string | IcebergType, json: string, extra: Partial<ColumnMapping> = {}): IcebergValue {
  const schema: Schema =
    typeof type === 'string'
      ? schemaForTransform({ columns: [{ name: 'v', type, ...extra }] })
      : { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'v', required: false, type }] };
  const spec = { columns: [{ name: 'v', ...extra }] };
  const text = `{"v":${json}}`;
  const data = enc.encode(text);
  const record: SourceRecord = { partitionId: 'shardId-000000000000', position: '7', data, partitionKey: 'k', arrivalTimeMs: 0, meta: {} };
  const obj = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data)) as unknown;
  return compileTransform(spec, schema).apply(obj, { record, streamName: 's', processingTimeUs: 0n })[0]!;
}

const MAP_STRING_INT: IcebergType = { type: 'map', 'key-id': 2, key: 'string', 'value-id': 3, value: 'int', 'value-required': false };
const MAP_STRING_STRING: IcebergType = { ...MAP_STRING_INT, value: 'string' };
const LIST_LONG: IcebergType = { type: 'list', 'element-id': 2, element: 'long', 'element-required': false };
const LIST_STRING: IcebergType = { ...LIST_LONG, element: 'string' };
const STRUCT_A_INT: IcebergType = { type: 'struct', fields: [{ id: 2, name: 'a', required: false, type: 'int' }] };

/** Asserts that the record is refused with a RecordError whose message matches every pattern. */
function refused(type: string | IcebergType, json: string, ...patterns: RegExp[]): string {
  let message = '';
  assert.throws(
    () => read(type, json),
    (e: unknown) => {
      assert.ok(e instanceof RecordError, `a RecordError for ${json.slice(0, 80)} → ${type}, got ${String(e).slice(0, 200)}`);
      message = e.message;
      assert.match(message, /^transform: column 'v' \(from 'v'\): /);
      for (const p of patterns) assert.match(message, p);
      return true;
    },
  );
  return message;
}

describe('double and float: Infinity and NaN only when the record spells them', () => {
  test('a JSON number beyond a double (1e400) is a dead letter quoting its text, not Infinity', () => {
    refused('double', '1e400', /cannot cast 1e400 to double: beyond the range of a double/);
    refused('double', '-1E+400', /cannot cast -1E\+400 to double/);
    refused('float', '1e400', /cannot cast 1e400 to float/);
    refused('double', '"1e400"', /cannot cast "1e400" to double: beyond the range/);
  });
  test('the strings "Infinity", "-Infinity", "+Infinity" and "NaN" are those values', () => {
    assert.equal(read('double', '"Infinity"'), Infinity);
    assert.equal(read('double', '"+Infinity"'), Infinity);
    assert.equal(read('double', '"-Infinity"'), -Infinity);
    assert.ok(Number.isNaN(read('double', '"NaN"')));
    assert.ok(Number.isNaN(read('float', '" NaN "')));
    refused('double', '"inf"', /to double/);
    refused('double', '"nan"', /to double/);
  });
  test('numbers round to the nearest double: below the smallest one is 0, -0 stays -0', () => {
    assert.equal(read('double', '1e-400'), 0);
    assert.ok(Object.is(read('double', '-1e-400'), -0));
    assert.ok(Object.is(read('double', '-0'), -0));
    assert.equal(read('double', '0.10000000000000000001'), 0.1);
    assert.equal(read('double', '5e-324'), 5e-324);
  });
});

describe('strings: a lone surrogate is a dead letter, not U+FFFD', () => {
  test('\\ud800 alone, \\udc00 alone, a high surrogate before a letter', () => {
    refused('string', '"\\ud800"', /cannot cast "\\ud800" to string: a lone surrogate/);
    refused('string', '"\\udc00"', /lone surrogate/);
    refused('string', '"a\\ud800\\u0041"', /lone surrogate/);
  });
  test('a pair is a character; a map key with a lone surrogate is refused too', () => {
    assert.equal(read('string', '"\\ud83d\\ude00"'), '😀');
    assert.deepEqual(read(MAP_STRING_INT, '{"ok":1}'), new Map([['ok', 1]]));
    assert.throws(() => read(MAP_STRING_INT, '{"k\\ud800":1}'), (e: unknown) => e instanceof RecordError && /lone surrogate/.test(e.message));
  });
  test('an object for a string column keeps a lone surrogate as its JSON escape (exact text)', () => {
    assert.equal(read('string', '{"a":"\\ud800"}'), '{"a":"\\ud800"}');
  });
});

describe('int and long: a number a double reads as an integer, or a string of digits', () => {
  test('1.0 and 1e3 are integers; "12" and " -12 " are read; -0 is 0', () => {
    assert.equal(read('int', '1.0'), 1);
    assert.equal(read('int', '1e3'), 1000);
    assert.equal(read('int', '"12"'), 12);
    assert.equal(read('int', '" -12 "'), -12);
    assert.equal(read('long', '1.0'), 1n);
    assert.equal(read('long', '"12"'), 12n);
    assert.equal(read('long', '-0'), 0n);
    assert.equal(read('int', '-0'), -0); // stored as the int 0
  });
  test('fractions are refused with their text; digits beyond a double\'s precision are not seen (the rule)', () => {
    refused('int', '1.5', /cannot cast 1\.5 to int$/);
    refused('long', '-0.25e1', /cannot cast -0\.25e1 to long$/);
    refused('int', '"12.0"', /to int/);
    refused('int', '"1e3"', /to int/);
    // The documented rule: the number's value as a double (JSON.parse) reads it.
    assert.equal(read('int', '1.0000000000000000001'), 1);
    assert.equal(read('long', '12.999999999999999999'), 13n);
  });
  test('longs are exact to 2^63: 9223372036854775807 is stored, not refused nor rounded', () => {
    assert.equal(read('long', '9223372036854775807'), 9223372036854775807n);
    assert.equal(read('long', '-9223372036854775808'), -9223372036854775808n);
    assert.equal(read('long', '9007199254740993'), 9007199254740993n);
    assert.equal(read('long', '1e18'), 10n ** 18n);
    assert.deepEqual(read(LIST_LONG, '[9223372036854775807, 1, 9223372036854775806]'), [9223372036854775807n, 1n, 9223372036854775806n]);
  });
  test('beyond 64 bits: the message quotes the record\'s digits, not a rounded double', () => {
    refused('long', '9223372036854775808', /cannot cast 9223372036854775808 to long$/);
    refused('long', '-9223372036854775809', /cannot cast -9223372036854775809 to long$/);
    refused('long', '123456789012345678901234567890', /cannot cast 123456789012345678901234567890 to long$/);
    refused('int', '9223372036854775807', /cannot cast 9223372036854775807 to int$/);
    refused('long', '"9223372036854775808"', /cannot cast "9223372036854775808" to long$/);
  });
  test('a duplicate key: the last value (the one JSON.parse keeps) is the one read exactly', () => {
    const spec = { columns: [{ name: 'v', type: 'long' }] };
    const text = '{"v":9223372036854775807,"x":{"v":9223372036854775805},"v":9223372036854775806}';
    const record: SourceRecord = { partitionId: 'p', position: '1', data: enc.encode(text), partitionKey: 'k', arrivalTimeMs: 0, meta: {} };
    const row = compileTransform(spec, schemaForTransform(spec)).apply(JSON.parse(text), { record, streamName: 's', processingTimeUs: 0n });
    assert.equal(row[0], 9223372036854775806n);
  });
});

describe('decimal and string from numbers: the value as written', () => {
  test('a decimal takes every digit of a JSON number; a double\'s rounding is never stored', () => {
    assert.equal(read('decimal(38,20)', '0.10000000000000000001'), 10000000000000000001n);
    assert.equal(read('decimal(38,0)', '123456789012345678901234567890'), 123456789012345678901234567890n);
    refused('decimal(9,2)', '1e-400', /cannot cast 1e-400 to decimal\(9, 2\) without losing digits/);
    refused('decimal(9,2)', '1e400', /cannot cast 1e400 to decimal/);
  });
  test('a number for a string: its shortest form, or the text as sent when a double cannot hold it', () => {
    assert.equal(read('string', '1.0'), '1');
    assert.equal(read('string', '1E2'), '100');
    assert.equal(read('string', '12345678901234567890'), '12345678901234567890');
    assert.equal(read('string', '0.10000000000000000001'), '0.10000000000000000001');
    refused('string', '1e400', /cannot cast 1e400 to string: beyond the range of a double/);
    refused('string', '{"a":[1e400]}', /holds a number beyond the range of a double \(1e400\)/);
  });
});

describe('timestamps: a time without a zone', () => {
  test('timestamptz: no zone is read as UTC; an offset is applied', () => {
    assert.equal(read('timestamptz', '"2026-01-08T15:16:52"'), BigInt(Date.UTC(2026, 0, 8, 15, 16, 52)) * 1000n);
    assert.equal(read('timestamptz', '"2026-01-08T15:16:52+02:00"'), BigInt(Date.UTC(2026, 0, 8, 13, 16, 52)) * 1000n);
  });
  test('timestamp (without zone): the wall-clock time as written; an offset is converted to UTC', () => {
    assert.equal(read('timestamp', '"2026-01-08T15:16:52"'), BigInt(Date.UTC(2026, 0, 8, 15, 16, 52)) * 1000n);
    assert.equal(read('timestamp', '"2026-01-08T15:16:52-01:00"'), BigInt(Date.UTC(2026, 0, 8, 16, 16, 52)) * 1000n);
  });
  test('an epoch number beyond any timestamp is refused, not a crash', () => {
    refused('timestamptz', '1.7976931348623157e308', /to timestamptz/);
    for (const format of ['epoch_s', 'epoch_ms', 'epoch_us'] as const) {
      assert.throws(() => read('timestamp', '1e300', { format }), RecordError);
    }
  });
});

describe('depth: no recursion on the record', () => {
  const arrays = (n: number) => '['.repeat(n) + ']'.repeat(n);
  const objects = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
  test('a value 4,500 deep (9 KB) and 100,000 deep in a string column: its exact JSON', () => {
    for (const n of [4_500, 100_000]) {
      assert.equal(read('string', arrays(n)), arrays(n));
      assert.equal(read('string', objects(n)), objects(n));
    }
  });
  test('in a typed column: a RecordError with a short message', () => {
    for (const type of ['int', 'long', 'double', 'timestamptz', 'decimal(9,2)', STRUCT_A_INT, LIST_STRING, MAP_STRING_STRING]) {
      for (const n of [4_500, 100_000]) {
        const json = type === LIST_STRING || type === STRUCT_A_INT ? objects(n) : arrays(n);
        // A struct or map takes the object: the deep value is then its field's (an int, a string).
        let message: string | undefined;
        try {
          read(type, json);
        } catch (e) {
          assert.ok(e instanceof RecordError, `${JSON.stringify(type)} ${n}: ${String(e).slice(0, 200)}`);
          message = e.message;
        }
        if (message !== undefined) {
          assert.ok(message.length < 400, `${JSON.stringify(type)} ${n}: ${message.length} characters`);
          assert.ok(message.includes(TRUNCATED), `${JSON.stringify(type)} ${n}: ${message}`);
        } else assert.fail(`${JSON.stringify(type)} ${n} was accepted`);
      }
    }
  });
});

describe('error messages: bounded, the value as written', () => {
  test('a 1 MB string, 100,000 digits: a prefix and the truncation marker', () => {
    const m1 = refused('int', JSON.stringify('x'.repeat(1 << 20)));
    assert.ok(m1.length < 300 && m1.includes(`"${'x'.repeat(50)}`) && m1.includes(TRUNCATED), m1);
    const m2 = refused('long', '1' + '0'.repeat(100_000));
    assert.ok(m2.length < 300 && m2.includes(`cannot cast 1${'0'.repeat(50)}`) && m2.includes(TRUNCATED), m2);
  });
});

describe('a record that is not an object', () => {
  test('a number beyond a double: the message quotes its text', () => {
    const spec = { columns: [{ name: 'v', type: 'string' }] };
    const data = enc.encode('1e400');
    const record: SourceRecord = { partitionId: 'p', position: '1', data, partitionKey: 'k', arrivalTimeMs: 0, meta: {} };
    assert.throws(() => compileTransform(spec, schemaForTransform(spec)).apply(JSON.parse('1e400'), { record, streamName: 's', processingTimeUs: 0n }), {
      name: 'RecordError',
      message: 'transform: record is not a JSON object (got 1e400)',
    });
  });
});
