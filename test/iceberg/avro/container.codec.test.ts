import assert from 'node:assert/strict';
import { crc32, deflateRawSync } from 'node:zlib';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import avsc from 'avsc';
import { UnsupportedError, ValidationError } from '../../../src/errors.js';
import { AVRO_MAGIC, readAvroFile, writeAvroFile } from '../../../src/iceberg/avro/container.js';
import { snappyDecompress } from '../../../src/iceberg/avro/snappy.js';

const SYNC = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);

const schema = {
  type: 'record',
  name: 'row',
  fields: [
    { name: 'id', type: 'long', 'field-id': 1 },
    { name: 'name', type: ['null', 'string'], default: null, 'field-id': 2 },
  ],
};

/** Zigzag varint, for hand-built files. */
function zz(n: number): number[] {
  let v = n >= 0 ? n * 2 : -n * 2 - 1;
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

const enc = (s: string) => [...new TextEncoder().encode(s)];
const str = (s: string) => [...zz(enc(s).length), ...enc(s)];

/** A container file built by hand from raw parts, independent of writeAvroFile. */
function handBuilt(schemaJson: string, codec: string | undefined, blocks: { count: number; data: number[] }[]): Uint8Array {
  const meta: [string, string][] = [['avro.schema', schemaJson]];
  if (codec !== undefined) meta.push(['avro.codec', codec]);
  const out: number[] = [...AVRO_MAGIC, ...zz(meta.length)];
  for (const [k, v] of meta) out.push(...str(k), ...str(v));
  out.push(0, ...SYNC);
  for (const b of blocks) out.push(...zz(b.count), ...zz(b.data.length), ...b.data, ...SYNC);
  return Uint8Array.from(out);
}

const rows = [
  { id: 1n, name: 'a' },
  { id: -(2n ** 63n), name: null },
  { id: 2n ** 63n - 1n, name: 'ü–🐇' },
  { id: 6653143792592159268n, name: '' },
];

for (const codec of ['null', 'deflate'] as const) {
  test(`container: ${codec} codec round trip keeps 64-bit longs and metadata`, () => {
    const bytes = writeAvroFile({ schema, metadata: [['k', 'v'], ['empty', '']], records: rows, codec, sync: SYNC });
    const f = readAvroFile(bytes, 'rt.avro');
    assert.equal(f.codec, codec);
    assert.equal(f.metadata.get('k'), 'v');
    assert.equal(f.metadata.get('empty'), '');
    assert.deepEqual(JSON.parse(f.metadata.get('avro.schema')!), schema);
    assert.deepEqual(f.sync, SYNC);
    const node = f.schema.node;
    assert.equal(node.kind, 'record');
    if (node.kind !== 'record') return;
    assert.deepEqual(
      node.fields.map((x) => [x.name, x.fieldId]),
      [
        ['id', 1],
        ['name', 2],
      ],
    );
    const decoded = f.records.map((r) => {
      const o = r as Record<string, unknown>;
      return { id: o[node.fields[0]!.key], name: o[node.fields[1]!.key] };
    });
    assert.deepEqual(decoded, rows);
  });
}

test('container: header layout is magic, metadata map, sync; every block ends with the sync marker', () => {
  const many = Array.from({ length: 5000 }, (_, i) => ({ id: BigInt(i), name: 'x'.repeat(40) }));
  const bytes = writeAvroFile({ schema, metadata: [['a', 'b']], records: many, codec: 'null', sync: SYNC });
  assert.deepEqual(bytes.subarray(0, 4), Uint8Array.of(0x4f, 0x62, 0x6a, 0x01));
  assert.deepEqual(bytes.subarray(bytes.length - 16), SYNC);
  // More than one block for ~250 KB of records: walk the framing by hand.
  const hdr = avsc.Type.forSchema({
    type: 'record',
    name: 'Header',
    fields: [
      { name: 'magic', type: { type: 'fixed', name: 'Magic', size: 4 } },
      { name: 'meta', type: { type: 'map', values: 'bytes' } },
      { name: 'sync', type: { type: 'fixed', name: 'Sync', size: 16 } },
    ],
  });
  const buf = Buffer.from(bytes);
  const { value, offset } = hdr.decode(buf, 0) as { value: { meta: Record<string, Buffer>; sync: Buffer }; offset: number };
  assert.deepEqual(Object.keys(value.meta).sort(), ['a', 'avro.codec', 'avro.schema']);
  assert.equal(value.meta['avro.codec']!.toString(), 'null');
  assert.deepEqual(new Uint8Array(value.sync), SYNC);
  const long = avsc.Type.forSchema('long');
  let pos = offset;
  let blocks = 0;
  let total = 0;
  while (pos < buf.length) {
    const c = long.decode(buf, pos);
    const s = long.decode(buf, c.offset);
    total += c.value as number;
    pos = s.offset + (s.value as number);
    assert.deepEqual(new Uint8Array(buf.subarray(pos, pos + 16)), SYNC, `sync after block ${blocks}`);
    pos += 16;
    blocks++;
  }
  assert.ok(blocks > 1, `expected several blocks, got ${blocks}`);
  assert.equal(total, many.length);
  assert.equal(readAvroFile(bytes).records.length, many.length);
});

test("container: avsc's own BlockDecoder reads what we write (independent framing)", async () => {
  const bytes = writeAvroFile({ schema, metadata: [['x', 'y']], records: rows, codec: 'deflate' });
  const longType = avsc.types.LongType.__with({
    fromBuffer: (b: Buffer) => b.readBigInt64LE(0),
    toBuffer: (n: bigint) => {
      const b = Buffer.alloc(8);
      b.writeBigInt64LE(n);
      return b;
    },
    fromJSON: BigInt,
    toJSON: (n: bigint) => n.toString(),
    isValid: (n: unknown) => typeof n === 'bigint',
    compare: (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0),
  });
  const decoder = new avsc.streams.BlockDecoder({
    parseHook: (s: unknown) => avsc.Type.forSchema(s as avsc.Schema, { registry: { long: longType } }),
  });
  let meta: { schema: avsc.Type; codec: string; header: { meta: Record<string, Buffer> } } | undefined;
  decoder.on('metadata', (type: avsc.Type, codec: string, header: { meta: Record<string, Buffer> }) => {
    meta = { schema: type, codec, header };
  });
  const out: unknown[] = [];
  await new Promise<void>((resolve, reject) => {
    decoder.on('data', (r: unknown) => out.push(r));
    decoder.on('end', resolve);
    decoder.on('error', reject);
    Readable.from([Buffer.from(bytes)]).pipe(decoder);
  });
  assert.equal(meta?.codec, 'deflate');
  assert.equal(meta?.header.meta.x?.toString(), 'y');
  assert.deepEqual(
    out.map((r) => ({ ...(r as object) })),
    rows,
  );
});

test('container: empty file has a header and no blocks', () => {
  const bytes = writeAvroFile({ schema, metadata: [], records: [], sync: SYNC });
  const f = readAvroFile(bytes);
  assert.equal(f.records.length, 0);
  assert.equal(f.codec, 'deflate');
});

test('container: invalid magic bytes', () => {
  for (const b of [new Uint8Array(0), Uint8Array.of(0x4f, 0x62), new TextEncoder().encode('PAR1xxxxxxxxxxxxxxxxxxxx')]) {
    assert.throws(
      () => readAvroFile(b, 's3://b/m.avro'),
      (e: unknown) => e instanceof ValidationError && e.message === 'avro: s3://b/m.avro: invalid magic bytes (not an Avro object container file)',
    );
  }
});

test('container: every truncation is a clear error (or, at a block boundary, fewer records)', () => {
  const bytes = writeAvroFile({ schema, metadata: [['k', 'v']], records: rows, codec: 'deflate', sync: SYNC });
  const headerEnd = readHeaderEnd(bytes);
  for (let i = 0; i < bytes.length; i++) {
    const prefix = bytes.subarray(0, i);
    if (i === headerEnd) {
      assert.equal(readAvroFile(prefix, 't').records.length, 0);
      continue;
    }
    assert.throws(
      () => readAvroFile(prefix, 't'),
      (e: unknown) => e instanceof ValidationError && /^avro: t: (truncated file|invalid magic bytes|missing avro.schema)/.test(e.message),
      `prefix of ${i} bytes`,
    );
  }
});

function readHeaderEnd(bytes: Uint8Array): number {
  // The header ends at the first sync marker.
  for (let i = 4; i + 16 <= bytes.length; i++) {
    if (SYNC.every((b, k) => bytes[i + k] === b)) return i + 16;
  }
  throw new Error('no sync marker');
}

test('container: sync marker mismatch, corrupt deflate data, trailing bytes in a block', () => {
  const bytes = writeAvroFile({ schema, metadata: [], records: rows, codec: 'deflate', sync: SYNC });
  const badSync = bytes.slice();
  badSync[badSync.length - 1]! ^= 0xff;
  assert.throws(() => readAvroFile(badSync, 'f'), /avro: f: sync marker mismatch after block 0/);

  const rowType = avsc.Type.forSchema('string');
  const data = [...rowType.toBuffer('hello'), 0x00, 0x00];
  const trailing = handBuilt('"string"', 'null', [{ count: 1, data }]);
  assert.throws(() => readAvroFile(trailing, 'f'), /avro: f: block 0 has 2 bytes after its 1 records/);

  const short = handBuilt('"string"', 'null', [{ count: 2, data: [...rowType.toBuffer('hello')] }]);
  assert.throws(() => readAvroFile(short, 'f'), /avro: f: block 0 is truncated \(record 1 of 2/);

  const corrupt = handBuilt('"string"', 'deflate', [{ count: 1, data: [0xff, 0xff, 0xff, 0xff] }]);
  assert.throws(() => readAvroFile(corrupt, 'f'), (e: unknown) => e instanceof ValidationError && /invalid deflate data/.test(e.message));
});

test('container: codec absent means null; raw deflate (no zlib header) is what the spec requires', () => {
  const rowType = avsc.Type.forSchema('string');
  const plain = handBuilt('"string"', undefined, [{ count: 1, data: [...rowType.toBuffer('plain')] }]);
  assert.deepEqual(readAvroFile(plain).records, ['plain']);
  const deflated = handBuilt('"string"', 'deflate', [{ count: 1, data: [...deflateRawSync(rowType.toBuffer('squeezed'))] }]);
  assert.deepEqual(readAvroFile(deflated).records, ['squeezed']);
});

test('container: unknown and unsupported codecs', () => {
  for (const codec of ['zstandard', 'bzip2', 'lz4']) {
    const f = handBuilt('"string"', codec, []);
    assert.throws(
      () => readAvroFile(f, 'm.avro'),
      (e: unknown) => e instanceof UnsupportedError && e.message.startsWith(`avro: m.avro: unsupported codec '${codec}'`),
    );
  }
  assert.throws(() => writeAvroFile({ schema, metadata: [], records: [], codec: 'snappy' as 'null' }), UnsupportedError);
});

test('container: missing or malformed avro.schema, reserved metadata keys', () => {
  const noSchema = Uint8Array.from([...AVRO_MAGIC, ...zz(1), ...str('avro.codec'), ...str('null'), 0, ...SYNC]);
  assert.throws(() => readAvroFile(noSchema, 'f'), /avro: f: missing avro.schema in file metadata/);
  assert.throws(() => readAvroFile(handBuilt('{nope', 'null', []), 'f'), /avro: f: avro.schema is not valid JSON/);
  assert.throws(() => readAvroFile(handBuilt('"r102"', 'null', []), 'f'), /avro: f: invalid schema: unknown type 'r102'/);
  assert.throws(() => writeAvroFile({ schema, metadata: [['avro.codec', 'x']], records: [] }), /reserved/);
});

test('container: foreign names avsc would reject are read through synthetic names', () => {
  const foreign = JSON.stringify({
    type: 'record',
    name: 'données.entrée',
    fields: [
      { name: 'prix-€', type: ['null', 'long'], 'field-id': 7 },
      { name: '1st', type: { type: 'fixed', name: 'ünïcode', size: 2 }, 'field-id': 8 },
      { name: 'again', type: 'ünïcode', 'field-id': 9 },
    ],
  });
  const data = [2, ...zz(42), 0x01, 0x02, 0x03, 0x04];
  const f = readAvroFile(handBuilt(foreign, 'null', [{ count: 1, data }]), 'f');
  const node = f.schema.node;
  assert.ok(node.kind === 'record');
  const rec = f.records[0] as Record<string, unknown>;
  assert.deepEqual(
    node.fields.map((x) => [x.name, x.fieldId, x.node.kind]),
    [
      ['prix-€', 7, 'union'],
      ['1st', 8, 'fixed'],
      ['again', 9, 'fixed'],
    ],
  );
  assert.equal(rec[node.fields[0]!.key], 42n);
  assert.deepEqual([...(rec[node.fields[2]!.key] as Buffer)], [3, 4]);
});

test('snappy: literals and overlapping copies, checksum verified', () => {
  // "abc" then a copy of 9 bytes at offset 3 (overlapping its own output), then "X".
  const compressed = Uint8Array.of(13, 0x08, 0x61, 0x62, 0x63, 0x15, 0x03, 0x00, 0x58);
  assert.equal(Buffer.from(snappyDecompress(compressed, 't')).toString(), 'abcabcabcabcX');
  assert.throws(() => snappyDecompress(Uint8Array.of(20, 0x08, 0x61, 0x62, 0x63), 't'), /corrupt snappy data: expected 20 bytes, got 3/);
  assert.throws(() => snappyDecompress(Uint8Array.of(5, 0x15, 0x09), 't'), /copy out of range/);

  // An Avro snappy block: one string datum "abcabcabcabcX" (length prefix 0x1a), then CRC-32 (BE).
  const raw = Uint8Array.of(0x1a, ...new TextEncoder().encode('abcabcabcabcX'));
  const body = [14, 0x0c, 0x1a, 0x61, 0x62, 0x63, 0x15, 0x03, 0x00, 0x58];
  const crc = crc32(raw) >>> 0;
  const block = [...body, crc >>> 24, (crc >>> 16) & 0xff, (crc >>> 8) & 0xff, crc & 0xff];
  assert.deepEqual(readAvroFile(handBuilt('"string"', 'snappy', [{ count: 1, data: block }]), 'f').records, ['abcabcabcabcX']);
  const bad = block.slice();
  bad[bad.length - 1]! ^= 1;
  assert.throws(() => readAvroFile(handBuilt('"string"', 'snappy', [{ count: 1, data: bad }]), 'f'), /snappy block checksum mismatch/);
});
