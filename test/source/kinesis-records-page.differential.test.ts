/**
 * The lean GetRecords parser (`records-page.ts`) and the blocks the shard reader buffers
 * (`shard-block.ts`) against the existing path: `parseGetRecordsBody` (JSON.parse + Node's
 * base64, field for field the SDK's output, see kinesis-get-records.unit.test.ts) followed by the
 * reader's former per-record code (copied below as `referenceRecords`). On generated bodies
 * (member order, absent and null members, escapes in names and keys, unicode, lone surrogates,
 * empty and binary data, KPL aggregates, unknown members, ChildShards, whitespace) both must give
 * the same records, positions and metadata; on truncated and mutated bodies the new parser may
 * only refuse (a `SOURCE_READ_FAILED` FloeError, never another exception) what the old path
 * refuses, or what its documented strict rules refuse (a member twice, Data not padded base64,
 * a sequence number that is not one, a member of the wrong type, a non-finite time, a body that
 * is not an object); whatever it accepts, the old path accepts with the same result.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { _Record } from '@aws-sdk/client-kinesis';
import { FloeError } from '../../src/errors.js';
import { parseGetRecordsBody } from '../../src/source/kinesis/get-records.js';
import { aggregate, deaggregate } from '../../src/source/kinesis/kpl.js';
import { parseRecordsPage, parseRecordsPageNative, RecordsPage } from '../../src/source/kinesis/records-page.js';
import { nativeRecordsPage } from '../../src/source/kinesis/records-page-native.js';
import { ShardBlock } from '../../src/source/kinesis/shard-block.js';
import type { SourceRecord } from '../../src/source/source.js';
import { rng } from '../helpers/rng.js';

const NOW = 1_700_000_000_000;

/** The shard reader's per-record code before the blocks (HEAD 9b60086, `ShardReader.accept`). */
function referenceRecords(records: _Record[], skip?: { sequenceNumber: string; subSequence: number }): SourceRecord[] {
  const out: SourceRecord[] = [];
  for (const r of records) {
    const seq = r.SequenceNumber;
    if (seq === undefined) throw new Error('record without SequenceNumber');
    const data = r.Data ?? new Uint8Array(0);
    const partitionKey = r.PartitionKey ?? '';
    const arrivalTimeMs = r.ApproximateArrivalTimestamp?.getTime() ?? NOW;
    const baseMeta = { stream: 's', shardId: 'shard-1', sequenceNumber: seq };
    const skipUpTo = skip?.sequenceNumber === seq ? skip.subSequence : -1;
    skip = undefined;
    const d = deaggregate(data);
    if (d.aggregated) {
      const n = d.records.length;
      for (let i = skipUpTo + 1; i < n; i++) {
        const u = d.records[i]!;
        const meta: Record<string, string> = { ...baseMeta, subSequenceNumber: String(i), aggregated: 'true' };
        if (u.explicitHashKey !== undefined) meta.explicitHashKey = u.explicitHashKey;
        out.push({ partitionId: 'shard-1', position: i === n - 1 ? seq : `${seq}:${i}`, data: u.data, partitionKey: u.partitionKey, arrivalTimeMs, meta });
      }
      continue;
    }
    const meta: Record<string, string> = { ...baseMeta };
    if (r.EncryptionType !== undefined) meta.encryptionType = r.EncryptionType;
    out.push({ partitionId: 'shard-1', position: seq, data, partitionKey, arrivalTimeMs, meta });
  }
  return out;
}

/** The block's records as plain objects (data copied, to compare bytes). */
function blockRecords(page: RecordsPage, skip?: { sequenceNumber: string; subSequence: number }): SourceRecord[] {
  const block = new ShardBlock(page, { shardId: 'shard-1', stream: 's', deaggregate: true, skip, nowMs: NOW });
  const out: SourceRecord[] = [];
  // The bounds the pipeline's run scan reads (RecordBlock.ranges) are the records' own.
  const { ends, starts } = block.ranges();
  for (let i = 0; i < block.length; i++) {
    const r = block.record(i);
    assert.equal(starts !== null ? starts[i] : i === 0 ? 0 : ends[i - 1], block.dataStart(i), `record ${i}: start`);
    assert.equal(ends[i], block.dataEnd(i), `record ${i}: end`);
    assert.equal(block.position(i), r.position);
    assert.deepEqual(block.data.subarray(block.dataStart(i), block.dataEnd(i)), r.data);
    assert.ok(block.size(i) >= r.data.byteLength);
    out.push({ ...r, data: new Uint8Array(r.data) });
  }
  return out;
}

const plain = (rs: SourceRecord[]) => rs.map((r) => ({ ...r, data: new Uint8Array(r.data), meta: { ...r.meta } }));

/** Parses with both; `undefined` for a refusal (checked to be a SOURCE_READ_FAILED FloeError). */
function parseBoth(body: Buffer): { ours: RecordsPage | Error; old: ReturnType<typeof parseGetRecordsBody> | Error } {
  let ours: RecordsPage | Error;
  let old: ReturnType<typeof parseGetRecordsBody> | Error;
  try {
    ours = parseRecordsPage(body);
  } catch (e) {
    if (!(e instanceof FloeError) || e.code !== 'SOURCE_READ_FAILED' || !e.message.startsWith('kinesis: GetRecords response ')) {
      throw new Error(`not a named refusal for ${JSON.stringify(body.toString('latin1').slice(0, 300))}: ${String(e)}`, { cause: e });
    }
    ours = e;
  }
  try {
    old = parseGetRecordsBody(body);
  } catch (e) {
    old = e as Error;
  }
  return { ours, old };
}

/** The page in the SDK's output shape, as parseGetRecordsBody gives it. */
function pageOutput(page: RecordsPage): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (page.recordsPresent) out.Records = Array.from({ length: page.count }, (_, k) => page.sdkRecord(k));
  if (page.nextShardIterator !== undefined) out.NextShardIterator = page.nextShardIterator;
  if (page.millisBehindLatest !== undefined) out.MillisBehindLatest = page.millisBehindLatest;
  if (page.childShards !== undefined) out.ChildShards = page.childShards;
  return out;
}

/** SDK records with plain Uint8Array data (Buffer and Uint8Array compare unequal). */
function normalize(o: unknown): unknown {
  const x = o as { Records?: _Record[] };
  if (!x.Records) return o;
  return { ...x, Records: x.Records.map((r) => (r.Data ? { ...r, Data: new Uint8Array(r.Data) } : r)) };
}

/** The refusals the old path does not make, by the new parser's documented strict rules. */
const STRICT = /twice|not padded base64|not a sequence number|is not a string|is not a number|is not a list|not a valid time|the response object|record without SequenceNumber/;

// ---- generated bodies ----

const KEY_CHARS = ['a', 'Z', '0', '_', '-', 'é', '中', '𝄞', '"', '\\', '/', '\n', '\t', '\u0000', '\u001f', '\u2028', '\ud800', '\udc00', ' '];

function randomKey(random: () => number): string {
  const n = Math.floor(random() * 12);
  let s = '';
  for (let i = 0; i < n; i++) s += KEY_CHARS[Math.floor(random() * KEY_CHARS.length)]!;
  return s;
}

/** A JSON string for `s`: JSON.stringify's, or with every character escaped (\uXXXX) sometimes. */
function jsonString(s: string, random: () => number): string {
  if (random() < 0.15) return '"' + Array.from({ length: s.length }, (_, i) => '\\u' + s.charCodeAt(i).toString(16).padStart(4, '0')).join('') + '"';
  if (random() < 0.1) return JSON.stringify(s).replace(/\//g, '\\/');
  return JSON.stringify(s);
}

function name(n: string, random: () => number): string {
  return random() < 0.05 ? jsonString(n, () => 0) : `"${n}"`;
}

const ws = (random: () => number) => (random() < 0.2 ? [' ', '\n', '\t', '\r\n  '][Math.floor(random() * 4)]! : '');

let seqCounter = 0n;

function randomData(random: () => number): Uint8Array {
  const r = random();
  if (r < 0.1) return new Uint8Array(0);
  if (r < 0.25) {
    // A KPL aggregate of a few user records.
    const users = Array.from({ length: 1 + Math.floor(random() * 4) }, () => ({
      partitionKey: randomKey(random).replace(/[\ud800-\udfff]/g, 'x'),
      data: Uint8Array.from({ length: Math.floor(random() * 40) }, () => Math.floor(random() * 256)),
      ...(random() < 0.3 ? { explicitHashKey: String(Math.floor(random() * 1e9)) } : {}),
    }));
    return aggregate(users);
  }
  if (r < 0.5) return Buffer.from(JSON.stringify({ id: Math.floor(random() * 1e6), k: randomKey(random) }));
  return Uint8Array.from({ length: Math.floor(random() * 300) }, () => Math.floor(random() * 256));
}

function randomRecord(random: () => number): string {
  const members: string[] = [];
  seqCounter += BigInt(1 + Math.floor(random() * 1000));
  const seq = String(49590338271490256608559692538361571095921575989136588898n + seqCounter);
  const add = (n: string, v: string) => members.push(`${ws(random)}${name(n, random)}${ws(random)}:${ws(random)}${v}${ws(random)}`);
  add('SequenceNumber', random() < 0.05 ? jsonString(seq, random) : `"${seq}"`);
  const data = randomData(random);
  const r = random();
  if (r < 0.9) add('Data', `"${Buffer.from(data).toString('base64')}"`);
  else if (r < 0.95) add('Data', 'null');
  const k = random();
  if (k < 0.85) add('PartitionKey', jsonString(randomKey(random), random));
  else if (k < 0.9) add('PartitionKey', 'null');
  const t = random();
  if (t < 0.8) add('ApproximateArrivalTimestamp', (1_767_885_412 + Math.floor(random() * 1e6) / 1000).toString());
  else if (t < 0.85) add('ApproximateArrivalTimestamp', '1.767885412345e9');
  else if (t < 0.9) add('ApproximateArrivalTimestamp', 'null');
  if (random() < 0.1) add('EncryptionType', random() < 0.5 ? '"KMS"' : '"NONE"');
  if (random() < 0.1) add(randomKey(random).replace(/[\\"\u0000-\u001f\ud800-\udfff]/g, 'q') || 'Extra', JSON.stringify({ a: [1, { b: null, c: 'x"y' }], d: -1.5e-3 }));
  // Any order.
  for (let i = members.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [members[i], members[j]] = [members[j]!, members[i]!];
  }
  return `{${members.join(',')}}`;
}

function randomBody(random: () => number): string {
  const parts: string[] = [];
  const r = random();
  if (r < 0.95) {
    const n = random() < 0.1 ? 0 : Math.floor(random() * 30);
    parts.push(`"Records":[${ws(random)}${Array.from({ length: n }, () => randomRecord(random)).join(`,${ws(random)}`)}${ws(random)}]`);
  }
  const it = random();
  if (it < 0.8) parts.push(`"NextShardIterator":${jsonString('AAAAAAAAAAH' + randomKey(random), random)}`);
  else if (it < 0.9) parts.push('"NextShardIterator":null');
  if (random() < 0.8) parts.push(`"MillisBehindLatest":${Math.floor(random() * 1e6)}`);
  if (random() < 0.2) {
    parts.push(
      `"ChildShards":[{"ShardId":"shardId-000000000002","ParentShards":["shardId-000000000000"],"HashKeyRange":{"StartingHashKey":"0","EndingHashKey":"170141183460469231731687303715884105727"},"Extra":[1,2]}]`,
    );
  }
  if (random() < 0.1) parts.push('"Unknown":{"x":[[[]],{}],"y":"\\u00e9"}');
  for (let i = parts.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [parts[i], parts[j]] = [parts[j]!, parts[i]!];
  }
  return `${ws(random)}{${parts.join(`,${ws(random)}`)}}${ws(random)}`;
}

test('generated GetRecords bodies: the same records, positions, metadata, iterator, lag and child shards as the existing path', () => {
  const random = rng(13);
  let records = 0;
  let aggregates = 0;
  for (let round = 0; round < 400; round++) {
    const text = randomBody(random);
    const body = Buffer.from(text);
    const { ours, old } = parseBoth(body);
    if (old instanceof Error) assert.fail(`the generator made a body the old path refuses: ${old.message}`);
    if (ours instanceof Error) assert.fail(`refused: ${ours.message} in ${text.slice(0, 400)}`);
    assert.deepEqual(normalize(pageOutput(ours)), normalize(old), text.slice(0, 400));
    const expected = referenceRecords(old.Records ?? []);
    assert.deepEqual(blockRecords(ours), plain(expected));
    records += expected.length;
    aggregates += expected.filter((r) => r.meta.aggregated === 'true').length;
  }
  // The corpus covered what it claims to.
  assert.ok(records > 3000, `${records} records`);
  assert.ok(aggregates > 300, `${aggregates} sub-records`);
});

test('a block resumed inside an aggregate skips the sub-records consumed, as before', () => {
  const agg = aggregate([0, 1, 2, 3].map((i) => ({ partitionKey: `k${i}`, data: Uint8Array.of(i) })));
  const seq = '49590338271490256608559692538361571095921575989136588898';
  const text = JSON.stringify({ Records: [{ SequenceNumber: seq, Data: Buffer.from(agg).toString('base64'), PartitionKey: 'k0' }, { SequenceNumber: seq + '1', Data: 'AA==', PartitionKey: 'p' }], NextShardIterator: 'x' });
  const page = parseRecordsPage(Buffer.from(text));
  const skip = { sequenceNumber: seq, subSequence: 1 };
  const got = blockRecords(page, skip);
  assert.deepEqual(
    got.map((r) => r.position),
    [`${seq}:2`, seq, seq + '1'],
  );
  assert.deepEqual(got, plain(referenceRecords(parseGetRecordsBody(Buffer.from(text)).Records!, skip)));
});

test('the strict rules: what JSON.parse would take silently is refused, naming what and where', () => {
  const ok = '"SequenceNumber":"1","Data":"AA=="';
  const cases: [string, RegExp][] = [
    [`{"Records":[{${ok},"Data":"AQ=="}]}`, /record 0 has the member Data twice/],
    [`{"Records":[],"Records":[]}`, /has the member Records twice/],
    [`{"Records":[{"SequenceNumber":"1","Data":"AAA"}]}`, /record 0: Data is not padded base64/],
    [`{"Records":[{"SequenceNumber":"1","Data":"AA-_"}]}`, /record 0: Data is not padded base64/],
    [`{"Records":[{"SequenceNumber":"1","Data":"A==="}]}`, /record 0: Data is not padded base64/],
    [`{"Records":[{"SequenceNumber":"01","Data":"AA=="}]}`, /record 0: SequenceNumber is not a sequence number/],
    [`{"Records":[{"SequenceNumber":"12a","Data":"AA=="}]}`, /record 0: SequenceNumber is not a sequence number/],
    [`{"Records":[{${ok},"ApproximateArrivalTimestamp":"1"}]}`, /record 0: ApproximateArrivalTimestamp is not a number/],
    [`{"Records":[{${ok},"ApproximateArrivalTimestamp":1e400}]}`, /not a valid time/],
    [`{"Records":[{${ok},"PartitionKey":5}]}`, /record 0: PartitionKey is not a string/],
    [`{"Records":[{${ok}}],"NextShardIterator":5}`, /NextShardIterator is not a string/],
    [`{"Records":[{${ok}}],"MillisBehindLatest":"0"}`, /MillisBehindLatest is not a number/],
    [`{"Records":[{${ok}}],"ChildShards":{}}`, /ChildShards is not a list/],
    [`{"Records":null}`, /Records is not a list/],
    [`[]`, /is not JSON: byte 0 is '\['/],
    [`{"Records":[{${ok}}]`, /ends where ',' or '}' should be/],
    [`{"Records":[{${ok},"PartitionKey":"a\u0001"}]}`, /control character 0x01 in a string/],
    [`{"Records":[{${ok}}]} x`, /byte \d+ is 'x' where the end of the response should be/],
  ];
  for (const [text, want] of cases) {
    assert.throws(() => parseRecordsPage(Buffer.from(text)), (e: unknown) => e instanceof FloeError && e.code === 'SOURCE_READ_FAILED' && want.test(e.message), text);
  }
});

test('truncated and mutated bodies: a named refusal or the old path\'s exact result, never a crash', () => {
  const random = rng(1313);
  const SPECIAL = [0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x00, 0x1f, 0x20, 0x2d, 0x2e, 0x30, 0x39, 0x65, 0x3d, 0x2b, 0x2f, 0x6e, 0x75, 0x80, 0xc3, 0xff];
  let refusedByBoth = 0;
  let acceptedByBoth = 0;
  let strictOnly = 0;
  for (let round = 0; round < 1500; round++) {
    const base = Buffer.from(randomBody(random));
    let body: Buffer;
    const kind = random();
    const at = Math.floor(random() * base.length);
    if (kind < 0.3) body = base.subarray(0, at);
    else if (kind < 0.6) {
      body = Buffer.from(base);
      body[at] = random() < 0.7 ? SPECIAL[Math.floor(random() * SPECIAL.length)]! : Math.floor(random() * 256);
    } else if (kind < 0.8) body = Buffer.concat([base.subarray(0, at), Buffer.of(SPECIAL[Math.floor(random() * SPECIAL.length)]!), base.subarray(at)]);
    else body = Buffer.concat([base.subarray(0, at), base.subarray(at + 1 + Math.floor(random() * 4))]);
    const { ours, old } = parseBoth(body);
    if (ours instanceof Error) {
      if (old instanceof Error) refusedByBoth++;
      else {
        assert.match(ours.message, STRICT, `refused what the old path takes, not by a strict rule: ${body.toString('latin1').slice(0, 300)}`);
        strictOnly++;
      }
      continue;
    }
    if (old instanceof Error) assert.fail(`accepted what the old path refuses (${old.message}): ${body.toString('latin1').slice(0, 300)}`);
    try {
      assert.deepEqual(normalize(pageOutput(ours)), normalize(old));
      const rs = old.Records ?? [];
      if (rs.every((r) => r.SequenceNumber !== undefined)) assert.deepEqual(blockRecords(ours), plain(referenceRecords(rs)));
    } catch (e) {
      // Plain text only: the runner's reporter cannot print an invalid Date.
      throw new Error(`${(e as Error).message.slice(0, 2000)}\nbody: ${body.toString('latin1').slice(0, 300)}`);
    }
    acceptedByBoth++;
  }
  if (process.env.FLOE_TEST_VERBOSE) console.log({ refusedByBoth, acceptedByBoth, strictOnly });
  assert.ok(refusedByBoth > 300 && acceptedByBoth > 100, `${refusedByBoth} refused by both, ${acceptedByBoth} accepted by both, ${strictOnly} by the strict rules only`);
});

test('a page from SDK records (another protocol) reads back the same', () => {
  const random = rng(5);
  const text = randomBody(random);
  const old = parseGetRecordsBody(Buffer.from(text));
  const page = RecordsPage.fromRecords(old.Records ?? []);
  assert.deepEqual(
    normalize({ Records: Array.from({ length: page.count }, (_, k) => page.sdkRecord(k)) }),
    normalize({ Records: old.Records ?? [] }),
  );
});

test('maximum-size records (1 MiB of data each) and a 10,000-record response read the same', () => {
  const random = rng(21);
  const big = Uint8Array.from({ length: 1024 * 1024 }, () => Math.floor(random() * 256));
  const records = [
    { SequenceNumber: '1', Data: Buffer.from(big).toString('base64'), PartitionKey: 'a'.repeat(256), ApproximateArrivalTimestamp: 1_767_885_412.5 },
    { SequenceNumber: '2', Data: Buffer.from(big.subarray(1)).toString('base64'), PartitionKey: 'b' },
    ...Array.from({ length: 10_000 }, (_, i) => ({ SequenceNumber: String(3 + i), Data: Buffer.from(`{"i":${i}}`).toString('base64'), PartitionKey: `k${i % 7}` })),
  ];
  const body = Buffer.from(JSON.stringify({ Records: records, NextShardIterator: 'n', MillisBehindLatest: 0 }));
  const { ours, old } = parseBoth(body);
  if (ours instanceof Error || old instanceof Error) assert.fail(String(ours instanceof Error ? ours : old));
  assert.deepEqual(normalize(pageOutput(ours)), normalize(old));
  assert.deepEqual(blockRecords(ours), plain(referenceRecords(old.Records!)));
  assert.equal(ours.data.byteLength, 2 * big.byteLength - 1 + records.slice(2).reduce((a, r) => a + Buffer.from(r.Data, 'base64').byteLength, 0));
});

// ---- the native reader (native/records_page.c) against this parser, its reference ----

const noNative = nativeRecordsPage() === undefined ? 'the native module (build/Release/floe_native.node with recordsPage) is not built' : undefined;

/** The usual body as Kinesis and the fast endpoint send it: what the native reader must read. */
function usualBody(random: () => number): string {
  const n = random() < 0.05 ? 0 : 1 + Math.floor(random() * 40);
  const records: string[] = [];
  for (let i = 0; i < n; i++) {
    seqCounter += BigInt(1 + Math.floor(random() * 1000));
    const seq = random() < 0.02 ? '0' : String(49590338271490256608559692538361571095921575989136588898n + seqCounter);
    const r = random();
    const data = r < 0.1 ? new Uint8Array(0) : r < 0.2 ? aggregate([{ partitionKey: 'a', data: Uint8Array.of(1, 2, 3) }, { partitionKey: 'b', data: new Uint8Array(0) }]) : Uint8Array.from({ length: Math.floor(random() * 200) }, () => Math.floor(random() * 256));
    const t = random();
    const ts =
      t < 0.4
        ? (1_767_885_412 + Math.floor(random() * 1e6) / 1000).toFixed(3)
        : t < 0.7
          ? `${(1_767_885_412_000 + Math.floor(random() * 1e6)) / 1e12}E9`.replace(/^(\d)E9$/, '$1.0E9')
          : t < 0.98
            ? String(Math.floor(random() * 2e9))
            : ['0', '0.0005', '0.0015', '1767885412.9995', '1.7678854129995e9', '17678854129995e-4', '1E9', '1e+9', '1.5e-3', '2.5e-4', '8.64e12', '8.64e13', '123456789012345.5', '1e22', '1e23', '0.000000000000000000001'][Math.floor(random() * 16)]!;
    const key = [...Array(Math.floor(random() * 12))].map(() => ['a', 'Z', '0', '_', '-', 'é', '中', '𝄞', ' ', '/', '\u007f'][Math.floor(random() * 11)]).join('');
    const members = [
      `"SequenceNumber":"${seq}"`,
      `"ApproximateArrivalTimestamp":${ts}`,
      `"Data":"${Buffer.from(data).toString('base64')}"`,
      `"PartitionKey":"${key}"`,
      ...(random() < 0.1 ? [`"EncryptionType":"${random() < 0.5 ? 'KMS' : 'NONE'}"`] : []),
    ];
    if (random() < 0.5) {
      for (let a = members.length - 1; a > 0; a--) {
        const b = Math.floor(random() * (a + 1));
        [members[a], members[b]] = [members[b]!, members[a]!];
      }
    }
    records.push(`{${members.join(`,${ws(random)}`)}}`);
  }
  const parts = [`"Records":[${records.join(',')}]`];
  const end = random();
  if (end < 0.85) parts.push(`"NextShardIterator":"AAAAAAAAAAH${Buffer.from(String(random())).toString('base64')}/+="`);
  else if (end < 0.95) parts.push('"ChildShards":[]');
  parts.push(`"MillisBehindLatest":${random() < 0.5 ? 0 : Math.floor(random() * 1e9)}`);
  if (random() < 0.5) parts.reverse();
  return `${ws(random)}{${parts.join(',')}}${ws(random)}`;
}

/** The native reader's page, checked against the JavaScript parser's; whether it read the body. */
function nativeAgrees(body: Buffer): boolean {
  const native = parseRecordsPageNative(body);
  if (native === undefined) return false;
  let reference: RecordsPage;
  try {
    reference = parseRecordsPage(body, false);
  } catch (e) {
    assert.fail(`the native reader read a body the JavaScript parser refuses (${(e as Error).message}): ${body.toString('latin1').slice(0, 300)}`);
  }
  // Every column, offset, flag and scalar (private members included).
  try {
    assert.deepStrictEqual(native, reference);
  } catch (e) {
    throw new Error(`${(e as Error).message.slice(0, 2000)}\nbody: ${body.toString('latin1').slice(0, 300)}`);
  }
  return true;
}

test('native reader: the usual bodies read into the same pages as the JavaScript parser; others declined', { skip: noNative }, () => {
  const random = rng(1300);
  let read = 0;
  let records = 0;
  for (let round = 0; round < 600; round++) {
    const body = Buffer.from(usualBody(random));
    if (nativeAgrees(body)) {
      read++;
      records += parseRecordsPageNative(body)!.count;
    }
  }
  // Not vacuous: most usual bodies are read natively (numbers beyond the exact fast path decline).
  assert.ok(read > 300 && records > 6000, `${read} bodies, ${records} records read natively`);
  // The general corpus: whatever the native reader takes, it reads exactly as the reference.
  let general = 0;
  for (let round = 0; round < 400; round++) if (nativeAgrees(Buffer.from(randomBody(random)))) general++;
  assert.ok(general > 0, 'some general bodies are read natively');
  // And what it must decline (the JavaScript parser reads or refuses them).
  const seq = '"SequenceNumber":"1","ApproximateArrivalTimestamp":1.5,"PartitionKey":"k"';
  for (const text of [
    `{"Records":[{${seq},"Data":"AA=="}],"NextShardIterator":"a\\/b"}`,
    `{"Records":[{${seq},"Data":"AAA"}]}`,
    `{"Records":[{${seq},"Data":"AA=="},{"SequenceNumber":"2","Data":"AA=="}]}`,
    `{"Records":[{${seq},"Data":"AA==","Data":"AA=="}]}`,
    `{"Records":[{${seq},"Data":"AA==","X":1}]}`,
    `{"Records":[{${seq},"Data":null}]}`,
    `{"Records":[{${seq},"Data":"AA=="}],"ChildShards":[{"ShardId":"s"}]}`,
    `{"Records":[{${seq},"Data":"AA=="}],"MillisBehindLatest":1.5}`,
    `{"Records":[{${seq.replace('"k"', '"\\u0041"')},"Data":"AA=="}]}`,
    `{"Records":[{${seq.replace('1.5', '-1.5')},"Data":"AA=="}]}`,
    `{"Records":[{${seq.replace('1.5', '1e400')},"Data":"AA=="}]}`,
    `{"Records":[{${seq},"Data":"AA=="}]`,
    `{"Records":[{${seq.replace('"1"', '"01"')},"Data":"AA=="}]}`,
    `{"Records":[{${seq.replace('"1"', '"1a"')},"Data":"AA=="}]}`,
    `{"Records":[{${seq.replace('"1"', '"' + '1'.repeat(129) + '"')},"Data":"AA=="}]}`,
  ]) {
    assert.equal(parseRecordsPageNative(Buffer.from(text)), undefined, text);
    // Declined, so the JavaScript parser decides: it reads it or names the error.
    assert.equal(nativeAgrees(Buffer.from(text)), false);
  }
  // Edges it reads, exactly as the reference does.
  for (const text of [
    `{"Records":[{${seq.replace('"1"', '"0"')},"Data":""}]}`,
    `{"Records":[{${seq.replace('"1"', '"' + '1'.repeat(128) + '"')},"Data":"AA=="}]}`,
    `{"Records":[{${seq.replace('1.5', '0.0005')},"Data":"AAA="}]}`,
    `{"Records":[{${seq.replace('1.5', '0.0015')},"Data":"AAAA"}],"MillisBehindLatest":0}`,
    `{"Records":[{${seq.replace('1.5', '1.7678854129995E9')},"Data":"AA==","EncryptionType":"KMS"}],"ChildShards":[],"NextShardIterator":""}`,
    `{"Records":[{${seq.replace('"k"', '""')},"Data":"AA=="}]}`,
    ` {"Records":[ ]} `,
    `{}`,
  ]) {
    assert.equal(nativeAgrees(Buffer.from(text)), true, text);
  }
});

test('native reader: truncated and mutated usual bodies are read as the JavaScript parser reads them, or declined; never a crash', { skip: noNative }, () => {
  const random = rng(1301);
  const SPECIAL = [0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x00, 0x1f, 0x20, 0x2d, 0x2e, 0x30, 0x39, 0x45, 0x65, 0x3d, 0x2b, 0x2f, 0x6e, 0x75, 0x80, 0xc3, 0xff, 0x41];
  let read = 0;
  let declined = 0;
  for (let round = 0; round < 3000; round++) {
    const base = Buffer.from(usualBody(random));
    let body: Buffer;
    const kind = random();
    const at = Math.floor(random() * base.length);
    if (kind < 0.2) body = base.subarray(0, at);
    else if (kind < 0.6) {
      body = Buffer.from(base);
      body[at] = random() < 0.8 ? SPECIAL[Math.floor(random() * SPECIAL.length)]! : Math.floor(random() * 256);
    } else if (kind < 0.8) body = Buffer.concat([base.subarray(0, at), Buffer.of(SPECIAL[Math.floor(random() * SPECIAL.length)]!), base.subarray(at)]);
    else body = Buffer.concat([base.subarray(0, at), base.subarray(at + 1 + Math.floor(random() * 4))]);
    // In a buffer of exactly its size (a read past the end would show in the page or crash).
    if (nativeAgrees(Buffer.from(body))) read++;
    else declined++;
  }
  assert.ok(read > 250 && declined > 1000, `${read} read natively, ${declined} declined`);
});
