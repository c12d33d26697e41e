/**
 * The JSON fast path (`record-scan.ts`) against the general path (TextDecoder → JSON.parse →
 * transform): on every record the fast path accepts, the two give the same value for every
 * column (-0 and 0 told apart); a record the general path refuses is never accepted. Records are
 * hand-picked edge cases, then generated records and byte-level mutations of them (a seeded
 * generator, so a failure names a record that can be replayed).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { clearRawStage, newRawStage, RAW_INT64, RAW_NULL, RAW_UTF8, rawValue } from '../../src/data/column-batch.js';
import type { IcebergValue } from '../../src/iceberg/types.js';
import { DECLINED, NO_ROOM, RecordScanner, STAGED } from '../../src/pipeline/record-scan.js';
import { nativeScanBinding } from '../../src/pipeline/record-scan-native.js';
import { referenceConfig } from '../../src/pipeline/reference.js';
import { compileTransform, RecordError, schemaForTransform, type CompiledTransform, type TransformSpec } from '../../src/pipeline/transform.js';
import type { SourceRecord } from '../../src/source/source.js';
import { rng } from '../helpers/rng.js';

const RECORD: SourceRecord = {
  partitionId: 'shardId-000000000001',
  position: '49590338271490256608559692538361571095921575989136588898',
  data: new Uint8Array(),
  partitionKey: 'pk_7',
  arrivalTimeMs: 1_767_885_412_345,
  meta: { sequenceNumber: '49590338271490256608559692538361571095921575989136588898', subSequenceNumber: '3' },
};
const CTX = { record: RECORD, streamName: 'events', processingTimeUs: 1_767_885_413_000_123n };

/** The reference pipeline's own mapping (`src/pipeline/reference.ts`). */
const REFERENCE: TransformSpec = referenceConfig({ warehouse: 'unused' }).transform;

const EVERY_KIND: TransformSpec = {
  columns: [
    { name: 's', type: 'string' },
    { name: 'rs', type: 'string', required: true },
    { name: 'ts', type: 'timestamptz' },
    { name: 'tn', type: 'timestamp', format: 'epoch_ms' },
    { name: 'l', type: 'long' },
    { name: 'i', type: 'int' },
    { name: 'd', type: 'double' },
    { name: 'f', type: 'float' },
    { name: 'b', type: 'boolean' },
    { name: 'dt', type: 'date' },
    { name: 'k', type: 'string', value: 'partition_key' },
    { name: 'shard', type: 'string', value: 'shard' },
    { name: 'arrival', type: 'timestamptz', value: 'arrival_time' },
    { name: 'c', type: 'long', constant: 42 },
    { name: 'constructor', type: 'string' },
  ],
};

/** Nested paths, two levels deep, beside a flat one. */
const NESTED: TransformSpec = {
  columns: [
    { name: 'id', type: 'string', required: true },
    { name: 'user_id', type: 'string', path: 'detail.user.id' },
    { name: 'user_name', type: 'string', path: 'detail.user.name' },
    { name: 'ts', type: 'timestamptz', path: 'detail.ts' },
    { name: 'n', type: 'double', path: 'detail.n' },
    { name: 'region', type: 'string', path: 'meta.region' },
  ],
};

type Outcome = { ok: true; row: IcebergValue[] } | { ok: false; error: string };

function general(t: CompiledTransform, data: Uint8Array): Outcome {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(data);
    return { ok: true, row: t.apply(JSON.parse(text), { ...CTX, record: { ...RECORD, data } }) };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

function same(a: IcebergValue, b: IcebergValue): boolean {
  if (typeof a === 'number' && typeof b === 'number') return Object.is(a, b);
  return a === b;
}

interface Tally {
  accepted: number;
  declined: number;
}

/** `base` with a byte replaced, inserted or deleted 1–3 times (bytes from `alphabet`). */
function mutate(base: Uint8Array, random: () => number, alphabet: readonly number[]): Uint8Array {
  const pick = () => alphabet[Math.floor(random() * alphabet.length)]!;
  const bytes = [...base];
  const edits = 1 + Math.floor(random() * 3);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(random() * (bytes.length + 1));
    const op = Math.floor(random() * 3);
    if (op === 0 && at < bytes.length) bytes[at] = pick();
    else if (op === 1) bytes.splice(at, 0, pick());
    else bytes.splice(at, 1);
  }
  return new Uint8Array(bytes);
}

/** The JavaScript scanner beside each native one that {@link compile} made: both must decide alike. */
const twins = new WeakMap<RecordScanner, RecordScanner>();

/**
 * Checks one record; returns whether the fast path accepted it. With the native scanner, the
 * JavaScript scanner reads the record too: the same decision and the same row, value by value.
 */
function check(t: CompiledTransform, scanner: RecordScanner, data: Uint8Array): boolean {
  const slow = general(t, data);
  const ctx = { ...CTX, record: { ...RECORD, data } };
  const accepted = scanner.scan(data, ctx);
  const show = () => JSON.stringify(Buffer.from(data).toString('latin1'));
  const twin = twins.get(scanner);
  if (twin !== undefined) {
    assert.equal(accepted, twin.scan(data, ctx), `native and JavaScript scanners decide alike on ${show()}`);
    if (accepted) {
      for (let i = 0; i < t.schema.fields.length; i++) {
        const a = rawValue(scanner.row, i);
        const b = rawValue(twin.row, i);
        assert.ok(same(a, b), `column ${t.schema.fields[i]!.name} of ${show()}: native ${String(a)}, JavaScript ${String(b)}`);
      }
    }
  }
  if (!accepted) return false;
  assert.ok(slow.ok, `fast path accepted ${show()}, which the general path refuses: ${slow.ok ? '' : slow.error}`);
  for (let i = 0; i < t.schema.fields.length; i++) {
    const fast = rawValue(scanner.row, i);
    assert.ok(
      same(fast, slow.row[i]!),
      `column ${t.schema.fields[i]!.name} of ${show()}: fast ${String(fast)} (${typeof fast}), general ${String(slow.row[i])} (${typeof slow.row[i]})`,
    );
  }
  return true;
}

function compile(spec: TransformSpec): { t: CompiledTransform; scanner: RecordScanner } {
  const t = compileTransform(spec, schemaForTransform(spec));
  const scanner = RecordScanner.for(t);
  assert.ok(scanner, 'the mapping has a fast path');
  if (scanner.native) twins.set(scanner, RecordScanner.for(t, { native: false })!);
  return { t, scanner };
}

const enc = new TextEncoder();


/** `count` generated records of the EVERY_KIND keys, each followed by a byte-level mutation of it. */
function everyKindRecords(seed: number, count: number): Uint8Array[] {
  const random = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const strings = ['', 'a', 'héllo', '✓', '𝄞', 'quote"inside', 'back\\slash', 'ctl\u0001', 'line\nfeed', 'x'.repeat(100)];
  const stamps = ['2026-01-08T15:16:52Z', '2026-01-08T15:16:52.1Z', '2026-01-08 15:16:52.123456Z', '2026-01-08T15:16:52.1234567z', '2024-02-29T00:00:00Z', '2023-02-29T00:00:00Z', '2026-01-08T15:16:52+02:00', '2026-13-01T00:00:00Z', '1970-01-01T00:00:00Z', '2026-01-08T15:16:60Z'];
  const numbers = ['0', '-0', '1', '-1', '42', '1.5', '-2.25', '1e3', '1E-3', '0.1', '123456789012345', '9007199254740993', '2147483648', '-2147483649', '3.5e38', '1e400', '0.000001', '7.0', '5e-324', '1.7976931348623157e308'];
  const dates = ['2026-01-08', '2024-02-29', '2023-02-29', '0001-01-01', '9999-12-31', '1969-12-31', '1900-03-01', ' 2026-01-08', '2026-1-08', '2026-13-01', '2026-01-08T00:00:00Z', '20260108'];
  const value = (): string => {
    switch (Math.floor(random() * 7)) {
      case 6:
        return random() < 0.8 ? JSON.stringify(pick(dates)) : pick(['20260108', '0', '-86400000']);
      case 0:
        return JSON.stringify(pick(strings));
      case 1:
        return JSON.stringify(pick(stamps));
      case 2:
        return pick(numbers);
      case 3:
        return pick(['true', 'false', 'null']);
      case 4:
        return `{"n":${pick(numbers)},"s":${JSON.stringify(pick(strings))}}`;
      default:
        return `[${pick(numbers)},${JSON.stringify(pick(strings))}]`;
    }
  };
  const keys = ['s', 'rs', 'ts', 'tn', 'l', 'i', 'd', 'f', 'b', 'dt', 'constructor', 'other', 'x'];
  const alphabet = [...'{}[]:,"\\ 0123456789.-+eE\tnultrfa'].map((c) => c.charCodeAt(0)).concat([0x00, 0x1f, 0x7f, 0x80, 0xc3, 0xa9, 0xe2, 0x9c, 0x93, 0xf0, 0xff]);
  const out: Uint8Array[] = [];
  for (let n = 0; n < count; n++) {
    const fields = ['"rs":' + JSON.stringify(pick(strings))];
    const count = Math.floor(random() * 8);
    for (let k = 0; k < count; k++) fields.push(`${JSON.stringify(pick(keys))}:${value()}`);
    const text = `{${fields.sort(() => random() - 0.5).join(random() < 0.1 ? ' , ' : ',')}}`;
    const base = enc.encode(text);
    out.push(base, mutate(base, random, alphabet));
  }
  return out;
}

/** Deep nesting: `n` arrays (or objects) around `inner`, built without recursion. */
function nested(n: number, inner: string, objects = false): string {
  return objects ? '{"a":'.repeat(n) + inner + '}'.repeat(n) : '['.repeat(n) + inner + ']'.repeat(n);
}

/** Hostile values: depth, size, encoding, numbers (JSON text, or raw bytes for invalid UTF-8). */
const HOSTILE_VALUES: readonly (string | number[])[] = [
  // depth: within and beyond the scanners' 64 levels, beyond JSON.stringify's stack (~4,500), far beyond
  nested(10, '1'),
  nested(64, '"x"'),
  nested(65, '{}', true),
  nested(4_500, '1'),
  nested(4_500, '"x"', true),
  nested(100_000, ''),
  // size
  JSON.stringify('y'.repeat(1 << 20)),
  JSON.stringify('é'.repeat(70_000)),
  '1' + '0'.repeat(100_000),
  '0.' + '0'.repeat(5_000) + '1',
  // encoding: lone and paired surrogates as escapes, NUL, BOM, raw invalid UTF-8
  '"\\ud800"',
  '"\\udc00"',
  '"a\\ud800b"',
  '"\\ud800\\u0041"',
  '"\\udbff\\udfff"',
  '"\\ud83d\\ude00"',
  '"\\u0000"',
  '"\\ufeff"',
  '"\ufeff"',
  '{"k\\ud800":1}',
  [0x22, 0xed, 0xa0, 0x80, 0x22], // a surrogate in UTF-8 (CESU-8)
  [0x22, 0xc0, 0x80, 0x22], // an overlong NUL
  [0x22, 0x00, 0x22], // a raw NUL inside a string
  [0x22, 0xf4, 0x90, 0x80, 0x80, 0x22],
  // numbers
  '1e400',
  '-1e400',
  '1E+400',
  '1e-400',
  '-1e-400',
  '-0',
  '-0.0',
  '0e0',
  '5e-324',
  '2.4e-324',
  '1.7976931348623157e308',
  '1.7976931348623159e308',
  '9223372036854775807',
  '-9223372036854775808',
  '9223372036854775808',
  '-9223372036854775809',
  '18446744073709551616',
  '123456789012345678901234567890',
  '9007199254740993',
  '1.0000000000000000001',
  '0.10000000000000000001',
  '1.0',
  '1e3',
  '1E22',
  '1e23',
  '2147483648',
  '"12"',
  '" 12 "',
  '"1e400"',
  '"Infinity"',
  '"-Infinity"',
  '"NaN"',
  '"2026-01-08T15:16:52"',
  '"2026-01-08T15:16:52+14:00"',
];

/** The hostile values of at most 10 KB (generated records; the large ones are tried one by one). */
const SMALL_HOSTILE_VALUES = HOSTILE_VALUES.filter((v) => v.length <= 10_000);

const hostileCache = new Map<string | number[], Uint8Array>();
/** A hostile value's bytes (encoded once). */
function hostileBytes(v: string | number[]): Uint8Array {
  let b = hostileCache.get(v);
  if (b === undefined) hostileCache.set(v, (b = typeof v === 'string' ? enc.encode(v) : Uint8Array.from(v)));
  return b;
}

/**
 * Records built of hostile values in mapped and unmapped keys, with duplicate keys, a BOM
 * before the object, NUL bytes and trailing bytes, then byte-level mutations of a share of them.
 */
function hostileRecords(seed: number, count: number): Uint8Array[] {
  const random = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const keys = ['s', 'rs', 'ts', 'tn', 'l', 'i', 'd', 'f', 'b', 'dt', 'other', 'x'];
  const out: Uint8Array[] = [];
  const value = (): Uint8Array => {
    const v = random() < 0.7 ? pick(SMALL_HOSTILE_VALUES) : pick(['"ok"', '1', '1.5', 'true', 'null', '"2026-01-08T15:16:52Z"', '"2026-01-08"']);
    return hostileBytes(v);
  };
  for (let n = 0; n < count; n++) {
    const parts: Uint8Array[] = [];
    if (random() < 0.05) parts.push(Uint8Array.of(0xef, 0xbb, 0xbf)); // a BOM before the record
    parts.push(enc.encode('{"rs":"r"'));
    const fields = 1 + Math.floor(random() * 3);
    for (let k = 0; k < fields; k++) {
      const key = pick(keys);
      parts.push(enc.encode(`,${JSON.stringify(key)}:`), value());
      if (random() < 0.1) parts.push(enc.encode(`,${JSON.stringify(key)}:`), value()); // a duplicate key
    }
    parts.push(Uint8Array.of(0x7d));
    if (random() < 0.03) parts.push(Uint8Array.of(pick([0x00, 0x20, 0x0a, 0x7d])));
    const data = new Uint8Array(Buffer.concat(parts));
    out.push(data.length < 4096 && random() < 0.3 ? mutate(data, random, [0x22, 0x5c, 0x30, 0x2d, 0x65, 0x2e, 0x00, 0xed, 0xa0]) : data);
  }
  return out;
}

/**
 * What the pipeline's general path makes of a record: a row, or a dead letter's reason. Only the
 * errors the pipeline turns into dead letters may come out (undecodable bytes, invalid JSON, a
 * RecordError); anything else escaping the transform is a failure of this test.
 */
function generalStrict(t: CompiledTransform, data: Uint8Array): Outcome {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    return { ok: false, error: 'not UTF-8' };
  }
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
  try {
    return { ok: true, row: t.apply(obj, { ...CTX, record: { ...RECORD, data }, text }) };
  } catch (e) {
    assert.ok(e instanceof RecordError, `only a RecordError may leave the transform, got ${String(e).slice(0, 300)} for ${Buffer.from(data.subarray(0, 200)).toString('latin1')}`);
    assert.ok(e.message.length < 1_000, `a bounded message: ${e.message.length} characters`);
    return { ok: false, error: e.message };
  }
}

describe('record-scan: the native scanner', () => {
  test('is built (npm ci runs node-gyp on binding.gyp) and used by default', () => {
    assert.ok(nativeScanBinding(), 'build/Release/floe_native.node is missing: `npm ci` builds it from native/record_scan.c (python3, make, g++)');
    const t = compileTransform(REFERENCE, schemaForTransform(REFERENCE));
    assert.equal(RecordScanner.for(t)!.native, true);
    assert.equal(RecordScanner.for(t, { native: false })!.native, false);
  });

  test('staged rows: each holds the JavaScript scanner\'s row; a full stage takes nothing', () => {
    // EVERY_KIND's computed columns but the string ones (a stage holds 64-bit computed values).
    const spec: TransformSpec = { columns: EVERY_KIND.columns.filter((c) => c.name !== 'k' && c.name !== 'shard') };
    const t = compileTransform(spec, schemaForTransform(spec));
    const twin = RecordScanner.for(t, { native: false })!;
    const columns = t.schema.fields.length;
    // A small stage (16 rows, 300 bytes per column): it fills by rows and by bytes.
    const stage = newRawStage(columns, 16, 300);
    const scanner = RecordScanner.for(t)!;
    assert.equal(scanner.stageable, true);
    assert.equal(RecordScanner.for(compileTransform(EVERY_KIND, schemaForTransform(EVERY_KIND)))!.stageable, false, 'string computed columns');
    scanner.attachStage(stage);
    const tally = { staged: 0, declined: 0, full: 0 };
    for (const data of everyKindRecords(7, 5_000)) {
      const ctx = { ...CTX, record: { ...RECORD, data } };
      const before = Array.from(stage.state);
      let r = scanner.scanStaged(data, ctx);
      if (r === NO_ROOM) {
        tally.full++;
        assert.deepStrictEqual(Array.from(stage.state), before, 'a full stage is left as it was');
        clearRawStage(stage);
        r = scanner.scanStaged(data, ctx);
      }
      const accepted = twin.scan(data, ctx);
      if (r === NO_ROOM) {
        // A record whose strings alone exceed a column's bytes: read with scan() instead.
        assert.ok(accepted);
        continue;
      }
      assert.equal(r === STAGED, accepted, `staged and JavaScript scanners decide alike on ${Buffer.from(data).toString('latin1')}`);
      if (r === DECLINED) {
        tally.declined++;
        continue;
      }
      tally.staged++;
      const row = stage.state[0]! - 1;
      const offsets = new Array<number>(columns).fill(0);
      for (let c = 0; c < columns; c++) for (let k = 0; k < row; k++) if (stage.tags[c * 16 + k] === RAW_UTF8) offsets[c]! += stage.lengths[c * 16 + k]!;
      for (let c = 0; c < columns; c++) {
        const at = c * 16 + row;
        const tag = stage.tags[at]!;
        let got: IcebergValue;
        if (tag === RAW_NULL) got = null;
        else if (tag === RAW_UTF8) {
          const from = c * 300 + offsets[c]!;
          got = Buffer.from(stage.bytes.subarray(from, from + stage.lengths[at]!)).toString('utf8');
        } else if (tag === RAW_INT64) got = BigInt(stage.nums[at]!);
        else got = t.schema.fields[c]!.type === 'boolean' ? stage.nums[at] !== 0 : stage.nums[at]!;
        const want = rawValue(twin.row, c);
        assert.ok(same(got, want), `column ${t.schema.fields[c]!.name}: staged ${String(got)}, JavaScript ${String(want)}`);
      }
      for (let c = 0; c < columns; c++) {
        const mine = stage.tags[c * 16 + row] === RAW_UTF8 ? stage.lengths[c * 16 + row]! : 0;
        assert.equal(stage.state[1 + c], offsets[c]! + mine, `bytes used by column ${c}`);
        assert.ok(stage.state[1 + c]! <= 300, `column ${c} stays in its 300 bytes`);
      }
    }
    assert.ok(tally.staged > 500 && tally.declined > 1_000 && tally.full > 30, JSON.stringify(tally));
  });
});

describe('record-scan: the fast path gives the general path\'s values', () => {
  test('the reference events are all read on the fast path, with the general path\'s values', () => {
    const { t, scanner } = compile(REFERENCE);
    for (let i = 0; i < 500; i++) {
      const rec = {
        event_id: `evt_1767885412_${i}`,
        user_id: `user_00${i % 5}`,
        event_type: ['click', 'page_view', 'purchase'][i % 3],
        page: `/products/${100 + i}`,
        timestamp: `2026-01-08T15:${String(16 + (i % 40)).padStart(2, '0')}:52Z`,
      };
      assert.ok(check(t, scanner, enc.encode(JSON.stringify(rec))), `reference event ${i} is read on the fast path`);
    }
  });

  test('hand-picked edge cases: accepted with equal values, or declined', () => {
    const { t, scanner } = compile(EVERY_KIND);
    const accepted: string[] = [];
    const cases = [
      // accepted shapes
      '{"rs":"x"}',
      ' \t\r\n{ "rs" : "x" , "s" : "héllo wörld ✓ 𝄞" } \n',
      '{"rs":"","s":null,"ts":null,"l":null,"i":null,"d":null,"f":null,"b":null}',
      '{"rs":"x","ts":"2026-01-08T15:16:52Z","tn":"2026-01-08 15:16:52.123456789z"}',
      '{"rs":"x","ts":"2024-02-29T23:59:59.5Z","tn":"1969-12-31T23:59:59.999999Z"}',
      '{"rs":"x","ts":"1900-01-01T00:00:00Z","tn":"2200-12-31T23:59:59.999999Z"}',
      '{"rs":"x","l":0,"i":0,"d":0,"f":0}',
      '{"rs":"x","l":-0,"i":-0,"d":-0,"f":-0.0}',
      '{"rs":"x","l":9007199254740991,"i":2147483647,"d":1.5e-20,"f":3.4e20}',
      '{"rs":"x","l":-9007199254740991,"i":-2147483648,"d":0.1,"f":-1.5e-7}',
      '{"rs":"x","d":1.797693134862315e20,"f":123.456,"b":true}',
      '{"rs":"x","d":0.000001234,"b":false}',
      '{"rs":"x","d":1E22,"f":1e-22}',
      '{"rs":"x","d":1234567890123456,"l":100000000000000}',
      '{"rs":"x","other":{"a":[1,2,{"b":"\\u00e9\\n\\"\\\\\\/"}],"c":null,"d":true,"e":-1.5e+3},"arr":[],"o":{}}',
      '{"rs":"x","constructor":"mine","__proto__":"p"}',
      '{"rs":"x","s":"\u007f"}',
      // declined (the general path decides)
      // exponents whose digits overflow 32 bits (4294967297 ≡ 1): JSON.parse gives Infinity and 0
      '{"rs":"x","d":1e4294967297}',
      '{"rs":"x","d":1e-4294967297,"f":1E+4294967318}',
      '{"rs":"x","s":"a\\nb"}',
      '{"rs":"x","s":5}',
      '{"rs":"x","s":true}',
      '{"rs":"x","s":{"a":1}}',
      '{"rs":"x","s":"a","s":"b"}',
      '{"s":"x"}',
      '{"rs":null}',
      '{"rs":"x","ts":"2026-02-30T00:00:00Z"}',
      '{"rs":"x","ts":"2026-01-08T24:00:00Z"}',
      '{"rs":"x","ts":"2026-01-08T15:16:52+01:00"}',
      '{"rs":"x","ts":"2026-01-08"}',
      '{"rs":"x","tn":1767885412345}',
      '{"rs":"x","l":1.0}',
      '{"rs":"x","l":1e3}',
      '{"rs":"x","l":"12"}',
      '{"rs":"x","l":9007199254740993}',
      '{"rs":"x","l":01}',
      '{"rs":"x","i":2147483648}',
      '{"rs":"x","d":1e400}',
      '{"rs":"x","d":1.5e-300}',
      '{"rs":"x","d":12345678901234567}',
      '{"rs":"x","ts":"0001-01-01T00:00:00Z"}',
      '{"rs":"x","d":"1.5"}',
      '{"rs":"x","d":.5}',
      '{"rs":"x","d":1.}',
      '{"rs":"x","d":-}',
      '{"rs":"x","f":3.5e38}',
      '{"rs":"x","b":"true"}',
      '{"rs":"x","b":tru}',
      '{"rs":"x",}',
      '{"rs":"x"',
      '{"rs":"x"}x',
      '{"rs":"x"}{}',
      '[{"rs":"x"}]',
      '"x"',
      '',
      '{"rs":"x","\\u0073":"esc key"}',
      '{"rs":"x","o":[1,2,]}',
      '{"rs":"x","o":{"a" 1}}',
      '{"rs":"x","o":"\\x"}',
      '{"rs":"x","o":"\\u12G4"}',
      '{"rs":"x","o":nul}',
      '{"rs":"x","s":"tab\there"}',
      '\ufeff{"rs":"x"}',
    ];
    for (const c of cases) if (check(t, scanner, enc.encode(c))) accepted.push(c);
    // Every shape above the "declined" line is accepted.
    assert.equal(accepted.length, 17, `accepted: ${accepted.join('\n')}`);
  });

  test('invalid UTF-8 anywhere is declined (the general path refuses it)', () => {
    const { t, scanner } = compile(EVERY_KIND);
    const bad = [
      [0xc3], // truncated 2-byte sequence
      [0xc0, 0xaf], // overlong
      [0xe0, 0x80, 0xaf], // overlong 3-byte
      [0xed, 0xa0, 0x80], // surrogate
      [0xf4, 0x90, 0x80, 0x80], // beyond U+10FFFF
      [0xf8, 0x88, 0x80, 0x80, 0x80],
      [0x80],
      [0xff],
    ];
    for (const seq of bad) {
      for (const where of ['s', 'other']) {
        const head = enc.encode(`{"rs":"x","${where}":"a`);
        const tail = enc.encode('b"}');
        const data = new Uint8Array([...head, ...seq, ...tail]);
        assert.equal(check(t, scanner, data), false, `${where} with bytes ${seq.map((b) => b.toString(16)).join(' ')}`);
        assert.equal(general(t, data).ok, false);
      }
    }
  });

  test('mapped keys that JSON must escape are never matched on their raw bytes', () => {
    // The scanner compares the next expected key's bytes directly; for a key with a quote,
    // backslash or control character those bytes are not how a record spells it.
    const spec: TransformSpec = {
      columns: [
        { name: 'q', type: 'string', path: 'a"b' },
        { name: 'bs', type: 'string', path: 'a\\b' },
        { name: 'ctl', type: 'string', path: 'a\u0001b' },
        { name: 'plain', type: 'string', path: 'é' },
      ],
    };
    const { t, scanner } = compile(spec);
    const cases = [
      '{"a"b":"1"}', // invalid JSON that raw bytes of the key would match
      '{"a\\"b":"1"}', // the key a"b, escaped: the general path decides
      '{"a\\b":"1"}', // \b is a backspace: the key a<BS>b, not a\b
      '{"a\\\\b":"1"}', // the key a\b
      '{"a\u0001b":"1"}', // a raw control character: invalid JSON
      '{"a\\u0001b":"1"}',
      '{"é":"1","q":"2"}',
      '{"\\u00e9":"1"}',
    ];
    for (const text of cases) check(t, scanner, enc.encode(text));
    assert.equal(scanner.scan(enc.encode('{"a"b":"1"}'), CTX), false);
    assert.equal(scanner.scan(enc.encode('{"a\\b":"1"}'), CTX), false);
    assert.equal(scanner.scan(enc.encode('{"é":"1"}'), CTX), true, 'a non-ASCII key needs no escape');
  });

  test('generated records and byte-level mutations: never a different value', () => {
    const { t, scanner } = compile(EVERY_KIND);
    let accepted = 0;
    let declined = 0;
    let generatedAccepted = 0;
    everyKindRecords(20261124, 20_000).forEach((data, k) => {
      if (check(t, scanner, data)) {
        accepted++;
        if (k % 2 === 0) generatedAccepted++;
      } else declined++;
    });
    // Not a vacuous comparison: a good share of records goes the fast way.
    assert.ok(generatedAccepted > 2_000, `fast path accepted ${generatedAccepted} of 20,000 generated records`);
    assert.ok(declined > 5_000, `declined ${declined}`);
    assert.ok(accepted + declined === 40_000);
  });

  test('nested paths: generated records and byte-level mutations, never a different value', () => {
    const { t, scanner } = compile(NESTED);
    assert.ok(scanner, 'nested paths are read on the fast path');
    const random = rng(20261125);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const scalars = ['"a"', '"héllo"', '"q\\"x"', '"2026-01-08T15:16:52Z"', '"2026-01-08T15:16:52.5+01:00"', '7', '-0', '1.5', '9007199254740993', 'true', 'null', '[1,2]', '{}'];
    // An object for a mapped level: its mapped keys (or others), recursively, in any order.
    const good: Record<string, string[]> = { s: ['"a"', '"héllo"', '""', '"𝄞"'], t: ['"2026-01-08T15:16:52Z"', '"2024-02-29 00:00:00.123z"'], n: ['1.5', '-0', '42', '0.1'] };
    const object = (keys: Record<string, unknown>, depth: number): string => {
      const parts: string[] = [];
      for (const [k, sub] of Object.entries(keys)) {
        if (random() < 0.08) continue; // missing
        const v =
          typeof sub === 'string'
            ? random() < 0.85
              ? pick(good[sub]!)
              : pick(scalars)
            : random() < 0.9
              ? object(sub as Record<string, unknown>, depth + 1)
              : pick(scalars);
        parts.push(`${JSON.stringify(k)}:${v}`);
        if (random() < 0.05) parts.push(`${JSON.stringify(k)}:${pick(scalars)}`); // a duplicate
      }
      if (random() < 0.3) parts.push(`"other":${pick(scalars)}`);
      return `{${parts.sort(() => random() - 0.5).join(',')}}`;
    };
    const shape = { id: 's', detail: { user: { id: 's', name: 's' }, ts: 't', n: 'n' }, meta: { region: 's' } };
    const alphabet = [...'{}[]:,"\\ 0123456789.-nul'].map((c) => c.charCodeAt(0)).concat([0x00, 0x80, 0xc3, 0xff]);
    let accepted = 0;
    let generatedAccepted = 0;
    for (let n = 0; n < 20_000; n++) {
      const base = enc.encode(object(shape, 0));
      if (check(t, scanner, base)) {
        accepted++;
        generatedAccepted++;
      }
      if (check(t, scanner, mutate(base, random, alphabet))) accepted++;
    }
    assert.ok(generatedAccepted > 1_000, `fast path accepted ${generatedAccepted} of 20,000 generated nested records`);
    assert.ok(accepted < 40_000);
  });

  test('nested paths: hand-picked cases', () => {
    const { t, scanner } = compile(NESTED);
    const cases = [
      '{"id":"1","detail":{"user":{"id":"u","name":"n"},"ts":"2026-01-08T15:16:52Z","n":3},"meta":{"region":"eu"}}',
      '{"detail":null,"id":"1"}', // a null object: what is under it is null
      '{"id":"1","detail":{}}',
      '{"id":"1","detail":{"user":null}}',
      '{"id":"1","detail":[{"user":{"id":"u"}}]}', // an array where an object is mapped: declined
      '{"id":"1","detail":"text"}', // a scalar where an object is mapped: declined (general: null)
      '{"id":"1","detail":{"user":{"id":"a"}},"detail":{"user":{"id":"b"}}}', // duplicate object: last wins in JSON.parse
      '{"id":"1","detail":{"user":{"id":"a","id":"b"}}}',
      '{"id":"1","detail":{"user":{"id":"a"},"user":{"name":"b"}}}',
      '{"id":"1","meta":{"region":"eu","region":"us"}}',
      '{"id":"1","detail":{"user":{"id":7}}}', // a number for a string: declined
      '{"id":"1","detail":{"ts":"2026-01-08T15:16:52Z","n":1e400}}',
      '{"detail":{"user":{"id":"u"}}}', // required id missing
      '{"id":"1","detail":{"user":{"id":"u"}}',
      '{"id":"1","detail":{"user":{"id":"u"}}}}',
    ];
    let accepted = 0;
    for (const text of cases) if (check(t, scanner, enc.encode(text))) accepted++;
    assert.equal(scanner.scan(enc.encode(cases[0]!), CTX), true);
    assert.equal(scanner.scan(enc.encode(cases[1]!), CTX), true);
    for (const declined of [4, 5, 6, 7, 8, 9, 10, 11, 12]) assert.equal(scanner.scan(enc.encode(cases[declined]!), CTX), false, cases[declined]);
    assert.ok(accepted >= 4);
  });

  test('a deep path at the depth limit: declined beyond it, read within it', () => {
    const deep = (n: number) => Array.from({ length: n }, (_, i) => `k${String.fromCharCode(97 + (i % 26))}`).join('.');
    const spec: TransformSpec = { columns: [{ name: 'v', type: 'string', path: deep(70) }] };
    const { t, scanner } = compile(spec);
    const record = (n: number) => deep(n).split('.').reduceRight((inner, k) => `{${JSON.stringify(k)}:${inner}}`, '"x"');
    assert.equal(check(t, scanner, enc.encode(record(70))), false, 'deeper than 64 objects: the general path');
    const shallow: TransformSpec = { columns: [{ name: 'v', type: 'string', path: deep(20) }] };
    const s2 = compile(shallow);
    assert.equal(check(s2.t, s2.scanner, enc.encode(record(20))), true);
  });

  test('hostile records (depth, size, encoding, numbers): no throw escapes, the three readers agree', () => {
    const { t, scanner } = compile(EVERY_KIND);
    const nested = compile(NESTED);
    let accepted = 0;
    let rows = 0;
    let dead = 0;
    for (const data of hostileRecords(20261207, 3_000)) {
      const outcome = generalStrict(t, data);
      if (outcome.ok) rows++;
      else dead++;
      // check(): the native and JavaScript scanners decide alike, and accept only what the
      // general path accepts, with its values.
      if (check(t, scanner, data)) accepted++;
      check(nested.t, nested.scanner, data);
    }
    assert.equal(rows + dead, 3_000, 'every record is a row or a dead letter');
    assert.ok(rows > 300 && dead > 1_000 && accepted > 100, JSON.stringify({ rows, dead, accepted }));
  });

  test('hostile values alone in every mapped key: the scanners agree with the general path', () => {
    const { t, scanner } = compile(EVERY_KIND);
    for (const v of HOSTILE_VALUES) {
      // The large values (100,000 deep, 1 MB) in a string, a number and an unmapped key only.
      for (const key of v.length <= 10_000 ? ['s', 'rs', 'ts', 'tn', 'l', 'i', 'd', 'f', 'b', 'dt', 'other'] : ['s', 'l', 'other']) {
        const data = new Uint8Array(Buffer.concat([enc.encode(`{"rs":"r",${JSON.stringify(key)}:`), hostileBytes(v), Uint8Array.of(0x7d)]));
        generalStrict(t, data);
        check(t, scanner, data);
      }
    }
  });

  test('mappings the fast path does not read: decimals, numeric or empty path segments, a path inside another', () => {
    for (const columns of [
      [{ name: 'a', type: 'string', path: 'x.0.y' }],
      [{ name: 'a', type: 'string', path: 'x..y' }],
      [
        { name: 'a', type: 'string', path: 'x' },
        { name: 'b', type: 'string', path: 'x.y' },
      ],
      [
        { name: 'a', type: 'string', path: 'x.y' },
        { name: 'b', type: 'string', path: 'x' },
      ],
      [{ name: 'a', type: 'decimal(9,2)' }],
      [{ name: 'a', type: 'uuid' }],
      [{ name: 'a', type: 'binary' }],
    ]) {
      const spec = { columns };
      assert.equal(RecordScanner.for(compileTransform(spec, schemaForTransform(spec))), undefined, JSON.stringify(columns));
    }
  });
});

describe('record-scan: strict keys (transform.unmapped other than ignore)', () => {
  /** Whether every key of the record (at the top and in objects on paths) is one the mapping reads. */
  function onlyMappedKeys(spec: TransformSpec, data: Uint8Array): boolean {
    const tree = new Map<string, unknown>();
    for (const c of spec.columns) {
      if (c.value !== undefined || c.constant !== undefined) continue;
      const segments = (c.path ?? c.name).split('.');
      let level = tree;
      segments.forEach((s, k) => {
        if (k === segments.length - 1) level.set(s, true);
        else {
          if (!(level.get(s) instanceof Map)) level.set(s, new Map());
          level = level.get(s) as Map<string, unknown>;
        }
      });
    }
    const walk = (o: unknown, level: Map<string, unknown>): boolean => {
      if (o === null || typeof o !== 'object' || Array.isArray(o)) return true;
      return Object.entries(o).every(([k, v]) => level.has(k) && (!(level.get(k) instanceof Map) || walk(v, level.get(k) as Map<string, unknown>)));
    };
    return walk(JSON.parse(new TextDecoder().decode(data)), tree);
  }

  test('a strict scanner accepts exactly what the lax one accepts without unmapped keys, with the same row; native and JavaScript alike', () => {
    for (const [spec, records] of [
      [EVERY_KIND, everyKindRecords(20261207, 1500)],
      [NESTED, [
        '{"id":"a","detail":{"user":{"id":"u","name":"n"},"ts":"2026-01-08T15:16:52Z","n":1.5},"meta":{"region":"eu"}}',
        '{"id":"a","detail":{"user":{"id":"u","name":"n","age":3}},"meta":{"region":"eu"}}',
        '{"id":"a","detail":{"user":{"id":"u"},"x":1}}',
        '{"id":"a","extra":{"user":1}}',
        '{"id":"a","meta":null}',
        '{"id":"a","meta":{}}',
      ].map((s) => enc.encode(s))],
    ] as const) {
      const t = compileTransform(spec, schemaForTransform(spec));
      const lax = RecordScanner.for(t, { native: false })!;
      const strict = RecordScanner.for(t, { strictKeys: true })!;
      const strictJs = RecordScanner.for(t, { strictKeys: true, native: false })!;
      assert.equal(strict.native, true, 'the native build takes strictKeys');
      let accepted = 0;
      let declined = 0;
      for (const data of records) {
        const ctx = { ...CTX, record: { ...RECORD, data } };
        const laxOk = lax.scan(data, ctx);
        const ok = strict.scan(data, ctx);
        assert.equal(strictJs.scan(data, ctx), ok, `native and JavaScript decide alike on ${Buffer.from(data).toString('latin1')}`);
        assert.equal(ok, laxOk && onlyMappedKeys(spec, data), Buffer.from(data).toString('latin1'));
        if (ok) {
          accepted++;
          for (let i = 0; i < t.schema.fields.length; i++) assert.ok(same(rawValue(strict.row, i), rawValue(lax.row, i)));
        } else if (laxOk) declined++;
      }
      assert.ok(accepted > 0 && declined > 0, `both outcomes seen (${accepted} accepted, ${declined} declined for unmapped keys)`);
    }
  });
});
