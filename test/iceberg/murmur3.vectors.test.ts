/**
 * vectors.md §1: Murmur3 x86_32 (seed 0) hash values of every type, from the spec's Appendix B.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bytesToHex, fromJsonValue, minimalBigEndian, parseDate, parseTime, parseTimestamp, utf8Bytes } from '../../src/iceberg/conversions.js';
import { hashDouble, hashInt, hashLong, murmur3Hash32 } from '../../src/iceberg/murmur3.js';
import { bucketHash } from '../../src/iceberg/transforms.js';

test('int and long 34 hash to 2017239379 (both as 8-byte LE long)', () => {
  assert.equal(bucketHash('int', 34), 2017239379);
  assert.equal(bucketHash('long', 34n), 2017239379);
  assert.equal(hashLong(34n), 2017239379);
  assert.equal(hashInt(34), 2017239379);
});

test('decimal 14.20 is hashed over its minimal bytes 058c', () => {
  assert.equal(bytesToHex(minimalBigEndian(1420n)), '058c');
  assert.equal(bucketHash('decimal(9, 2)', 1420n), -500754589);
  assert.equal(murmur3Hash32(Uint8Array.of(0x05, 0x8c)), -500754589);
});

test('date 2017-11-16 (17486) hashes to -653330422', () => {
  assert.equal(parseDate('2017-11-16'), 17486);
  assert.equal(bucketHash('date', 17486), -653330422);
});

test('time 22:31:08 (81068000000 µs) hashes to -662762989', () => {
  assert.equal(parseTime('22:31:08'), 81068000000n);
  assert.equal(bucketHash('time', 81068000000n), -662762989);
});

test('timestamp 2017-11-16T22:31:08 and .000001 hash per spec', () => {
  const ts = parseTimestamp('2017-11-16T22:31:08', 1_000_000n, false);
  assert.equal(ts, 1510871468000000n);
  assert.equal(bucketHash('timestamp', ts), -2047944441);
  assert.equal(bucketHash('timestamp', parseTimestamp('2017-11-16T22:31:08.000001', 1_000_000n, false)), -1207196810);
});

test('timestamptz 2017-11-16T14:31:08-08:00 is the same instant and hash', () => {
  const v = fromJsonValue('timestamptz', '2017-11-16T14:31:08-08:00');
  assert.equal(v, 1510871468000000n);
  assert.equal(bucketHash('timestamptz', v), -2047944441);
  const v2 = fromJsonValue('timestamptz', '2017-11-16T14:31:08.000001-08:00');
  assert.equal(bucketHash('timestamptz', v2), -1207196810);
});

test('timestamp_ns …22:31:08.000001001 is truncated to µs before hashing', () => {
  const ns = parseTimestamp('2017-11-16T22:31:08.000001001', 1_000_000_000n, false);
  assert.equal(ns, 1510871468000001001n);
  assert.equal(bucketHash('timestamp_ns', ns), -1207196810);
  assert.equal(bucketHash('timestamptz_ns', ns), -1207196810);
  assert.equal(bucketHash('timestamp_ns', 1510871468000000000n), -2047944441);
});

test('string "iceberg" hashes to 1210000089', () => {
  assert.equal(bucketHash('string', 'iceberg'), 1210000089);
  assert.equal(murmur3Hash32(utf8Bytes('iceberg')), 1210000089);
});

test('uuid f79c3e09-677c-4bbd-a479-3f349cb785e7 hashes big-endian to 1488055340', () => {
  assert.equal(bucketHash('uuid', 'f79c3e09-677c-4bbd-a479-3f349cb785e7'), 1488055340);
});

test('fixed and binary 00010203 hash to -188683207', () => {
  const b = Uint8Array.of(0, 1, 2, 3);
  assert.equal(bucketHash('binary', b), -188683207);
  assert.equal(bucketHash('fixed[4]', b), -188683207);
});

test('not-bucketable types: boolean true = hashInt(1), float/double 1.0, ±0.0', () => {
  assert.equal(hashInt(1), 1392991556);
  assert.equal(hashDouble(1.0), -142385009);
  assert.equal(hashDouble(Math.fround(1.0)), -142385009);
  assert.equal(hashDouble(0.0), 1669671676);
  assert.equal(hashDouble(-0.0), 1669671676);
  // NaN canonicalization: every NaN hashes alike.
  assert.equal(hashDouble(NaN), hashDouble(Number('NaN')));
  assert.throws(() => bucketHash('boolean', true), /transform: cannot hash/);
});

test('murmur3 handles every tail length', () => {
  // Known values of murmur3_x86_32 with seed 0.
  assert.equal(murmur3Hash32(new Uint8Array(0)), 0);
  assert.equal(murmur3Hash32(utf8Bytes('a')) >>> 0, 0x3c2569b2);
  assert.equal(murmur3Hash32(utf8Bytes('ab')) >>> 0, 0x9bbfd75f);
  assert.equal(murmur3Hash32(utf8Bytes('abc')) >>> 0, 0xb3dd93fa);
  assert.equal(murmur3Hash32(utf8Bytes('abcd')) >>> 0, 0x43ed676a);
});
