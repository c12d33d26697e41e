import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { aggregate, deaggregate, hasKplMagic, KPL_MAGIC } from '../../src/source/kinesis/kpl.js';
import { ProtoReader, ProtoWriter } from '../../src/source/kinesis/protobuf.js';
import { ValidationError } from '../../src/errors.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const md5 = (b: Uint8Array): Uint8Array => createHash('md5').update(b).digest();

function framed(body: Uint8Array): Uint8Array {
  return Uint8Array.from([...KPL_MAGIC, ...body, ...md5(body)]);
}

test('varints encode and decode (vectors from the protobuf encoding guide)', () => {
  const cases: [number, string][] = [
    [0, '00'],
    [1, '01'],
    [127, '7f'],
    [128, '8001'],
    [150, '9601'],
    [300, 'ac02'],
    [2 ** 32, '8080808010'],
    [Number.MAX_SAFE_INTEGER, 'ffffffffffffff0f'],
  ];
  for (const [n, h] of cases) {
    assert.equal(Buffer.from(ProtoWriter.varintBytes(n)).toString('hex'), h, `encode ${n}`);
    assert.equal(new ProtoReader(hex(h)).varint(), n, `decode ${h}`);
  }
  assert.throws(() => new ProtoReader(hex('80')).varint(), /truncated varint/);
  assert.throws(() => new ProtoReader(hex('ffffffffffffffffff7f')).varint(), /beyond 2\^53/);
  assert.throws(() => new ProtoReader(hex('ffffffffffffffffffff01')).varint(), /longer than 10 bytes/);
});

test('reader skips unknown wire types 1 and 5 and rejects groups and overruns', () => {
  // field 7 fixed64, field 8 fixed32, field 9 varint 5
  const r = new ProtoReader(hex('39 0102030405060708 45 01020304 48 05'));
  assert.deepEqual(r.next(), { field: 7, wireType: 1, value: hex('0102030405060708') });
  assert.deepEqual(r.next(), { field: 8, wireType: 5, value: hex('01020304') });
  assert.deepEqual(r.next(), { field: 9, wireType: 0, value: 5 });
  assert.ok(r.done);
  assert.throws(() => new ProtoReader(hex('0b')).next(), (e: unknown) => e instanceof ValidationError && /wire type 3/.test(e.message));
  assert.throws(() => new ProtoReader(hex('0a05 6162')).next(), /runs past the end/);
});

test('a hand-encoded aggregate decodes (bytes written from the format, not by our writer)', () => {
  // AggregatedRecord { partition_key_table: ["a", "b"], explicit_hash_key_table: ["42"],
  //   records: [{pk 0, data "x"}, {pk 1, ehk 0, data "yz", tags [{key "k"}]}] }
  const body = hex(`
    0a 01 61            
    0a 01 62            
    12 02 34 32         
    1a 05 08 00 1a 01 78
    1a 0d 08 01 10 00 1a 02 79 7a 22 03 0a 01 6b
  `);
  const d = deaggregate(framed(body));
  assert.ok(d.aggregated);
  assert.deepEqual(
    d.records.map((r) => ({ pk: r.partitionKey, ehk: r.explicitHashKey, data: Buffer.from(r.data).toString() })),
    [
      { pk: 'a', ehk: undefined, data: 'x' },
      { pk: 'b', ehk: '42', data: 'yz' },
    ],
  );
});

test('our aggregate() writes exactly the canonical bytes', () => {
  const out = aggregate([{ partitionKey: 'a', data: enc('x') }]);
  const body = hex('0a 01 61 1a 05 08 00 1a 01 78');
  assert.deepEqual(out, framed(body));
  assert.ok(hasKplMagic(out));
});

test('aggregate → deaggregate round-trips, deduplicating key tables', () => {
  const records = Array.from({ length: 300 }, (_, i) => ({
    partitionKey: `pk_${i % 7}`,
    ...(i % 3 === 0 ? { explicitHashKey: String(BigInt(i) * 10n ** 30n) } : {}),
    data: enc(`{"i":${i},"pad":"${'x'.repeat(i)}"}`),
  }));
  const bytes = aggregate(records);
  const d = deaggregate(bytes);
  assert.ok(d.aggregated);
  assert.equal(d.records.length, 300);
  d.records.forEach((r, i) => {
    assert.equal(r.partitionKey, records[i]!.partitionKey);
    assert.equal(r.explicitHashKey, records[i]!.explicitHashKey);
    assert.deepEqual(Buffer.from(r.data), Buffer.from(records[i]!.data));
  });
  // 7 distinct partition keys: the table holds each once.
  const body = bytes.subarray(4, bytes.length - 16);
  const reader = new ProtoReader(body);
  let pkEntries = 0;
  while (!reader.done) if (reader.next().field === 1) pkEntries++;
  assert.equal(pkEntries, 7);
  assert.throws(() => aggregate([]), ValidationError);
});

test('not aggregated: no magic, corrupt MD5, bad protobuf, bad indexes, missing fields, invalid UTF-8', () => {
  assert.deepEqual(deaggregate(enc('{"plain":true}')), { aggregated: false });
  assert.deepEqual(deaggregate(new Uint8Array(0)), { aggregated: false });

  const good = aggregate([{ partitionKey: 'a', data: enc('x') }]);
  const badMd5 = Uint8Array.from(good);
  badMd5[badMd5.length - 1]! ^= 0xff;
  assert.deepEqual(deaggregate(badMd5), { aggregated: false, reason: 'kpl: MD5 checksum mismatch' });

  const short = Uint8Array.from([...KPL_MAGIC, 1, 2, 3]);
  assert.equal(deaggregate(short).aggregated, false);

  const cases: [string, string][] = [
    ['truncated field', '0a 05 61'],
    ['partition key index outside the table', '0a 01 61 1a 05 08 01 1a 01 78'],
    ['explicit hash key index outside the table', '0a 01 61 1a 07 08 00 10 00 1a 01 78'],
    ['record without data', '0a 01 61 1a 02 08 00'],
    ['record without partition key index', '0a 01 61 1a 03 1a 01 78'],
    ['partition key not UTF-8', '0a 01 ff 1a 05 08 00 1a 01 78'],
    ['records with the wrong wire type', '0a 01 61 18 05'],
  ];
  for (const [what, h] of cases) {
    const d = deaggregate(framed(hex(h)));
    assert.equal(d.aggregated, false, what);
    assert.ok(!d.aggregated && typeof d.reason === 'string' && d.reason.length > 0, what);
  }
});

test('an aggregate with zero records is valid and yields nothing', () => {
  const d = deaggregate(framed(hex('0a 01 61')));
  assert.deepEqual(d, { aggregated: true, records: [] });
});
