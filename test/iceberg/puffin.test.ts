/**
 * Puffin files (vectors.md §7): the reference files' footers and blob slices, deletion-vector
 * Puffin files reproduced byte for byte, and malformed footers refused.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { decompress } from 'fzstd';
import { UnsupportedError, ValidationError } from '../../src/errors.js';
import { decodeDeletionVector } from '../../src/iceberg/deletion-vector.js';
import { deletionVectorPuffinBlob, readPuffinFooter, writePuffin, type PuffinFooter } from '../../src/iceberg/puffin.js';
import { fixturePath, SKIP_NO_SHARED } from '../helpers/shared.js';

const read = (dir: string, name: string): Uint8Array => new Uint8Array(readFileSync(fixturePath('vectors', dir, name)));
const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
const slice = (file: Uint8Array, b: { offset: number; length: number }) => file.subarray(b.offset, b.offset + b.length);
const footerStart = (file: Uint8Array) => file.length - 16 - new DataView(file.buffer, file.byteOffset).getInt32(file.length - 12, true);

const FIXTURE_CREATED_BY = 'iceberg-go DV cross-client fixtures (apache/iceberg)';
const SECOND_BLOB = 'some blob \u0000 binary data 🤯 that is not very very very very very very long, is it?';

test('empty-puffin-uncompressed.bin: no blobs, no properties; written identically', { skip: SKIP_NO_SHARED }, () => {
  const file = read('puffin', 'empty-puffin-uncompressed.bin');
  assert.deepEqual(readPuffinFooter(file, 'empty'), { blobs: [], properties: {} });
  const written = writePuffin([], {});
  assert.deepEqual(Buffer.from(written.bytes), Buffer.from(file));
  assert.equal(written.footerSize, 28);
});

test('sample-metric-data-uncompressed.bin: footer, blob slices, and identical bytes when written', { skip: SKIP_NO_SHARED }, () => {
  const file = read('puffin', 'sample-metric-data-uncompressed.bin');
  const footer = readPuffinFooter(file, 'sample');
  const expected: PuffinFooter = {
    blobs: [
      { type: 'some-blob', fields: [1], 'snapshot-id': 2n, 'sequence-number': 1n, offset: 4, length: 9 },
      { type: 'some-other-blob', fields: [2], 'snapshot-id': 2n, 'sequence-number': 1n, offset: 13, length: 83 },
    ],
    properties: { 'created-by': 'Test 1234' },
  };
  assert.deepEqual(footer, expected);
  assert.equal(text(slice(file, footer.blobs[0]!)), 'abcdefghi');
  assert.equal(text(slice(file, footer.blobs[1]!)), SECOND_BLOB);
  const written = writePuffin(
    [
      { type: 'some-blob', fields: [1], snapshotId: 2n, sequenceNumber: 1n, data: new TextEncoder().encode('abcdefghi') },
      { type: 'some-other-blob', fields: [2], snapshotId: 2n, sequenceNumber: 1n, data: new TextEncoder().encode(SECOND_BLOB) },
    ],
    { 'created-by': 'Test 1234' },
  );
  assert.deepEqual(Buffer.from(written.bytes), Buffer.from(file));
  assert.deepEqual(written.blobs, expected.blobs);
  assert.equal(written.footerSize, file.length - footerStart(file));
});

test('sample-metric-data-compressed-zstd.bin: codec reported, blobs located (and zstd frames inside)', { skip: SKIP_NO_SHARED }, () => {
  const file = read('puffin', 'sample-metric-data-compressed-zstd.bin');
  const footer = readPuffinFooter(file, 'zstd');
  assert.deepEqual(
    footer.blobs.map((b) => [b.type, b.offset, b.length, b['compression-codec']]),
    [
      ['some-blob', 4, 22, 'zstd'],
      ['some-other-blob', 26, 77, 'zstd'],
    ],
  );
  assert.equal(text(decompress(slice(file, footer.blobs[0]!))), 'abcdefghi');
  assert.equal(text(decompress(slice(file, footer.blobs[1]!))), SECOND_BLOB);
});

test('single-blob-dv.puffin: the DV blob decodes, and our writer reproduces the whole file', { skip: SKIP_NO_SHARED }, () => {
  const file = read('deletes', 'single-blob-dv.puffin');
  const footer = readPuffinFooter(file, 'single');
  assert.equal(footer.blobs.length, 1);
  const blob = footer.blobs[0]!;
  assert.deepEqual(blob, {
    type: 'deletion-vector-v1',
    fields: [2147483645],
    'snapshot-id': -1n,
    'sequence-number': -1n,
    offset: 4,
    length: 50,
    properties: { 'referenced-data-file': 's3://warehouse/db/table/data/00000-0-abc.parquet', cardinality: '5' },
  });
  assert.deepEqual([...decodeDeletionVector(slice(file, blob), 'single@4+50')], [1, 3, 5, 7, 9]);
  const written = writePuffin(
    [deletionVectorPuffinBlob('s3://warehouse/db/table/data/00000-0-abc.parquet', [1, 3, 5, 7, 9])],
    { 'created-by': FIXTURE_CREATED_BY },
  );
  assert.deepEqual(Buffer.from(written.bytes), Buffer.from(file));
  assert.deepEqual(written.blobs, footer.blobs);
});

test('multi-blob-dv.puffin: both DV blobs decode, and our writer reproduces the whole file', { skip: SKIP_NO_SHARED }, () => {
  const file = read('deletes', 'multi-blob-dv.puffin');
  const footer = readPuffinFooter(file, 'multi');
  assert.deepEqual(
    footer.blobs.map((b) => [b.offset, b.length, b.properties?.['referenced-data-file'], b.properties?.['cardinality']]),
    [
      [4, 46, 's3://warehouse/db/table/data/file-001.parquet', '3'],
      [50, 44, 's3://warehouse/db/table/data/file-002.parquet', '2'],
    ],
  );
  assert.deepEqual(footer.properties, { 'created-by': FIXTURE_CREATED_BY });
  const decoded = footer.blobs.map((b) => [...decodeDeletionVector(slice(file, b), `multi@${b.offset}`)]);
  assert.deepEqual(decoded, [
    [0, 100, 200],
    [50, 150],
  ]);
  const written = writePuffin(
    [
      deletionVectorPuffinBlob('s3://warehouse/db/table/data/file-001.parquet', [0, 100, 200]),
      deletionVectorPuffinBlob('s3://warehouse/db/table/data/file-002.parquet', Float64Array.of(50, 150)),
    ],
    { 'created-by': FIXTURE_CREATED_BY },
  );
  assert.deepEqual(Buffer.from(written.bytes), Buffer.from(file));
  assert.equal(written.footerSize, file.length - footerStart(file));
});

test('writePuffin defaults created-by to floe and round-trips a 64-bit snapshot id exactly', () => {
  const big = 9007199254740993n; // 2^53 + 1: a double would round it
  const written = writePuffin([{ type: 't', fields: [7, -1], snapshotId: big, sequenceNumber: 3n, data: Uint8Array.of(9, 8) }]);
  const footer = readPuffinFooter(written.bytes, 'w');
  assert.deepEqual(footer.properties, { 'created-by': 'floe' });
  assert.equal(footer.blobs[0]?.['snapshot-id'], big);
  assert.deepEqual(footer.blobs, written.blobs);
  assert.deepEqual([...slice(written.bytes, footer.blobs[0]!)], [9, 8]);
  assert.throws(() => writePuffin([{ type: 't', fields: [2 ** 31], snapshotId: 1n, sequenceNumber: 1n, data: new Uint8Array(0) }]), ValidationError);
});

/** A Puffin file from a blob area and a footer payload (flags settable). */
function assemble(blobArea: number[], payload: string, flags = 0): Uint8Array {
  const json = new TextEncoder().encode(payload);
  const out = new Uint8Array(4 + blobArea.length + 4 + json.length + 12);
  const magic = [0x50, 0x46, 0x41, 0x31];
  out.set(magic, 0);
  out.set(blobArea, 4);
  const f = 4 + blobArea.length;
  out.set(magic, f);
  out.set(json, f + 4);
  const view = new DataView(out.buffer);
  view.setInt32(f + 4 + json.length, json.length, true);
  view.setUint32(f + 8 + json.length, flags, true);
  out.set(magic, f + 12 + json.length);
  return out;
}

const blobJson = (offset: number, length: number, extra = '') =>
  `{"blobs":[{"type":"t","fields":[1],"snapshot-id":1,"sequence-number":1,"offset":${offset},"length":${length}${extra}}]}`;

test('malformed Puffin files are refused naming the file', () => {
  const invalid = (file: Uint8Array, pattern: RegExp) =>
    assert.throws(
      () => readPuffinFooter(file, 'p.puffin'),
      (e: unknown) => e instanceof ValidationError && e.message.startsWith('puffin: p.puffin: ') && pattern.test(e.message),
      pattern.source,
    );
  const good = assemble([1, 2, 3], blobJson(4, 3));
  assert.equal(readPuffinFooter(good, 'p').blobs[0]?.length, 3);
  invalid(good.subarray(0, 15), /shorter than the smallest/);
  invalid(good.subarray(0, good.length - 1), /missing PFA1 magic at the end/);
  const badStart = good.slice();
  badStart[0] = 0x51;
  invalid(badStart, /missing PFA1 magic at the start/);
  const badSize = good.slice();
  new DataView(badSize.buffer).setInt32(good.length - 12, 10_000, true);
  invalid(badSize, /footer payload size 10000 does not fit/);
  const negative = good.slice();
  new DataView(negative.buffer).setInt32(good.length - 12, -1, true);
  invalid(negative, /footer payload size -1/);
  const shifted = good.slice();
  new DataView(shifted.buffer).setInt32(good.length - 12, blobJson(4, 3).length - 1, true);
  invalid(shifted, /missing PFA1 magic at the footer start/);
  invalid(assemble([1, 2, 3], blobJson(4, 4)), /blobs\[0\] \(offset 4, length 4\) lies outside the blob area \[4, 7\)/);
  invalid(assemble([1, 2, 3], blobJson(2, 1)), /lies outside the blob area/);
  invalid(assemble([1, 2, 3], blobJson(4, -1)), /length must be a non-negative integer/);
  invalid(assemble([], '{"properties":{}}'), /no blobs list/);
  invalid(assemble([], '[]'), /not a JSON object/);
  invalid(assemble([], '{"blobs":[],"properties":{"a":1}}'), /properties\.a must be a string/);
  invalid(assemble([1], blobJson(4, 1, ',"properties":{"k":true}')), /blobs\[0\]\.properties\.k must be a string/);
  invalid(assemble([1], '{"blobs":[{"type":"t","fields":[1.5],"snapshot-id":1,"sequence-number":1,"offset":4,"length":1}]}'), /not an int/);
  invalid(assemble([1], '{"blobs":[{"type":"t","fields":[1],"sequence-number":1,"offset":4,"length":1}]}'), /snapshot-id is missing/);
  const notUtf8 = assemble([], '{"blobs":[]} ');
  notUtf8[notUtf8.length - 13] = 0xff;
  invalid(notUtf8, /not UTF-8/);
  assert.throws(() => readPuffinFooter(assemble([], '{"blobs":'), 'p.puffin'), ValidationError);
});

test('compressed footers and unknown flags are unsupported, not misread', () => {
  const payload = '{"blobs":[]}';
  assert.throws(() => readPuffinFooter(assemble([], payload, 1), 'c.puffin'), (e: unknown) =>
    e instanceof UnsupportedError && /^puffin: c\.puffin: LZ4-compressed footers/.test(e.message),
  );
  assert.throws(() => readPuffinFooter(assemble([], payload, 0x100), 'c.puffin'), (e: unknown) =>
    e instanceof UnsupportedError && /unknown footer flags 0x100/.test(e.message),
  );
  assert.deepEqual(readPuffinFooter(assemble([], payload, 0), 'c.puffin').blobs, []);
});
