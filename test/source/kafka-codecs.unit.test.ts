/**
 * The codecs floe adds to kafkajs: snappy raw and in the xerial framing the Java producer writes
 * (librdkafka writes raw blocks: the mock-cluster test covers those), lz4 frames, and corrupt input
 * failing with the codec's name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { FloeError } from '../../src/errors.js';
import { kafkaCodec, lz4Decompress, snappyDecompress } from '../../src/source/kafka/codecs.js';

const require = createRequire(import.meta.url);
const snappy = require('snappyjs') as { compress(b: Uint8Array): Uint8Array };
const lz4 = require('lz4js') as { compress(b: Uint8Array): Uint8Array };

const text = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => `record ${i % 97};`).join(''));

test('snappy: raw blocks and xerial-framed streams of several blocks', () => {
  const a = text(5000);
  const b = text(3000);
  assert.deepEqual(Buffer.from(snappyDecompress(snappy.compress(a))), a);
  const header = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]);
  const block = (x: Uint8Array) => {
    const c = Buffer.from(snappy.compress(x));
    const len = Buffer.alloc(4);
    len.writeInt32BE(c.length);
    return Buffer.concat([len, c]);
  };
  const framed = Buffer.concat([header, block(a), block(b)]);
  assert.deepEqual(Buffer.from(snappyDecompress(framed)), Buffer.concat([a, b]));
  assert.throws(() => snappyDecompress(framed.subarray(0, framed.length - 3)), /truncated xerial block/);
});

test('lz4 frames', () => {
  const a = text(20_000);
  assert.deepEqual(Buffer.from(lz4Decompress(lz4.compress(a))), a);
});

test('a corrupt batch fails naming the codec; compressing is refused', async () => {
  const codec = kafkaCodec('snappy', snappyDecompress)();
  await assert.rejects(codec.decompress(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3])), (e: unknown) => e instanceof FloeError && /compressed with snappy cannot be decompressed/.test(e.message));
  assert.throws(() => codec.compress(), /does not write them/);
  const ok = await kafkaCodec('lz4', lz4Decompress)().decompress(Buffer.from(lz4.compress(text(100))));
  assert.deepEqual(ok, text(100));
});
