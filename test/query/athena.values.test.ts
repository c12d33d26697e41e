/** Athena result text → floe's JSON values (the same rules as DuckDB results). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  athenaBaseType,
  athenaTimestampToIso,
  athenaTimestampTzToIso,
  athenaValueToJson,
} from '../../src/query/athena/athena-values.js';

describe('athenaValueToJson', () => {
  it('null is null whatever the type', () => {
    for (const t of ['varchar', 'bigint', 'timestamp', 'boolean', 'array']) assert.equal(athenaValueToJson(t, undefined), null);
  });

  it('integers: numbers while a double holds them exactly, strings beyond', () => {
    assert.equal(athenaValueToJson('integer', '42'), 42);
    assert.equal(athenaValueToJson('tinyint', '-7'), -7);
    assert.equal(athenaValueToJson('bigint', '9007199254740991'), 9007199254740991);
    assert.equal(athenaValueToJson('bigint', '9007199254740993'), '9007199254740993');
    assert.equal(athenaValueToJson('bigint', '-1234567890123456789'), '-1234567890123456789');
  });

  it('floating point: numbers, with NaN and infinities as strings', () => {
    assert.equal(athenaValueToJson('double', '1.5'), 1.5);
    assert.equal(athenaValueToJson('double', '1.0E10'), 1e10);
    assert.equal(athenaValueToJson('real', '3.4028235E38'), 3.4028235e38);
    assert.equal(athenaValueToJson('double', 'NaN'), 'NaN');
    assert.equal(athenaValueToJson('double', 'Infinity'), 'Infinity');
    assert.equal(athenaValueToJson('double', '-Infinity'), '-Infinity');
  });

  it('decimals stay exact strings; booleans are booleans', () => {
    assert.equal(athenaValueToJson('decimal', '12345678901234567890.123456789'), '12345678901234567890.123456789');
    assert.equal(athenaValueToJson('decimal(9,2)', '-0.10'), '-0.10');
    assert.equal(athenaValueToJson('boolean', 'true'), true);
    assert.equal(athenaValueToJson('boolean', 'false'), false);
  });

  it('timestamps become ISO-8601 as DuckDB results print them', () => {
    assert.equal(athenaTimestampToIso('2026-01-08 15:16:52.000'), '2026-01-08T15:16:52');
    assert.equal(athenaTimestampToIso('2026-01-08 15:16:52.120'), '2026-01-08T15:16:52.120000');
    assert.equal(athenaTimestampToIso('2026-01-08 15:16:52.123456'), '2026-01-08T15:16:52.123456');
    assert.equal(athenaTimestampToIso('2026-01-08 15:16:52.123456789'), '2026-01-08T15:16:52.123456789');
    assert.equal(athenaTimestampToIso('1969-12-31 23:59:59.999'), '1969-12-31T23:59:59.999000');
    assert.equal(athenaTimestampToIso('0001-01-01 00:00:00.000'), '0001-01-01T00:00:00');
    assert.equal(athenaTimestampToIso('not a time'), 'not a time');
  });

  it('timestamps with time zone become UTC with Z, whatever zone Athena printed', () => {
    assert.equal(athenaTimestampTzToIso('2026-01-08 15:16:52.000 UTC'), '2026-01-08T15:16:52Z');
    assert.equal(athenaTimestampTzToIso('2026-01-09 00:16:52.500 Asia/Tokyo'), '2026-01-08T15:16:52.500000Z');
    assert.equal(athenaTimestampTzToIso('2026-01-08 07:16:52.000 America/Los_Angeles'), '2026-01-08T15:16:52Z');
    // Summer time in Los Angeles is UTC-7.
    assert.equal(athenaTimestampTzToIso('2026-07-08 08:16:52.000 America/Los_Angeles'), '2026-07-08T15:16:52Z');
    assert.equal(athenaTimestampTzToIso('2026-01-09 00:46:52.000 +09:30'), '2026-01-08T15:16:52Z');
    assert.equal(athenaTimestampTzToIso('2026-01-08 10:16:52.000-05:00'), '2026-01-08T15:16:52Z');
    assert.equal(athenaTimestampTzToIso('2026-01-01 00:30:00.000 +01:00'), '2025-12-31T23:30:00Z');
    assert.equal(athenaTimestampTzToIso('2026-01-08 15:16:52.000 Mars/Olympus'), '2026-01-08 15:16:52.000 Mars/Olympus');
    assert.equal(athenaValueToJson('timestamp(6) with time zone', '2026-01-08 15:16:52.123456 UTC'), '2026-01-08T15:16:52.123456Z');
  });

  it('times, dates, binary and the rest', () => {
    assert.equal(athenaValueToJson('time', '15:16:52.000'), '15:16:52');
    assert.equal(athenaValueToJson('time', '15:16:52.250'), '15:16:52.250000');
    assert.equal(athenaValueToJson('date', '2026-01-08'), '2026-01-08');
    assert.equal(athenaValueToJson('varbinary', '68 65 6C 6c 6f'), '68656c6c6f');
    assert.equal(athenaValueToJson('varbinary', ''), '');
    assert.equal(athenaValueToJson('varchar', ' spaced '), ' spaced ');
    assert.equal(athenaValueToJson('uuid', '0f8fad5b-d9cb-469f-a165-70867728950e'), '0f8fad5b-d9cb-469f-a165-70867728950e');
    assert.equal(athenaValueToJson('array', '[1, 2, 3]'), '[1, 2, 3]');
    assert.equal(athenaValueToJson('row', '{x=1, y=a, b}'), '{x=1, y=a, b}');
    assert.equal(athenaValueToJson('json', '{"a":1}'), '{"a":1}');
  });
});

describe('athenaBaseType', () => {
  it('drops parameters and lower-cases', () => {
    assert.equal(athenaBaseType('VARCHAR(10)'), 'varchar');
    assert.equal(athenaBaseType('decimal(38, 9)'), 'decimal');
    assert.equal(athenaBaseType('timestamp(3) with time zone'), 'timestamp with time zone');
    assert.equal(athenaBaseType('array(row(a integer))'), 'array');
  });
});
