/**
 * The page pool (`page-pool.ts`): a page read by the native reader and released gives its buffer
 * back once, and the next page of about its size reuses it; pages of the JavaScript parser are
 * never pooled; a buffer much larger than a page is not used for it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pagePoolStats, takePageBuffer, givePageBuffer } from '../../src/source/kinesis/page-pool.js';
import { parseRecordsPage, parseRecordsPageNative } from '../../src/source/kinesis/records-page.js';
import { nativeRecordsPage } from '../../src/source/kinesis/records-page-native.js';

function body(records: number, tag: string): Buffer {
  const rs = Array.from({ length: records }, (_, i) => ({
    SequenceNumber: String(49590338271490256608559692538361571095921575989136588898n + BigInt(i)),
    ApproximateArrivalTimestamp: 1_767_885_412.123,
    Data: Buffer.from(JSON.stringify({ id: `${tag}${i}`, pad: 'x'.repeat(100) })).toString('base64'),
    PartitionKey: `pk-${i}`,
  }));
  return Buffer.from(JSON.stringify({ Records: rs, NextShardIterator: 'it', MillisBehindLatest: 0 }));
}

const noNative = nativeRecordsPage() === undefined ? 'the native module is not built' : undefined;

test('a released native page gives its buffer back once; the next page of its size reuses it', { skip: noNative }, () => {
  const first = parseRecordsPageNative(body(500, 'a'))!;
  assert.ok(first, 'the native reader read the body');
  const buffer = first.data.buffer;
  const before = pagePoolStats();
  first.release();
  first.release(); // idempotent
  const after = pagePoolStats();
  assert.equal(after.buffers, before.buffers + 1);
  assert.equal(after.bytes, before.bytes + buffer.byteLength);
  const second = parseRecordsPageNative(body(500, 'b'))!;
  assert.equal(second.data.buffer, buffer, 'the same buffer');
  assert.equal(pagePoolStats().buffers, before.buffers);
  // The second page reads its own records (the first page's bytes were overwritten).
  assert.equal(JSON.parse(Buffer.from(second.data.subarray(0, second.dataEnd[0])).toString()).id, 'b0');
  second.release();
});

test('pages of the JavaScript parser are not pooled', () => {
  const page = parseRecordsPage(body(50, 'j'), false);
  const before = pagePoolStats();
  page.release();
  assert.deepEqual(pagePoolStats(), before);
});

test('a free buffer is used only for a page of about its size; the pool keeps at most 32 MiB', () => {
  const big = new ArrayBuffer(4 * 1024 * 1024);
  const start = pagePoolStats();
  givePageBuffer(big);
  const small = takePageBuffer(100_000);
  assert.notEqual(small, big, 'a 4 MiB buffer is not used for 100 kB');
  assert.equal(small.byteLength % 65_536, 0);
  assert.equal(takePageBuffer(3 * 1024 * 1024), big, 'it is for 3 MiB');
  for (let i = 0; i < 20; i++) givePageBuffer(new ArrayBuffer(4 * 1024 * 1024));
  assert.ok(pagePoolStats().bytes <= 32 * 1024 * 1024, `${pagePoolStats().bytes} bytes kept`);
  // Leave the pool as found for the other tests of this process.
  while (pagePoolStats().bytes > start.bytes) takePageBuffer(4 * 1024 * 1024);
});
